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

    @Option(help: "sta: the number of timesteps T the neuron thresholds are calibrated for (default 32); evaluating at another T prints a warning.")
    var timesteps: Int?

    func validate() throws {
        if let timesteps, !(1...(1 << 20)).contains(timesteps) { throw ValidationError("--timesteps must be 1 … \(1 << 20)") }
        if timesteps != nil && method.method?.rawValue != "sta" { throw ValidationError("convert --timesteps needs --method sta") }
        if let bursts = try conversion.bursts(), bursts.count != 1 {
            throw ValidationError("convert --burst takes one value (a list is for eval), got '\(conversion.burst ?? "")'")
        }
    }

    func run() throws {
        let burst = try conversion.bursts()?.first ?? 1
        let converted = try conversion.convert(modelPath: model, overrides: overrides, batchSize: batchSize,
                                               method: method.method?.rawValue ?? "spikezip", burst: burst,
                                               timesteps: timesteps)
        try ConvertedModelFile.write(converted, to: out)
        let neurons = converted.graph.neuronSites.reduce(0) { $0 + $1.neurons }
        print("wrote \(out): \(converted.method), \(converted.levels.map { "\($0) levels, " } ?? "")"
            + "\(converted.burst > 1 ? "burst \(converted.burst), " : "")\(converted.graph.nodes.count) operators, "
            + "\(converted.graph.neuronSites.count) neuron sites (\(neurons) neurons per image)")
    }
}
