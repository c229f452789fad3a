import Dispatch
import Foundation
import XCTest
@testable import HDF5

/// Opening files, damaged files, atomic writing, closing, and use from several threads.
final class FileTests: HDF5TestCase {
    func testFileNotFound() {
        let p = path("absent.h5")
        let error = expectError { try HDF5File.open(p) }
        XCTAssertEqual(error, .fileNotFound(file: p))
        XCTAssertTrue(error!.description.contains(p))
    }

    func testNotHDF5() throws {
        let text = path("notes.txt")
        try "this is plain text, not HDF5\n".write(toFile: text, atomically: true, encoding: .utf8)
        let error = expectError { try HDF5File.open(text) }
        XCTAssertEqual(error, .notHDF5(file: text))
        XCTAssertTrue(error!.description.contains("notes.txt"))

        let empty = path("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertEqual(expectError { try HDF5File.open(empty) }, .notHDF5(file: empty))
        XCTAssertEqual(expectError { try HDF5File.open(directory) }, .notHDF5(file: directory))
    }

    /// A valid file with a 1 MB dataset, truncated to half its size, gives an HDF5Error on
    /// open or read; so does one cut down to its first 100 bytes.
    func testTruncatedFiles() throws {
        let whole = path("whole.h5")
        let file = try HDF5File.create(whole)
        try file.root.write("big", floats: (0..<262_144).map(Float.init), shape: [512, 512])
        try file.root.write("small", floats: [1, 2, 3], shape: [3])
        try file.root.setAttribute("name", .string("whole"))
        try file.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        XCTAssertGreaterThan(bytes.count, 1_000_000)

        for keep in [bytes.count / 2, 100] {
            let cut = path("cut-\(keep).h5")
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: cut))
            do throws(HDF5Error) {
                let damaged = try HDF5File.open(cut)
                _ = try damaged.dataset("big").readFloats()
                XCTFail("reading a file truncated to \(keep) bytes succeeded")
            } catch {
                XCTAssertEqual(error.file, cut)
                XCTAssertTrue(error.description.contains(cut), error.description)
                switch error {
                case .cannotOpen(_, let reason), .readFailed(_, _, let reason):
                    XCTAssertFalse(reason.isEmpty)
                default:
                    XCTFail("unexpected error \(error)")
                }
            }
        }
    }

    /// A damaged object header (checksum mismatch) is reported as a read failure of that
    /// object, not as a missing object.
    func testCorruptObjectHeaders() throws {
        let whole = path("whole.h5")
        let file = try HDF5File.create(whole)
        try file.root.write("big", floats: [Float](repeating: 1, count: 4096), shape: [64, 64])
        try file.root.write("small", floats: [1, 2, 3], shape: [3])
        try file.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        var headers: [Int] = []
        var from = bytes.startIndex
        while let r = bytes.range(of: Data("OHDR".utf8), in: from..<bytes.endIndex) {
            headers.append(r.lowerBound)
            from = r.upperBound
        }
        XCTAssertEqual(headers.count, 3)  // the root group and the two datasets
        for (n, at) in headers.enumerated() {
            var damaged = bytes
            for i in (at + 6)..<(at + 20) { damaged[i] ^= 0x5A }
            let p = path("damaged-\(n).h5")
            try damaged.write(to: URL(fileURLWithPath: p))
            var failures: [HDF5Error] = []
            for name in ["big", "small"] {
                do throws(HDF5Error) {
                    _ = try HDF5File.open(p).dataset(name).readFloats()
                } catch {
                    failures.append(error)
                }
            }
            XCTAssertFalse(failures.isEmpty, "header \(n)")
            for error in failures {
                guard case .readFailed(p, let object, let reason) = error else { XCTFail("\(error)"); continue }
                XCTAssertTrue(["/", "/big", "/small"].contains(object), object)
                XCTAssertTrue(reason.contains("checksum"), reason)
            }
        }
    }

    func testErrorDescriptions() {
        XCTAssertEqual(HDF5Error.missing(file: "model.h5", path: "/blocks/0/attn/qkv/weight").description,
                       "model.h5: no group or dataset '/blocks/0/attn/qkv/weight'")
        XCTAssertEqual(HDF5Error.missing(file: "m.h5", path: "/g@scale").description,
                       "m.h5: no attribute 'scale' of '/g'")
        XCTAssertEqual(HDF5Error.unsupportedType(file: "m.h5", path: "/x", found: "string", expected: "a float type").description,
                       "m.h5: '/x' has type string, expected a float type")
        XCTAssertEqual(HDF5Error.readFailed(file: "m.h5", path: "/@cfg", reason: "bad").description,
                       "m.h5: cannot read attribute 'cfg' of '/': bad")
        XCTAssertEqual(HDF5Error.cannotOpen(file: "m.h5", reason: "truncated file").description,
                       "m.h5: cannot open HDF5 file: truncated file")
        XCTAssertEqual(HDF5Error.missing(file: "m.h5", path: "/x").objectPath, "/x")
        XCTAssertNil(HDF5Error.notHDF5(file: "m.h5").objectPath)
    }

    func testAtomicWriteSuccess() throws {
        let p = path("out.h5")
        try HDF5File.write(atomically: p) { file in
            try file.root.write("w", floats: [1, 2], shape: [2])
            try file.root.setAttribute("ok", .int(1))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["out.h5"])
        let file = try HDF5File.open(p)
        XCTAssertEqual(try file.dataset("w").readFloats(), [1, 2])
        XCTAssertEqual(try file.root.attribute("ok"), .int(1))
    }

    private struct Boom: Error, Equatable {}

    func testAtomicWriteLeavesNothingWhenTheBodyThrows() throws {
        let p = path("out.h5")
        XCTAssertThrowsError(try HDF5File.write(atomically: p) { file in
            try file.root.write("w", floats: [1, 2], shape: [2])
            throw Boom()
        }) { XCTAssertEqual($0 as? Boom, Boom()) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])

        // An HDF5 error from the body is passed on unchanged.
        XCTAssertThrowsError(try HDF5File.write(atomically: p) { file in
            try file.root.write("w", floats: [1, 2], shape: [3])
        }) { XCTAssertNotNil($0 as? HDF5Error) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    func testAtomicWriteKeepsAnExistingFileOnFailure() throws {
        let p = path("out.h5")
        try HDF5File.write(atomically: p) { try $0.root.write("v", int64s: [1], shape: [1]) }
        XCTAssertThrowsError(try HDF5File.write(atomically: p) { file in
            try file.root.write("v", int64s: [2], shape: [1])
            throw Boom()
        })
        XCTAssertEqual(try HDF5File.open(p).dataset("v").readInt64s(), [1])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["out.h5"])
        // Success replaces it.
        try HDF5File.write(atomically: p) { try $0.root.write("v", int64s: [3], shape: [1]) }
        XCTAssertEqual(try HDF5File.open(p).dataset("v").readInt64s(), [3])
    }

    func testAtomicWriteIntoMissingDirectoryFails() {
        let p = path("no/such/dir/out.h5")
        XCTAssertThrowsError(try HDF5File.write(atomically: p) { _ in }) { error in
            guard case .writeFailed? = error as? HDF5Error else { return XCTFail("\(error)") }
        }
    }

    func testUseAfterCloseFailsWithoutCrashing() throws {
        let file = try roundTrip { try $0.write("w", floats: [1], shape: [1]) }
        let dataset = try file.dataset("w")
        try file.close()
        try file.close()  // idempotent
        XCTAssertNotNil(expectError { try dataset.readFloats() })
        XCTAssertNotNil(expectError { try file.root.childNames() })
        XCTAssertFalse(file.root.exists("w"))
    }

    /// HDF5 must never print its error stack, on any thread.
    func testNothingIsPrintedToStandardError() throws {
        let text = path("text.txt")
        try "plain".write(toFile: text, atomically: true, encoding: .utf8)
        let good = try roundTrip { try $0.write("w", floats: [1], shape: [1]) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: good.path))
        let cut = path("cut.h5")
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let failingCalls: @Sendable () -> Void = {
            _ = try? HDF5File.open(text)
            _ = try? HDF5File.open(cut)
            _ = try? good.dataset("a/b/c")
            _ = try? good.dataset("w").readStrings()
            _ = try? good.root.attribute("missing")
            _ = good.root.exists("w/inside/a/dataset")
            _ = try? HDF5Attributes.names(of: "/nowhere", in: good)
        }

        let captured = try captureStandardError {
            failingCalls()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in failingCalls() }
            let done = DispatchSemaphore(value: 0)
            Thread { failingCalls(); done.signal() }.start()
            done.wait()
        }
        XCTAssertEqual(captured, "", "HDF5 printed to stderr")
    }

    func testConcurrentReadsOfOneFile() throws {
        let file = try roundTrip { root in
            for i in 0..<8 { try root.write("d\(i)", floats: [Float](repeating: Float(i), count: 1000), shape: [10, 100]) }
        }
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var sums = [Float](repeating: -1, count: 32)
        }
        let box = Box()
        DispatchQueue.concurrentPerform(iterations: 32) { k in
            let sum = (try? file.dataset("d\(k % 8)").readFloats().reduce(0, +)) ?? -2
            box.lock.lock()
            box.sums[k] = sum
            box.lock.unlock()
        }
        XCTAssertEqual(box.sums, (0..<32).map { Float(($0 % 8) * 1000) })
    }

    /// Runs `body` with file descriptor 2 redirected to a file, and returns what was written.
    private func captureStandardError(_ body: () -> Void) throws -> String {
        let capture = path("stderr.txt")
        _ = FileManager.default.createFile(atPath: capture, contents: nil)
        let fd = open(capture, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let saved = dup(2)
        fflush(nil)
        dup2(fd, 2)
        body()
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(fd)
        return try String(contentsOfFile: capture, encoding: .utf8)
    }
}
