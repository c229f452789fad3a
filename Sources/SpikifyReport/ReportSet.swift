import Foundation

/// A method that `spikify compare` was asked for but could not run, with the reason (docs/report.md,
/// "Comparing methods"). In `compare.json` it is the entry `{"method": "mst", "status": "not available …"}`.
public struct UnavailableMethod: Codable, Sendable, Equatable {
    public var method: String
    public var status: String

    public init(method: String, status: String) {
        self.method = method
        self.status = status
    }
}

/// The reports one page shows: evaluation reports, and the methods of a comparison that did not run.
/// Read from `spikify eval --report` files (one report each) or `spikify compare` files (a list of reports and
/// `UnavailableMethod` entries).
public struct ReportSet: Sendable {
    public var documents: [ReportDocument]
    public var unavailable: [UnavailableMethod]

    public init(documents: [ReportDocument], unavailable: [UnavailableMethod] = []) {
        self.documents = documents
        self.unavailable = unavailable
    }

    /// One element of a `compare.json` list: a report, or a method that did not run (an object with `status`
    /// and without `snn`).
    private enum Entry: Decodable {
        case report(ReportDocument)
        case unavailable(UnavailableMethod)

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let keys = Set(try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue))
            if keys.contains("status") && !keys.contains("snn") {
                self = .unavailable(try UnavailableMethod(from: decoder))
            } else {
                self = .report(try ReportDocument(from: decoder))
            }
        }
    }

    /// Decodes one file's JSON: a report object, or a list of reports and unavailable methods.
    public static func decode(from data: Data) throws -> ReportSet {
        let trimmed = data.first { !Set<UInt8>([0x20, 0x0A, 0x0D, 0x09]).contains($0) }
        guard trimmed == UInt8(ascii: "[") else { return ReportSet(documents: [try ReportDocument.decode(from: data)]) }
        var set = ReportSet(documents: [])
        for entry in try ReportDocument.decoder().decode([Entry].self, from: data) {
            switch entry {
            case .report(let r): set.documents.append(r)
            case .unavailable(let u): set.unavailable.append(u)
            }
        }
        return set
    }

    /// Reads every file in order and concatenates their reports; throws `ReportReadError` naming the file and
    /// the key (`[2].snn.accuracy`) on the first one that cannot be read.
    public static func load(paths: [String]) throws -> ReportSet {
        var set = ReportSet(documents: [])
        for path in paths {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ReportReadError(path: path, message: "cannot read the file (expected a JSON report from "
                                      + "'spikify eval --report' or 'spikify compare'): \(error.localizedDescription)")
            }
            do {
                let one = try decode(from: data)
                set.documents += one.documents
                set.unavailable += one.unavailable
            } catch {
                throw ReportReadError(path: path, message: ReportReadError.message(for: error))
            }
        }
        return set
    }
}

/// The output formats of `spikify report`.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// One self-contained HTML page with inline SVG charts (`HTMLReport`).
    case html
    /// Markdown tables without plots (`MarkdownReport`).
    case md

    /// The format a file name implies: `.md`/`.markdown` → Markdown, anything else HTML.
    public static func implied(by path: String) -> ReportFormat {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        return ext == "md" || ext == "markdown" ? .md : .html
    }

    /// The page for `set` in this format.
    public func render(_ set: ReportSet, title: String = "Spikify evaluation report") -> String {
        switch self {
        case .html: return HTMLReport.render(set.documents, title: title, unavailable: set.unavailable)
        case .md: return MarkdownReport.render(set.documents, title: title, unavailable: set.unavailable)
        }
    }
}
