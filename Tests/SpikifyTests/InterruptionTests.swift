import Foundation
import XCTest
import HDF5
import Spikify

/// SIGINT and SIGTERM during `convert`, `predict` and `eval` leave no output and no temporary file; special files
/// are refused as inputs and as outputs instead of blocking or being replaced.
final class InterruptionTests: XCTestCase {
    /// Files in `dir` other than the inputs copied there.
    private func leftovers(_ dir: URL, except keep: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !keep.contains($0) }.sorted()
    }

    /// Starts `arguments`, waits until a temporary output appears in `dir` (or `delay` passes), sends `sig`.
    private func interrupt(_ arguments: [String], in dir: URL, signal sig: Int32, delay: TimeInterval) throws
        -> Process.TerminationReason
    {
        let process = Process()
        process.executableURL = try spikifyBinary()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning && Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if names.contains(where: { $0.contains(".spikify-incomplete-") }) { break }
            usleep(200)
        }
        kill(process.processIdentifier, sig)
        process.waitUntilExit()
        return process.terminationReason
    }

    func testSignalsLeaveNoOutputAndNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = Fixtures.model("vit_tiny_geom"), data = Fixtures.data("vit_tiny_geom")
        let snn = dir.appendingPathComponent("snn.h5").path
        XCTAssertEqual(try runSpikify(["convert", "--model", Fixtures.model("spikezip_qann_relu"), "--out", snn]).status, 0)
        let out = dir.appendingPathComponent("out").path
        let commands: [[String]] = [
            ["convert", "--model", model, "--method", "spikezip", "--levels", "8", "--calib", data, "--out", out],
            ["predict", "--model", model, "--data", data, "--out", out],
            ["eval", "--model", snn, "--data", Fixtures.data("spikezip_qann_relu"), "--timesteps", "500", "--report", out],
        ]
        for command in commands {
            for sig in [SIGINT, SIGTERM] {
                let reason = try interrupt(command, in: dir, signal: sig, delay: 0.3)
                let left = try leftovers(dir, except: ["snn.h5"])
                // Never a temporary file; an output only when the command completed its write before the signal
                // (then it is whole: it opens and parses).
                XCTAssertFalse(left.contains { $0.contains(".spikify-incomplete-") }, "\(command[0]), signal \(sig): \(left)")
                XCTAssertTrue(left == [] || left == ["out"], "\(command[0]), signal \(sig): \(left)")
                if left == ["out"] {
                    if command[0] == "eval" {
                        XCTAssertNoThrow(try EvaluationReport.read(out))
                    } else {
                        XCTAssertNoThrow(try HDF5File.open(out))
                    }
                    try FileManager.default.removeItem(atPath: out)
                } else {
                    XCTAssertEqual(reason, .uncaughtSignal, "\(command[0]) neither finished nor died of the signal")
                }
            }
        }
    }

    func testSpecialFilesAreRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // A FIFO as input: a clear error at once, not a hang.
        let input = try runSpikify(["inspect", fifo])
        XCTAssertNotEqual(input.status, 0)
        XCTAssertTrue(input.err.contains("fifo") && input.err.contains("not a regular file"), input.err)
        let directory = try runSpikify(["inspect", dir.path])
        XCTAssertTrue(directory.err.contains("not an HDF5 file"), directory.err)
        // A FIFO or a device as output: refused, left as it was.
        let model = Fixtures.model("spikezip_qann_relu"), data = Fixtures.data("spikezip_qann_relu")
        let toFifo = try runSpikify(["predict", "--model", model, "--data", data, "--out", fifo])
        XCTAssertNotEqual(toFifo.status, 0)
        XCTAssertTrue(toFifo.err.contains("not a regular file") && toFifo.err.contains("refusing"), toFifo.err)
        var info = stat()
        XCTAssertEqual(stat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
        let toNull = try runSpikify(["convert", "--model", model, "--out", "/dev/null"])
        XCTAssertNotEqual(toNull.status, 0)
        XCTAssertTrue(toNull.err.contains("character device"), toNull.err)
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)
    }

    /// A file-size limit during `convert` is an error naming the file (SIGXFSZ is ignored), with nothing left behind.
    func testFileSizeLimitIsAnError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("snn.h5").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 16; exec \"$0\" convert --model \"$1\" --out \"$2\"",
                             try spikifyBinary().path, Fixtures.model("spikezip_qann_relu"), out]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, "not killed by SIGXFSZ")
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(message.contains("snn.h5"), message)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
