import ArgumentParser
import Foundation
import Spikify

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a ViT (float or quantized) into a spiking network and write it as a converted-model file.",
        discussion: """
            With --calib, quantizer step sizes are calibrated on those images (training-free); without it, they come \
            from the checkpoint (a SpikeZIP-TF QANN). The output format is described in docs/converted-format.md.
            """)

    @Option(help: "Model file (HDF5 ViT checkpoint).")
    var model: String

    @Option(help: "Output file (HDF5); written atomically.")
    var out: String

    @OptionGroup var method: MethodArgument
    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var overrides: ModelOverrides

    @Option(name: .customLong("batch-size"), help: "Images per batch during calibration.")
    var batchSize = 32

    func run() throws {
        let converted = try conversion.convert(modelPath: model, overrides: overrides, batchSize: batchSize,
                                               method: method.method?.rawValue ?? "spikezip")
        try ConvertedModelFile.write(converted, to: out)
        let neurons = converted.graph.neuronSites.reduce(0) { $0 + $1.neurons }
        print("wrote \(out): \(converted.method), \(converted.levels.map { "\($0) levels, " } ?? "")\(converted.graph.nodes.count) operators, "
            + "\(converted.graph.neuronSites.count) neuron sites (\(neurons) neurons per image)")
    }
}
