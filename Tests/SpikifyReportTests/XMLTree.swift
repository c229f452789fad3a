import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: enough of a DOM to check the generated SVG and HTML (XMLParser, Foundation).
final class XMLElementNode {
    let name: String
    let attributes: [String: String]
    var children: [XMLElementNode] = []
    var text = ""
    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// All descendants (and self) in document order.
    var all: [XMLElementNode] { [self] + children.flatMap(\.all) }
    /// Text of this element and its descendants.
    var allText: String { text + children.map(\.allText).joined() }

    func elements(named name: String) -> [XMLElementNode] { all.filter { $0.name == name } }
    func elements(withClass cls: String) -> [XMLElementNode] {
        all.filter { ($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(cls)) }
    }
    /// The text of the first `<text>` under each element of class `cls`.
    func labels(ofClass cls: String) -> [String] {
        elements(withClass: cls).compactMap { $0.elements(named: "text").first?.allText }
    }
}

/// Parses `text` as XML; throws with the parser's error (line and column) when it is not well-formed.
func parseXML(_ text: String) throws -> XMLElementNode {
    final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLElementNode] = []
        var root: XMLElementNode?
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let node = XMLElementNode(name: name, attributes: attributes)
            stack.last?.children.append(node)
            if root == nil { root = node }
            stack.append(node)
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }
    }
    struct NotWellFormed: Error, CustomStringConvertible {
        var description: String
    }
    let parser = XMLParser(data: Data(text.utf8))
    let builder = Builder()
    parser.delegate = builder
    guard parser.parse(), let root = builder.root else {
        throw NotWellFormed(description: "not well-formed XML at line \(parser.lineNumber), column "
                            + "\(parser.columnNumber): \(String(describing: parser.parserError))")
    }
    return root
}
