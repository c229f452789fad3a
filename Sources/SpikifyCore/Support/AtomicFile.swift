import Foundation

/// Writes files through a temporary file in the same folder and a rename, so an interrupted run leaves no half file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try data.write(to: temp)
            if rename(temp.path, url.path) != 0 {
                throw SpikifyError.invalidArgument("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        } catch let e as SpikifyError {
            try? FileManager.default.removeItem(at: temp)
            throw e
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw SpikifyError.invalidArgument("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
