import Foundation

/// Marker shapes drawn on line-chart points and in legends.
public enum MarkerShape: String, Sendable, CaseIterable {
    case circle, square, triangle, diamond, cross, plus, triangleDown, star
}

/// How one series is drawn: colour, dash pattern, marker and (for bars) hatch, so that series stay apart in
/// greyscale print and for colour-blind readers.
///
/// Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2002; recommended by Wong,
/// "Points of view: Color blindness", Nature Methods 8, 441, 2011), ordered so that the first colours have the
/// most contrast on white (yellow, the weakest, comes last but one).
public struct SeriesStyle: Sendable, Equatable {
    public var color: String
    /// An SVG `stroke-dasharray` value; empty for a solid line.
    public var dash: String
    public var marker: MarkerShape
    /// Bar fill decoration: 0 solid, 1 diagonal lines, 2 dots, 3 cross-hatch, 4 horizontal lines, 5 vertical lines.
    public var hatch: Int

    /// Okabe–Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow, black.
    public static let okabeIto = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                                  "#000000"]
    static let dashes = ["", "7 3", "2 2", "9 3 2 3", "4 4", "12 3 2 3 2 3"]

    /// The style of the `index`-th series. Colour, dash, marker and hatch cycle with coprime-ish periods
    /// (8, 6, 8, 6), so the first 24 series differ in at least two of them.
    public static func at(_ index: Int) -> SeriesStyle {
        let i = max(index, 0)
        let markers = MarkerShape.allCases
        return SeriesStyle(color: okabeIto[i % okabeIto.count], dash: dashes[i % dashes.count],
                           marker: markers[(i + i / markers.count) % markers.count], hatch: i % 6)
    }

    /// The SVG of this series' marker centred at (`x`, `y`) with half-size `r`.
    public func markerSVG(x: Double, y: Double, r: Double = 3.5) -> String {
        let f = { (v: Double) in Markup.fixed(v) }
        let filled = "fill=\"\(color)\" stroke=\"\(color)\""
        switch marker {
        case .circle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" \(filled)/>"
        case .square:
            return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" \(filled)/>"
        case .triangle:
            return polygon([(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)], filled)
        case .triangleDown:
            return polygon([(x, y + r * 1.2), (x + r * 1.1, y - r * 0.8), (x - r * 1.1, y - r * 0.8)],
                           "fill=\"white\" stroke=\"\(color)\" stroke-width=\"1.5\"")
        case .diamond:
            return polygon([(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)], filled)
        case .cross:
            return "<path d=\"M\(f(x - r)),\(f(y - r))L\(f(x + r)),\(f(y + r))M\(f(x - r)),\(f(y + r))L\(f(x + r)),"
                + "\(f(y - r))\" stroke=\"\(color)\" stroke-width=\"2\" fill=\"none\"/>"
        case .plus:
            return "<path d=\"M\(f(x - r)),\(f(y))L\(f(x + r)),\(f(y))M\(f(x)),\(f(y - r))L\(f(x)),\(f(y + r))\" "
                + "stroke=\"\(color)\" stroke-width=\"2\" fill=\"none\"/>"
        case .star:
            let points = (0..<10).map { k -> (Double, Double) in
                let radius = k % 2 == 0 ? r * 1.4 : r * 0.6
                let angle = Double.pi / 5 * Double(k) - Double.pi / 2
                return (x + radius * cos(angle), y + radius * sin(angle))
            }
            return polygon(points, "fill=\"white\" stroke=\"\(color)\" stroke-width=\"1.2\"")
        }
    }

    private func polygon(_ points: [(Double, Double)], _ paint: String) -> String {
        let list = points.map { Markup.fixed($0.0) + "," + Markup.fixed($0.1) }.joined(separator: " ")
        return "<polygon points=\"\(list)\" \(paint)/>"
    }

    /// An SVG `<pattern>` for this style's bar fill, with id `id`; `nil` for a solid fill.
    public func hatchPattern(id: String) -> String? {
        let lines: String
        switch hatch {
        case 1: lines = "<path d=\"M0,8L8,0M-2,2L2,-2M6,10L10,6\" stroke=\"white\" stroke-width=\"1.6\"/>"
        case 2: lines = "<circle cx=\"4\" cy=\"4\" r=\"1.5\" fill=\"white\"/>"
        case 3: lines = "<path d=\"M0,8L8,0M0,0L8,8\" stroke=\"white\" stroke-width=\"1.2\"/>"
        case 4: lines = "<path d=\"M0,4L8,4\" stroke=\"white\" stroke-width=\"1.6\"/>"
        case 5: lines = "<path d=\"M4,0L4,8\" stroke=\"white\" stroke-width=\"1.6\"/>"
        default: return nil
        }
        return "<pattern id=\"\(id)\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\">"
            + "<rect width=\"8\" height=\"8\" fill=\"\(color)\"/>\(lines)</pattern>"
    }
}
