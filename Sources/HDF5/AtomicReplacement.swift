import Foundation

/// The one way Spikify writes an output file (HDF5 and JSON alike): the content goes to a temporary file beside
/// the target, which is then renamed over it, so an interrupted run never leaves a half-written output and a file
/// already at the path stays unchanged until the new one is complete.
public enum AtomicReplacement {
    /// Runs `fill` with a temporary path beside `path`, then renames it to `path`. If `fill` or the rename fails,
    /// the temporary file is removed and the error rethrown (rename failures as ``HDF5Error/writeFailed``).
    public static func write(_ path: String, _ fill: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + "."
            + UUID().uuidString + ".tmp"
        do {
            try fill(temporary)
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw HDF5Error.writeFailed(file: path, path: "/", reason: "cannot rename the temporary file into place: \(reason)")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}
