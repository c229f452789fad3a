import ArgumentParser
import Foundation
import Spikify

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the configuration inferred from a model file and its parameter count.")

    @Argument(help: "Model file (HDF5).")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var overrides: ModelOverrides

    func run() throws {
        let (m, layout) = try ViTImporter.loadWithLayout(model, options: overrides.importOptions)
        let summary = ModelSummary(model: m, layout: layout)
        print(json ? summary.json : summary.text)
    }
}
