// The umbrella module: one `import Spikify` brings the library's public API (docs/library.md).
@_exported import SpikifyConversion
@_exported import SpikifyCore
@_exported import SpikifyEvaluation
@_exported import SpikifyExport
@_exported import SpikifyModel
@_exported import SpikifySpiking
@_exported import SpikifyReport
