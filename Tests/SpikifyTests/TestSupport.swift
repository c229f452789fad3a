import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Paths of the committed fixtures (Tests/Fixtures, made by tools/make_fixtures.py) and bundled models.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let repository = root.deletingLastPathComponent()
    static func model(_ name: String) -> String { root.appendingPathComponent("Fixtures/\(name).h5").path }
    static func data(_ name: String) -> String { root.appendingPathComponent("Fixtures/\(name).data.h5").path }
    static func bundled(_ relative: String) -> String { repository.appendingPathComponent("models/\(relative)").path }

    /// Every fixture pair with reference logits.
    static let parityNames = [
        "timm_gelu_token", "timm_relu_avg_nested", "timm_f16", "hf_classic", "hf_v5", "vit_tiny_geom",
        "spikezip_qann_relu", "spikezip_qann_gelu", "spikezip_qann_relu_avg",
    ]
    static let qannNames = ["spikezip_qann_relu", "spikezip_qann_gelu", "spikezip_qann_relu_avg"]

    static func floats(_ path: String, _ dataset: String) throws -> Tensor {
        let ds = try HDF5File.open(path).root.dataset(dataset)
        return Tensor(shape: ds.shape, scalars: try ds.readFloats())
    }
}

/// A fresh temporary folder per test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("spikify-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A checkpoint's datasets and root attributes, editable and writable as a new file (for malformed-input tests).
struct EditableCheckpoint {
    var tensors: [String: Tensor] = [:]
    var attributes: [String: HDF5Value] = [:]

    init(_ path: String) throws {
        let root = try HDF5File.open(path).root
        for p in try root.datasetPaths() {
            let ds = try root.dataset(p)
            tensors[p] = Tensor(shape: ds.shape, scalars: try ds.readFloats())
        }
        for name in try root.attributeNames() { attributes[name] = try root.attribute(name) }
    }

    func write(_ path: String) throws {
        let file = try HDF5File.create(path)
        for (name, t) in tensors { try file.root.write(name, floats: t.scalars, shape: t.shape) }
        for (name, v) in attributes { try file.root.setAttribute(name, v) }
        try file.close()
    }
}

/// The built `spikify` executable (next to the test bundle).
func spikifyBinary() throws -> URL {
    let candidates = [
        Bundle.main.bundleURL.appendingPathComponent("spikify"),
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("spikify"),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("spikify"),
    ]
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("spikify executable not built next to the tests")
    }
    return binary
}

/// Runs the built `spikify` executable; returns (exit status, stdout, stderr).
func runSpikify(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = try spikifyBinary()
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Asserts that `body` throws a ``SpikifyError`` whose message contains every fragment.
func assertSpikifyError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch let error as SpikifyError {
        for f in fragments {
            XCTAssertTrue(error.description.contains(f), "'\(error.description)' lacks '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

extension SpikingOperator {
    /// One step of a lone operator with samples 0..<batch and seed 0 (the operator identity tests drive operators
    /// directly, without an executor).
    func step(_ t: Int, batch: Int) {
        let samples = Array(0..<batch)
        samples.withUnsafeBufferPointer { step(StepContext(t: t, batch: batch, samples: $0.baseAddress!, seed: 0)) }
    }
}

/// A copy of the `timm_gelu_token` fixture edited by `edit`, written as `dir/name` (for malformed-input tests).
func editedCheckpoint(_ name: String, in dir: URL, _ edit: (inout EditableCheckpoint) -> Void) throws -> String {
    var c = try EditableCheckpoint(Fixtures.model("timm_gelu_token"))
    edit(&c)
    let path = dir.appendingPathComponent(name).path
    try c.write(path)
    return path
}

/// A JSON report as a dictionary without the fields that are timings (keys containing "seconds"), for comparing
/// reports of different runs.
func untimedJSON(_ data: Data) throws -> NSDictionary {
    func strip(_ value: Any) -> Any {
        if var d = value as? [String: Any] {
            for k in d.keys where k.contains("seconds") { d[k] = nil }
            for (k, v) in d { d[k] = strip(v) }
            return d
        }
        if let a = value as? [Any] { return a.map(strip) }
        return value
    }
    return strip(try JSONSerialization.jsonObject(with: data)) as! NSDictionary
}
