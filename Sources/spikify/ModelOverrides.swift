import ArgumentParser
import Spikify

/// Flags that override the configuration a model file declares or implies.
struct ModelOverrides: ParsableArguments {
    @Option(name: .customLong("num-heads"), help: "Attention heads (when the file has no 'num_heads' attribute).")
    var numHeads: Int?

    @Option(name: .customLong("eps"), help: "LayerNorm epsilon (default: the file's 'layer_norm_eps', else 1e-6 for timm, 1e-12 for Hugging Face).")
    var layerNormEps: Float?

    @Option(name: .customLong("act"), help: "MLP activation: gelu or relu (default: the file's 'act'/'hidden_act', else gelu).")
    var activation: Activation?

    @Option(name: .customLong("global-pool"), help: "Pooling: token or avg (default: avg when the file has fc_norm, else token).")
    var globalPool: GlobalPool?

    @Option(name: .customLong("mean"), parsing: .upToNextOption, help: "Per-channel mean for uint8 images (default: the file's 'mean', else 0.5).")
    var mean: [Float] = []

    @Option(name: .customLong("std"), parsing: .upToNextOption, help: "Per-channel std for uint8 images (default: the file's 'std', else 0.5).")
    var std: [Float] = []

    var importOptions: ImportOptions {
        ImportOptions(
            numHeads: numHeads, layerNormEps: layerNormEps, activation: activation, globalPool: globalPool,
            mean: mean.isEmpty ? nil : mean, std: std.isEmpty ? nil : std)
    }
}

extension Activation: ExpressibleByArgument {}
extension GlobalPool: ExpressibleByArgument {}
