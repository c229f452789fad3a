import ArgumentParser
import Foundation
import Spikify

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge shard reports of 'spikify eval --shard' into the report of one unsharded run.",
        discussion: """
            Checks that the shards come from the same model (SHA-256), conversion options, data set and timesteps, \
            and that they cover the data set exactly once; the merged report equals an unsharded run's except for \
            timings (docs/scaling.md).
            """)

    @Argument(help: "Shard reports (JSON from 'spikify eval --shard I/N --report …').")
    var shards: [String]

    @Option(help: "Write the merged report here (atomically).")
    var out: String

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give at least one shard report") }
    }

    func run() throws {
        let reports = try shards.map { try EvaluationReport.read($0) }
        let merged = try EvaluationReport.merge(reports, names: shards)
        try merged.write(to: out)
        print("\(merged.method) · \(merged.samples) images from \(shards.count) shard\(shards.count == 1 ? "" : "s")")
        print(merged.table())
        print("report: \(out)")
    }
}
