import ArgumentParser
import Foundation
import Spikify

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the configuration inferred from a model file and its parameter count.",
        discussion: "Also describes converted models written by 'spikify convert' (method, levels, operators, neuron sites).")

    @Argument(help: "Model file (HDF5 checkpoint or converted model).")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var overrides: ModelOverrides

    func run() throws {
        let summary: ModelSummary
        if ConvertedModelFile.isConverted(model) {
            summary = ModelSummary(converted: try ConvertedModelFile.read(model))
        } else {
            let (m, layout) = try ViTImporter.loadWithLayout(model, options: overrides.importOptions)
            summary = ModelSummary(model: m, layout: layout)
        }
        print(json ? summary.json : summary.text)
    }
}
