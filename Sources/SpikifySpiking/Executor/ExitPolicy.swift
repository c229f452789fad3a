import Foundation
import SpikifyCore

/// Confidence-based early exit (`--exit-when stable:K[,margin:M]`, docs/latency.md): a sample may leave once its
/// prediction has not changed for K steps and, when a margin is given, the read-out logit margin (top-1 minus top-2)
/// exceeds M. In the spirit of per-sample early exit for SNNs (SEENN: Li et al., "SEENN: Towards Temporal Spiking
/// Early-Exit Neural Networks", NeurIPS 2023), with a method-neutral confidence read from the output alone.
///
/// The policy is a trade of exactness for latency: quiescence stays the exact criterion. The executor records where
/// each sample would leave and with which prediction, and keeps running it, so one run reports the result with
/// early exit next to the result run until quiet. Each sample's decision depends on its own outputs only, so it is
/// the same whatever batch the sample runs in.
public struct ExitPolicy: Codable, Sendable, Equatable, CustomStringConvertible {
    /// K ≥ 1: steps over which the prediction must not have changed.
    public var stableSteps: Int
    /// M: the margin (top-1 − top-2 read-out logit) must exceed it; nil: no margin condition.
    public var margin: Float?

    public init(stableSteps: Int, margin: Float? = nil) throws {
        guard (1...(1 << 20)).contains(stableSteps) else {
            throw SpikifyError.invalidArgument("--exit-when: stable:K needs 1 ≤ K ≤ \(1 << 20), got \(stableSteps)")
        }
        if let margin, !margin.isFinite {
            throw SpikifyError.invalidArgument("--exit-when: margin:M needs a finite number, got \(margin)")
        }
        self.stableSteps = stableSteps
        self.margin = margin
    }

    /// Parses `stable:K` or `stable:K,margin:M` (either order).
    public init(parsing text: String) throws {
        func fail(_ why: String) -> SpikifyError {
            .invalidArgument("--exit-when '\(text)': \(why); expected stable:K[,margin:M], e.g. stable:2,margin:1")
        }
        var stable: Int?, margin: Float?
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { throw fail("'\(part)' is not key:value") }
            let key = pair[0].trimmingCharacters(in: .whitespaces), value = pair[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "stable":
                guard stable == nil, let k = Int(value) else { throw fail("stable must be given once, as an integer") }
                stable = k
            case "margin":
                guard margin == nil, let m = Float(value), m.isFinite else {
                    throw fail("margin must be given once, as a finite number")
                }
                margin = m
            default: throw fail("unknown key '\(key)'")
            }
        }
        guard let stable else { throw fail("stable:K is required") }
        try self.init(stableSteps: stable, margin: margin)
    }

    public var description: String {
        "stable:\(stableSteps)" + (margin.map { ",margin:\($0.formatted)" } ?? "")
    }
}

private extension Float {
    /// `1` rather than `1.0` for whole numbers.
    var formatted: String { self == rounded() && abs(self) < 1e7 ? String(Int(self)) : String(self) }
}
