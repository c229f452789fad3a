import Foundation

/// Text helpers shared by the SVG charts and the HTML/Markdown renderers: XML escaping and fixed-precision
/// numbers, so that the same input always gives the same bytes (see docs/report.md).
///
/// The charts are written here rather than taken from a package: of the Swift packages this project may depend on
/// (the machine's package list), none draws charts (JohnSundell/Plot writes HTML, SWXMLHash and XMLCoder read XML),
/// and a few hundred lines of plain SVG keep the report target free of dependencies (Foundation only).
public enum Markup {
    /// Escapes the five XML special characters (`&`, `<`, `>`, `"`, `'`) for text and attribute values
    /// (XML 1.0 §2.4, "Character Data and Markup"). Control characters other than tab and newline, which XML 1.0
    /// forbids, become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// `value` with exactly `digits` decimals (POSIX `%.*f`, locale-independent); `-0.00` is written `0.00`,
    /// and non-finite values are written `0` so that a broken number cannot break the SVG syntax.
    public static func fixed(_ value: Double, _ digits: Int = 2) -> String {
        guard value.isFinite else { return "0" }
        let text = String(format: "%.\(max(0, digits))f", value)
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// A fraction as a percentage with `digits` decimals: `0.981` → `98.1%`.
    public static func percent(_ fraction: Double?, _ digits: Int = 1) -> String {
        guard let fraction else { return "—" }
        return fixed(100 * fraction, digits) + "%"
    }

    /// A count or quantity with a metric suffix (k, M, G, T) and three significant digits: `12_345` → `12.3k`.
    public static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let magnitude = abs(value)
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (scale, suffix) in units where magnitude >= scale {
            return significant(value / scale) + suffix
        }
        return significant(value)
    }

    /// Three significant digits, fixed notation, trailing zeros dropped (`2.50` → `2.5`, `100` → `100`).
    static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        let digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var text = fixed(value, digits)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// An identifier safe for XML `id` attributes and CSS: letters and digits kept, everything else `-`.
    public static func identifier(_ text: String) -> String {
        let kept = text.unicodeScalars.map { scalar -> Character in
            (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))) ? Character(scalar) : "-"
        }
        let joined = String(kept)
        return joined.first?.isLetter == true ? joined : "c" + joined
    }
}
