// swift-tools-version: 6.0
import PackageDescription

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
        // System libraries found through pkg-config (see docs/ and shared reference swift.md §1).
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // A small Swift wrapper over the HDF5 C API: files, groups, datasets, attributes, typed errors.
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        // The toolkit: tensors and kernels, model import, ANN, conversion, spiking executor, evaluation, export.
        .target(name: "Spikify", dependencies: ["HDF5", "CBLAS"]),
        // The command-line tool, a thin layer over the library.
        .executableTarget(
            name: "spikify",
            dependencies: ["Spikify", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Release-build throughput figures (tools/bench.sh compares them with PyTorch in the same run).
        .executableTarget(name: "spikify-bench", dependencies: ["Spikify"], path: "Benchmarks/SpikifyBench"),
        // Self-contained HTML/Markdown reports with inline SVG charts and the energy estimate (Foundation only).
        .target(name: "SpikifyReport"),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        // Fixtures live in Tests/Fixtures and are found relative to the test sources.
        .testTarget(name: "SpikifyTests", dependencies: ["Spikify", "HDF5"]),
        .testTarget(name: "SpikifyReportTests", dependencies: ["SpikifyReport"]),
    ],
    swiftLanguageModes: [.v6]
)
