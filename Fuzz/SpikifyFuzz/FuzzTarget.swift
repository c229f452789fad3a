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

/// The input bytes go to a file (HDF5 reads paths); each reader chosen by `SPIKIFY_FUZZ_TARGET` (`importer`,
/// `converted`, `dataset`; all three when unset) must return or throw.
func spikifyFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzInput.path
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    let targets = FuzzInput.targets
    if targets.contains("importer"), let model = try? ViTImporter.load(path) {
        _ = ViTForward(model).logits(Tensor(zeros: [1, model.config.channels, model.config.imageSize, model.config.imageSize]))
    }
    if targets.contains("dataset"), let reader = try? ImageDatasetReader(path, for: FuzzInput.datasetModel.config) {
        _ = try? reader.read(0..<min(reader.count, 2))
    }
    if targets.contains("converted"), let converted = try? ConvertedModelFile.read(path),
       let executor = try? SpikingExecutor(graph: converted.graph, batchCapacity: 1) {
        let c = converted.model.config
        _ = try? executor.run(Tensor(zeros: [1, c.channels, c.imageSize, c.imageSize]), timesteps: 4)
    }
    return 0
}

enum FuzzInput {
    static let targets: Set<String> = {
        let names = ProcessInfo.processInfo.environment["SPIKIFY_FUZZ_TARGET"] ?? "importer,converted,dataset"
        return Set(names.split(separator: ",").map(String.init))
    }()
    /// The model datasets are read for: the fixture a dataset of the corpus belongs to (`timm_gelu_token`, copied
    /// into the fuzzing folder as `model.h5` by `make fuzz`).
    static let datasetModel: ViTModel = {
        do { return try ViTImporter.load("model.h5") } catch { fatalError("spikify-fuzz: \(error)") }
    }()
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
