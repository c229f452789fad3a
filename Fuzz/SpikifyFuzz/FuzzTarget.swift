import Foundation
import Spikify

// A libFuzzer target over the three readers of untrusted files: the checkpoint importer, the converted-model
// loader (with the executor on what it accepts) and the dataset reader. Built by `make fuzz` with
// `-sanitize=fuzzer,address` and `-D SPIKIFY_FUZZ`; any crash, trap, hang or leak of memory safety is a finding.
// Every outcome other than a result or a thrown error is a bug (issue 15; docs/architecture.md).

#if SPIKIFY_FUZZ
/// libFuzzer's driver, called from our own entry point (SwiftPM gives executables a renamed `main`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main
enum FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            guard let data else { return 0 }
            return spikifyFuzzOneInput(data, size)
        })
    }
}

/// libFuzzer's entry point by its conventional name (its runtime refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 { spikifyFuzzOneInput(data, size) }

/// The input bytes go to a file (HDF5 reads paths); each reader must return or throw.
func spikifyFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.path
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    if let model = try? ViTImporter.load(path) {
        _ = try? ImageDatasetReader(path, for: model.config).read(0..<1)
        _ = ViTForward(model).logits(Tensor(zeros: [1, model.config.channels, model.config.imageSize, model.config.imageSize]))
    }
    if let converted = try? ConvertedModelFile.read(path),
       let executor = try? SpikingExecutor(graph: converted.graph, batchCapacity: 1) {
        let c = converted.model.config
        _ = try? executor.run(Tensor(zeros: [1, c.channels, c.imageSize, c.imageSize]), timesteps: 4)
    }
    return 0
}

enum FuzzInput {
    /// One file per process, on tmpfs when there is one.
    static let path: String = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return dir + "/spikify-fuzz-\(getpid()).h5"
    }()
}
#else
@main
enum FuzzUsage {
    static func main() {
        FileHandle.standardError.write(Data("spikify-fuzz is a libFuzzer target: build and run it with `make fuzz`\n".utf8))
        exit(2)
    }
}
#endif
