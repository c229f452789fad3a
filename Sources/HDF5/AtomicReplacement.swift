import Foundation

/// The one way Spikify writes an output file (HDF5 and JSON alike): the content goes to a temporary file beside
/// the target, which is then renamed over it, so an interrupted run never leaves a half-written output and a file
/// already at the path stays unchanged until the new one is complete.
///
/// Temporary files are named `.<name>.spikify-incomplete-<pid>-<uuid>.tmp`: hidden, and recognisable as the
/// leftovers of a killed run, never as output. While one exists it is registered, so a signal handler can remove
/// it (``removeIncomplete()``, called by the CLI on SIGINT and SIGTERM). An existing output path that is not a
/// regular file (a FIFO, a device such as /dev/null, a directory) is refused rather than replaced.
public enum AtomicReplacement {
    private final class Pending: @unchecked Sendable {
        let lock = NSLock()
        var paths: Set<String> = []
        var interrupted = false
    }
    private static let pending = Pending()

    /// Runs `fill` with a temporary path beside `path`, then renames it to `path`. If `fill` or the rename fails,
    /// the temporary file is removed and the error rethrown (rename failures as ``HDF5Error/writeFailed``).
    public static func write(_ path: String, _ fill: (String) throws -> Void) throws {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw HDF5Error.writeFailed(file: path, path: "/", reason: "it exists and is not a regular file "
                + "(\(FileKind.describe(info.st_mode))); refusing to replace it")
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".spikify-incomplete-"
            + "\(getpid())-\(UUID().uuidString).tmp"
        try pending.lock.withLock {
            guard !pending.interrupted else {
                throw HDF5Error.writeFailed(file: path, path: "/", reason: "the process is being interrupted")
            }
            pending.paths.insert(temporary)
        }
        defer { pending.lock.withLock { _ = pending.paths.remove(temporary) } }
        /// When a signal handler is removing the outputs and about to end the process (its unlink may also have
        /// made this write fail), drop this output and wait for the end instead of reporting an error.
        func stopIfInterrupted() {
            guard pending.lock.withLock({ pending.interrupted }) else { return }
            unlink(temporary)
            pending.lock.withLock { _ = pending.paths.remove(temporary) }
            while true { pause() }
        }
        do {
            try fill(temporary)
            stopIfInterrupted()
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw HDF5Error.writeFailed(file: path, path: "/", reason: "cannot rename the temporary file into place: \(reason)")
            }
        } catch let error as HDF5Error {
            stopIfInterrupted()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error.file == temporary ? error.naming(path) : error
        } catch {
            stopIfInterrupted()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Removes the temporary files of writes in progress and refuses new ones: for a signal handler running on its
    /// own thread (not in signal context), just before it ends the process. Unlinking an open file is safe. A
    /// write in progress may still create its file (HDF5 opens a new file more than once), so the handler waits,
    /// at most two seconds, until every write has seen the interruption and dropped its file, then unlinks again.
    public static func removeIncomplete() {
        let paths = pending.lock.withLock {
            pending.interrupted = true
            return pending.paths
        }
        for path in paths { unlink(path) }
        var waited = 0
        while waited < 400, !pending.lock.withLock({ pending.paths.isEmpty }) {
            usleep(5_000)
            waited += 1
        }
        for path in pending.lock.withLock({ pending.paths }) { unlink(path) }
    }
}

/// Names of file kinds for messages.
enum FileKind {
    static func describe(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }
}
