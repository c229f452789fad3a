import ArgumentParser
import Spikify

@main
struct SpikifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikify",
        abstract: "Convert pretrained Vision Transformers into spiking neural networks and measure how faithful they are.",
        discussion: """
            Models are HDF5 files of ViT weights (timm, Hugging Face or SpikeZIP-TF keys, flat or nested, or a Keras 3 keras_hub ViT .weights.h5); datasets \
            are HDF5 files with 'images' (uint8 [N,H,W,C] or float32 [N,C,H,W]) and optional 'labels'. See README.md.
            """,
        version: SpikifyVersion.string,
        subcommands: [Inspect.self, Predict.self, Convert.self, Eval.self, Merge.self, Report.self, Compare.self])

    static func main() {
        Interruption.install()
        main(nil)
    }
}
