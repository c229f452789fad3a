// swift-tools-version: 6.0
import PackageDescription

// The targets follow the pipeline, and data flows one way (docs/architecture.md):
// HDF5, SpikifySIMD, SpikifyWorkers → SpikifyCore → SpikifyModel → SpikifySpiking → SpikifyConversion →
// SpikifyEvaluation / SpikifyExport → Spikify (umbrella) → spikify (CLI); SpikifyReport (Foundation only) sits beside
// them and SpikifyEvaluation uses it.
// Nothing imports a target above it; SwiftPM enforces that.
let package = Package(
    name: "Spikify",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Spikify", targets: ["Spikify"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .executable(name: "spikify", targets: ["spikify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries found through pkg-config (docs/architecture.md, "System libraries").
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // A sacrificial walk of an untrusted file with libhdf5 in a child process (C: runs after fork()).
        .target(name: "HDF5Probe", dependencies: ["CHDF5"]),
        // A small Swift wrapper over the HDF5 C API: files, groups, datasets, attributes, typed errors.
        .target(name: "HDF5", dependencies: ["CHDF5", "HDF5Probe"]),
        // The hottest elementwise kernels (softmax, GELU, ST-BIF+ rows, row differences) in C, compiled for AVX-512,
        // AVX2 and baseline x86-64 at once and picked at load time; each mirrors its Swift definition exactly.
        .target(name: "SpikifySIMD"),
        // The worker threads under parallel loops: a fork-join pool whose idle workers poll a while before they sleep.
        .target(name: "SpikifyWorkers", linkerSettings: [.linkedLibrary("pthread", .when(platforms: [.linux]))]),
        // Tensors, BLAS, vectorisable kernels, parallel loops, unsafe buffers; library errors and file support.
        .target(name: "SpikifyCore", dependencies: ["HDF5", "CBLAS", "SpikifySIMD", "SpikifyWorkers"]),
        // ViT configuration and weights, importers (layouts, config inference), the ANN forward with its site hook.
        .target(name: "SpikifyModel", dependencies: ["SpikifyCore", "HDF5"]),
        // The spiking core: graphs of operator nodes, the open operator registry, simulation semantics,
        // counter-based randomness, the executor and its per-step statistics. Knows no conversion method.
        .target(name: "SpikifySpiking", dependencies: ["SpikifyCore", "SpikifyModel", "SpikifySIMD"]),
        // Calibration, quantization and one folder per conversion method (its operators, semantics, reference).
        .target(name: "SpikifyConversion",
                dependencies: ["SpikifyCore", "SpikifyModel", "SpikifySpiking", "HDF5", "SpikifySIMD"]),
        // Datasets (streamed), mergeable evaluation over timesteps, reports, method comparison; report pages and
        // energy lines through SpikifyReport (which depends on Foundation only).
        .target(name: "SpikifyEvaluation",
                dependencies: ["SpikifyCore", "SpikifyModel", "SpikifySpiking", "SpikifyConversion", "HDF5",
                               "SpikifyReport"]),
        // The converted-model file format and model summaries.
        .target(name: "SpikifyExport",
                dependencies: ["SpikifyCore", "SpikifyModel", "SpikifySpiking", "SpikifyConversion", "HDF5"]),
        // Report rendering (self-contained HTML with inline SVG charts, Markdown) and energy estimates, from the
        // JSON evaluation report alone; Foundation only.
        .target(name: "SpikifyReport"),
        // The umbrella library: `import Spikify` gives the whole public API.
        .target(name: "Spikify",
                dependencies: ["SpikifyCore", "SpikifyModel", "SpikifySpiking", "SpikifyConversion",
                               "SpikifyEvaluation", "SpikifyExport", "SpikifyReport"]),
        // The command-line tool, a thin layer over the library.
        .executableTarget(
            name: "spikify",
            dependencies: ["Spikify", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Release-build throughput figures (tools/bench.sh compares them with PyTorch in the same run).
        .executableTarget(name: "spikify-bench", dependencies: ["Spikify"], path: "Benchmarks/SpikifyBench"),
        // A libFuzzer target over the importer, the converted-model loader and the dataset reader (`make fuzz`).
        .executableTarget(name: "spikify-fuzz", dependencies: ["Spikify"], path: "Fuzz/SpikifyFuzz",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "SpikifyReportTests", dependencies: ["SpikifyReport"]),
        // Fixtures live in Tests/Fixtures and are found relative to the test sources.
        .testTarget(name: "SpikifyTests",
                    dependencies: ["Spikify", "HDF5", "SpikifyCore", "SpikifyModel", "SpikifySpiking",
                                   "SpikifyConversion", "SpikifyEvaluation", "SpikifyExport", "SpikifySIMD",
                                   "SpikifyWorkers"]),
    ],
    swiftLanguageModes: [.v6]
)
