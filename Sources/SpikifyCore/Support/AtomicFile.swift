import Foundation
import HDF5

/// Writes data files (JSON reports) through ``AtomicReplacement``, the same temporary-file-and-rename path as the
/// HDF5 outputs, with errors that name the file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        do {
            try AtomicReplacement.write(path) { temporary in try data.write(to: URL(fileURLWithPath: temporary)) }
        } catch let error as HDF5Error {
            throw SpikifyError.io(error)
        } catch {
            throw SpikifyError.invalidArgument("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Removes the temporary files of outputs being written (HDF5 or JSON): what the CLI's SIGINT/SIGTERM handler
    /// calls before the process dies.
    public static func removeIncompleteOutputs() { AtomicReplacement.removeIncomplete() }
}
