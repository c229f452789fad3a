import HDF5
import SpikifyConversion
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The output of `spikify predict`: dataset `logits`, float32 `[N, classes]`.
public enum LogitsFile {
    /// Writes atomically (temporary file, then rename).
    public static func write(_ logits: Tensor, to path: String) throws {
        try hdf5 {
            try HDF5File.write(atomically: path) { file in
                try file.root.write("logits", floats: logits.scalars, shape: logits.shape)
            }
        }
    }
}
