import Foundation
import XCTest
import Spikify

/// `spikify eval --shard/--shards` and `spikify merge` through the command line: the merged report equals an
/// unsharded run's except for timings; every error of merge names the shards.
final class ShardCLITests: XCTestCase {
    private func json(_ path: String) throws -> NSDictionary {
        try untimedJSON(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testShardsSlicesCoverEveryIndexOnce() throws {
        for n in [0, 1, 2, 5, 13, 1000] {
            for count in 1...7 {
                var seen = [Int](repeating: 0, count: n)
                for i in 0..<count { for j in try ShardSpec(index: i, count: count).slice(of: 0..<n) { seen[j] += 1 } }
                XCTAssertEqual(seen, [Int](repeating: 1, count: n), "n \(n), N \(count)")
            }
        }
        XCTAssertEqual(try ShardSpec(parsing: "2/8"), try ShardSpec(index: 2, count: 8))
        for bad in ["8/8", "-1/3", "1/0", "x", "1/2/3"] { XCTAssertThrowsError(try ShardSpec(parsing: bad), bad) }
        XCTAssertEqual(try ShardSpec.fromEnvironment(shards: 4, ["SLURM_ARRAY_TASK_ID": "3"]), try ShardSpec(index: 3, count: 4))
        XCTAssertEqual(try ShardSpec.fromEnvironment(shards: nil, ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"]),
                       try ShardSpec(index: 1, count: 2))
        XCTAssertEqual(try ShardSpec.fromEnvironment(shards: 5, ["JOB_COMPLETION_INDEX": "0"]), try ShardSpec(index: 0, count: 5))
        assertSpikifyError(["SLURM_ARRAY_TASK_ID"]) { _ = try ShardSpec.fromEnvironment(shards: 3, [:]) }
    }

    func testShardedEvalMergesToTheUnshardedReport() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let model = Fixtures.model("spikezip_qann_relu"), data = Fixtures.data("spikezip_qann_relu")
        let snn = path("snn.h5")
        XCTAssertEqual(try runSpikify(["convert", "--model", model, "--out", snn]).status, 0)
        let common = ["eval", "--model", snn, "--data", data, "--timesteps", "40", "--batch-size", "2"]
        let whole = try runSpikify(common + ["--report", path("whole.json")])
        XCTAssertEqual(whole.status, 0, whole.err)
        for i in 0..<3 {
            let r = try runSpikify(common + ["--shard", "\(i)/3", "--report", path("shard-\(i).json")])
            XCTAssertEqual(r.status, 0, r.err)
        }
        // The Slurm form: the index from the environment, a resumed shard is skipped.
        let slurm = try runSpikify(common + ["--shards", "3", "--report", path("shard-1.json"), "--resume"],
                                   environment: ["SLURM_ARRAY_TASK_ID": "1"])
        XCTAssertEqual(slurm.status, 0, slurm.err)
        XCTAssertTrue(slurm.out.contains("skipped (--resume)"), slurm.out)
        let merged = try runSpikify(["merge", path("shard-2.json"), path("shard-0.json"), path("shard-1.json"),
                                     "--out", path("merged.json")])
        XCTAssertEqual(merged.status, 0, merged.err)
        XCTAssertEqual(try json(path("merged.json")), try json(path("whole.json")))

        // Errors name the shards: a missing one, a duplicate, another model, a plain report.
        let missing = try runSpikify(["merge", path("shard-0.json"), path("shard-2.json"), "--out", path("x.json")])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("missing") && missing.err.contains("..<"), missing.err)
        let duplicate = try runSpikify(["merge", path("shard-0.json"), path("shard-1.json"), path("shard-1.json"),
                                        path("shard-2.json"), "--out", path("x.json")])
        XCTAssertTrue(duplicate.err.contains("shard-1.json") && duplicate.err.contains("duplicate"), duplicate.err)
        let other = try runSpikify(["eval", "--model", model, "--method", "spikezip", "--data", data, "--timesteps", "40",
                                    "--shard", "0/3", "--report", path("other-0.json")])
        XCTAssertEqual(other.status, 0, other.err)
        let mismatch = try runSpikify(["merge", path("shard-1.json"), path("other-0.json"), path("shard-2.json"),
                                       "--out", path("x.json")])
        XCTAssertTrue(mismatch.err.contains("other-0.json") && mismatch.err.contains("model"), mismatch.err)
        let plain = try runSpikify(["merge", path("whole.json"), "--out", path("x.json")])
        XCTAssertTrue(plain.err.contains("whole.json") && plain.err.contains("not a shard report"), plain.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.json")))
    }
}
