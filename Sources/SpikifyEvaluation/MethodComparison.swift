import Foundation
import SpikifyConversion
import SpikifyCore
import SpikifyReport

/// `spikify compare`: one checkpoint converted with several methods (in memory, ``ConversionMethods``), each
/// evaluated in one pass over the same images, with a report per method, a combined list and one page
/// (docs/report.md, "Comparing methods"). Methods this build does not have are listed as not available, not
/// skipped silently.
public struct MethodComparison {
    public var modelPath: String
    public var dataPath: String
    /// Method names in the order given; duplicates removed.
    public var methods: [String]
    public var options: SpikingEvaluation.Options
    /// Evaluate only the first `limit` images.
    public var limit: Int?

    public init(modelPath: String, dataPath: String, methods: [String], options: SpikingEvaluation.Options,
                limit: Int? = nil) {
        self.modelPath = modelPath
        self.dataPath = dataPath
        var seen = Set<String>()
        self.methods = methods.filter { seen.insert($0).inserted }
        self.options = options
        self.limit = limit
    }

    /// What a comparison wrote.
    public struct Result {
        /// The reports of the methods that ran, in the order given.
        public var reports: [EvaluationReport]
        public var unavailable: [UnavailableMethod]
        /// `DIR/<method>.json` per method that ran.
        public var reportFiles: [String]
        public var combinedFile: String
        public var pageFile: String
    }

    /// `"spikezip, mst ,sta"` → `["spikezip", "mst", "sta"]`; empty names are an error.
    public static func parseMethods(_ list: String) throws -> [String] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw SpikifyError.invalidArgument("--methods: expected a comma-separated list of method names "
                + "(e.g. spikezip,mst,sta), got '\(list)'")
        }
        return names
    }

    /// The status of a method this build does not have.
    public static func unavailableStatus(_ method: String) -> String {
        "not available in this Spikify (known: \(ConversionMethods.names.joined(separator: ", ")))"
    }

    /// Converts with every available method (`convert` returns the model and the conversion options to record),
    /// evaluates it and writes `directory/<method>.json`, then `directory/compare.json` (the reports and an
    /// `UnavailableMethod` entry per method not available, in the order given) and `directory/report.html`.
    /// Throws before writing anything when no method is available. `report` sees each report as it is done.
    public func run(
        into directory: String, convert: (String) throws -> (ConvertedModel, [String: String]),
        progress: ((String, Int, Int) -> Void)? = nil, report: ((EvaluationReport) -> Void)? = nil
    ) throws -> Result {
        let known = Set(ConversionMethods.names)
        let available = methods.filter(known.contains)
        guard !available.isEmpty else {
            throw SpikifyError.invalidArgument("none of the methods \(methods.joined(separator: ", ")) is available "
                + "in this Spikify (known: \(ConversionMethods.names.joined(separator: ", ")))")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpikifyError.invalidArgument("cannot create the output folder \(directory): \(error.localizedDescription)")
        }
        func path(_ name: String) -> String { URL(fileURLWithPath: directory).appendingPathComponent(name).path }
        let sha = try SHA256.hex(ofFile: modelPath)
        var reports: [String: EvaluationReport] = [:], files: [String] = []
        for method in available {
            let (converted, conversion) = try convert(method)
            let reader = try ImageDatasetReader(dataPath, for: converted.model.config)
            let range = 0..<min(reader.count, limit ?? reader.count)
            var r = try SpikingEvaluation.run(converted, data: reader, range: range, options: options,
                                              progress: progress.map { p in { p(method, $0, $1) } })
            r.provenance = EvaluationReport.Provenance(modelSha256: sha, conversion: conversion, dataset: reader.source,
                                                       datasetImages: range.count, timesteps: options.timesteps)
            let file = path("\(method).json")
            try r.write(to: file)
            files.append(file)
            reports[method] = r
            report?(r)
        }
        let unavailable = methods.filter { !known.contains($0) }
            .map { UnavailableMethod(method: $0, status: Self.unavailableStatus($0)) }
        // compare.json: the list in the order given, each report exactly as in its own file.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var entries: [Data] = []
        for method in methods {
            if let r = reports[method] { entries.append(try r.json()) }
            else if let u = unavailable.first(where: { $0.method == method }) { entries.append(try encoder.encode(u)) }
        }
        var combined = Data("[\n".utf8)
        for (i, entry) in entries.enumerated() {
            combined += entry + Data((i + 1 < entries.count ? ",\n" : "\n").utf8)
        }
        combined += Data("]\n".utf8)
        let combinedFile = path("compare.json"), pageFile = path("report.html")
        try AtomicFile.write(combined, to: combinedFile)
        let ran = available.compactMap { reports[$0] }
        let set = ReportSet(documents: try ran.map { try $0.document() }, unavailable: unavailable)
        try ReportPages.write(set, format: .html, to: pageFile, title: "Spikify method comparison")
        return Result(reports: ran, unavailable: unavailable, reportFiles: files, combinedFile: combinedFile,
                      pageFile: pageFile)
    }
}
