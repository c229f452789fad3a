import Foundation
import SpikifyCore

/// One of N contiguous slices of a data set (docs/scaling.md). Slice i of N covers `⌊n·i/N⌋ ..< ⌊n·(i+1)/N⌋`,
/// so the slices of any N cover every index exactly once.
public struct ShardSpec: Sendable, Equatable {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= 1 << 20, (0..<count).contains(index) else {
            throw SpikifyError.invalidArgument("shard \(index) of \(count): expected 0 ≤ I < N ≤ \(1 << 20)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (0-based I).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw SpikifyError.invalidArgument("--shard must be I/N (0-based I, e.g. 2/8), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    /// The shard from a scheduler's environment: Slurm arrays (`SLURM_ARRAY_TASK_ID`, and
    /// `SLURM_ARRAY_TASK_COUNT` when `shards` is nil) or Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`).
    public static func fromEnvironment(shards: Int?, _ environment: [String: String]) throws -> ShardSpec {
        let index = environment["SLURM_ARRAY_TASK_ID"] ?? environment["JOB_COMPLETION_INDEX"]
        guard let index, let i = Int(index) else {
            throw SpikifyError.invalidArgument("--shards needs SLURM_ARRAY_TASK_ID (Slurm array) or JOB_COMPLETION_INDEX "
                + "(Kubernetes Indexed Job) in the environment, or give --shard I/N")
        }
        guard let n = shards ?? environment["SLURM_ARRAY_TASK_COUNT"].flatMap({ Int($0) }) else {
            throw SpikifyError.invalidArgument("the number of shards is unknown: give --shards N")
        }
        return try ShardSpec(index: i, count: n)
    }

    /// This shard's slice of `range`.
    public func slice(of range: Range<Int>) -> Range<Int> {
        let n = range.count
        return (range.lowerBound + n * index / count)..<(range.lowerBound + n * (index + 1) / count)
    }
}

extension EvaluationReport {
    /// Merges shard reports (each with its accumulator) into the report one unsharded run gives: checks that they
    /// come from the same model, options and data set, and cover the data set exactly once. `names` label the
    /// shards in errors (their file names).
    public static func merge(_ shards: [EvaluationReport], names: [String]) throws -> EvaluationReport {
        guard let first = shards.first else { throw SpikifyError.invalidArgument("merge needs at least one shard report") }
        func fail(_ message: String) -> SpikifyError { .invalidArgument("merge: \(message)") }
        var missing: [String] = []
        for (r, name) in zip(shards, names) where r.accumulator == nil || r.provenance == nil { missing.append(name) }
        if !missing.isEmpty {
            throw fail("\(missing.joined(separator: ", ")) \(missing.count == 1 ? "is not a shard report" : "are not shard reports") "
                + "(no accumulator or provenance: write them with eval --shard or --shards)")
        }
        let p = first.provenance!
        for (r, name) in zip(shards, names).dropFirst() where r.provenance! != p || r.method != first.method {
            let o = r.provenance!
            var what: [String] = []
            if o.modelSha256 != p.modelSha256 { what.append("model (SHA-256 \(o.modelSha256.prefix(12))… vs \(p.modelSha256.prefix(12))…)") }
            if o.conversion != p.conversion { what.append("conversion options") }
            if o.dataset != p.dataset || o.datasetImages != p.datasetImages { what.append("data set (\(o.dataset), \(o.datasetImages) images)") }
            if o.timesteps != p.timesteps { what.append("timesteps (\(o.timesteps) vs \(p.timesteps))") }
            if r.method != first.method { what.append("method") }
            throw fail("\(name) does not match \(names[0]): different \(what.joined(separator: ", "))")
        }
        var merged = EvaluationAccumulator(timesteps: p.timesteps)
        var owner: [(slice: [Int], name: String)] = []
        for (r, name) in zip(shards, names) {
            for s in r.accumulator!.slices {
                if let o = owner.first(where: { $0.slice[0] < s[1] && s[0] < $0.slice[1] }) {
                    throw fail("\(name) and \(o.name) both cover images \(max(s[0], o.slice[0]))..<\(min(s[1], o.slice[1])) (a duplicate shard)")
                }
                owner.append((s, name))
            }
            try merged.merge(r.accumulator!)
        }
        guard merged.slices == [[0, p.datasetImages]] else {
            var gaps: [String] = [], at = 0
            for s in merged.slices { if s[0] > at { gaps.append("\(at)..<\(s[0])") }; at = s[1] }
            if at < p.datasetImages { gaps.append("\(at)..<\(p.datasetImages)") }
            throw fail("the shards do not cover the data set's \(p.datasetImages) images: missing \(gaps.joined(separator: ", "))")
        }
        var report = first
        report.fill(from: merged)
        report.shard = nil
        report.accumulator = nil
        report.batchSize = first.batchSize
        return report
    }
}
