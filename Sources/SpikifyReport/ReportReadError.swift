import Foundation

/// A report that could not be read: the file, the key (in the report's snake_case spelling, e.g.
/// `snn.accuracy[3]`) and what was expected, in one message (the CLI's error convention, README "Command line").
public struct ReportReadError: Error, CustomStringConvertible, LocalizedError {
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }

    /// The message for a decoding error: which key, and what was expected there.
    static func message(for error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error.localizedDescription)" }
        switch error {
        case .typeMismatch(let type, let context):
            return "key `\(keyPath(context.codingPath))`: expected \(describe(type))"
        case .valueNotFound(let type, let context):
            return "key `\(keyPath(context.codingPath))`: expected \(describe(type)), found null"
        case .keyNotFound(let key, let context):
            return "key `\(keyPath(context.codingPath + [key]))` is missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not a JSON report (\(context.debugDescription))"
                : "key `\(keyPath(context.codingPath))`: \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `snn.agreementWithAnn.3` → `snn.agreement_with_ann[3]`.
    static func keyPath(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue { out += "[\(index)]"; continue }
            out += (out.isEmpty ? "" : ".") + snakeCase(key.stringValue)
        }
        return out.isEmpty ? "(top level)" : out
    }

    /// camelCase → snake_case (the inverse of `JSONDecoder.KeyDecodingStrategy.convertFromSnakeCase` for the
    /// report's keys); snake_case input is returned unchanged.
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type: return "a number"
        case is Int.Type: return "an integer"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") ? "a list" : name.hasPrefix("Dictionary") ? "an object" : "an object"
        }
    }
}
