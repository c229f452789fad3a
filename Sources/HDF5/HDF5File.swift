import CHDF5
import Foundation
import HDF5Probe

/// An open HDF5 file. The HDF5 file id is closed by ``close()`` or when the object is
/// released.
///
/// Sendable because HDF5 (the thread-safe build) serialises all calls behind its own
/// global lock and the file id itself never changes. Calls made after ``close()`` fail with
/// an ``HDF5Error`` rather than crash.
public final class HDF5File: @unchecked Sendable {
    /// The path the file was opened or created with.
    public let path: String
    /// Whether the file was opened for writing (``create(_:)``).
    public let isWritable: Bool
    /// The HDF5 file id.
    let id: hid_t
    private let closeLock = NSLock()
    private var closed = false

    private init(id: hid_t, path: String, isWritable: Bool) {
        self.id = id
        self.path = path
        self.isWritable = isWritable
    }

    deinit {
        if !closed {
            HDF5Library.enter()
            H5Fclose(id)
            HDF5Library.leave()
        }
    }

    /// Opens an existing file read-only.
    ///
    /// - Throws: ``HDF5Error/fileNotFound(file:)`` if nothing is at `path`,
    ///   ``HDF5Error/notHDF5(file:)`` if it is not an HDF5 file (or is a directory), and
    ///   ``HDF5Error/cannotOpen(file:reason:)`` if it is not a regular file (a FIFO, a device, a socket),
    ///   cannot be read, or HDF5 cannot open it (e.g. truncated).
    public static func open(_ path: String) throws(HDF5Error) -> HDF5File {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .fileNotFound(file: path) }
        // A FIFO would block HDF5's open forever and a device could be endless: only regular files are read.
        if info.st_mode & S_IFMT == S_IFDIR { throw .notHDF5(file: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .cannotOpen(file: path, reason: "not a regular file (\(FileKind.describe(info.st_mode)))")
        }
        let signature = H5Fis_hdf5(path)
        if signature == 0 { throw .notHDF5(file: path) }
        if signature < 0 {  // e.g. no permission to read it
            throw .cannotOpen(file: path, reason: HDF5Library.errorMessage("cannot read the file"))
        }
        try probe(path, info)
        let id = H5Fopen(path, spk_h5f_acc_rdonly(), spk_h5p_default())
        guard id >= 0 else {
            throw .cannotOpen(file: path, reason: HDF5Library.errorMessage("H5Fopen failed"))
        }
        return HDF5File(id: id, path: path, isWritable: false)
    }

    /// How long the sacrificial walk of a file may take: 5 s, plus 1 s per 20 MB (it reads chunked data).
    static func probeTimeoutMilliseconds(fileSize: Int) -> Int32 {
        Int32(clamping: 5_000 + fileSize / 20_000)
    }

    /// Files this process has walked already, by device, inode, size and change times: nil when safe, else why not.
    private static let probed = ProbedFiles()

    /// Walks the file once with libhdf5 in a child process before this process reads it. libhdf5 1.10 has memory
    /// errors on damaged metadata (out-of-bounds reads of a symbol-table node, frees of unwritten table entries:
    /// docs/reliability.md); a file that crashes or hangs the child is refused here instead of crashing Spikify.
    /// Errors libhdf5 reports in the child are left to this process's own reads, which name what failed.
    private static func probe(_ path: String, _ info: stat) throws(HDF5Error) {
        let key = [UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_size),
                   UInt64(bitPattern: Int64(info.st_mtim.tv_sec)), UInt64(info.st_mtim.tv_nsec),
                   UInt64(bitPattern: Int64(info.st_ctim.tv_sec)), UInt64(info.st_ctim.tv_nsec)]
        if let known = probed.outcome(key) {
            if let refusal = known { throw .cannotOpen(file: path, reason: refusal) }
            return
        }
        let timeout = probeTimeoutMilliseconds(fileSize: Int(info.st_size))
        var detail: Int32 = 0
        let refusal: String?
        switch spk_probe_hdf5_file(path, timeout, &detail) {
        case SPK_PROBE_CRASHED:
            let how = detail > 0 && detail < 65 ? "signal \(detail)" : "exit status \(detail)"
            refusal = "the file is damaged: libhdf5 crashed (\(how)) reading its structure in a separate process"
        case SPK_PROBE_TIMED_OUT:
            refusal = "the file is damaged: libhdf5 did not finish reading its structure within \(timeout / 1000) s"
        case SPK_PROBE_TOO_LARGE:
            refusal = "it holds more than 2^20 objects or groups nested deeper than 64"
        case SPK_PROBE_UNAVAILABLE:
            return  // no child process: nothing is known
        default:
            refusal = nil  // readable, or an error this process's own read will name
        }
        probed.record(key, refusal)
        if let refusal { throw .cannotOpen(file: path, reason: refusal) }
    }

    /// Creates a file for writing, replacing any file at `path`.
    ///
    /// The file is written in the HDF5 1.8 format or newer, so attributes may be larger
    /// than 64 KiB. Prefer ``write(atomically:_:)`` for files other code may read.
    public static func create(_ path: String) throws(HDF5Error) -> HDF5File {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let fapl = H5Pcreate(spk_h5p_file_access())
        defer { if fapl >= 0 { H5Pclose(fapl) } }
        if fapl >= 0 {
            H5Pset_libver_bounds(fapl, spk_h5f_libver_v18(), spk_h5f_libver_latest())
        }
        let id = H5Fcreate(path, spk_h5f_acc_trunc(), spk_h5p_default(),
                           fapl >= 0 ? fapl : spk_h5p_default())
        guard id >= 0 else {
            throw .writeFailed(file: path, path: "/",
                               reason: HDF5Library.errorMessage("cannot create the file"))
        }
        return HDF5File(id: id, path: path, isWritable: true)
    }

    /// Writes a file atomically: `body` fills a new file created beside `path` under a
    /// temporary name, which is then flushed, closed and renamed to `path`.
    ///
    /// If `body` or any step throws, the temporary file is removed and the error rethrown;
    /// nothing new appears at `path`, and a file already there is left unchanged.
    /// `body` should not keep the ``HDF5File`` it is given: it is closed afterwards.
    public static func write(atomically path: String, _ body: (HDF5File) throws -> Void) throws {
        try AtomicReplacement.write(path) { temporary in
            let file = try create(temporary)
            do {
                try body(file)
                try file.close()
            } catch {
                try? file.close()
                throw error
            }
        }
    }

    /// Flushes (when writable) and closes the file. Calling it again does nothing.
    public func close() throws(HDF5Error) {
        closeLock.lock()
        defer { closeLock.unlock() }
        guard !closed else { return }
        closed = true
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        if isWritable, H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 {
            let reason = HDF5Library.errorMessage("H5Fflush failed")
            H5Fclose(id)
            throw .writeFailed(file: path, path: "/", reason: reason)
        }
        if H5Fclose(id) < 0 {
            throw .writeFailed(file: path, path: "/", reason: HDF5Library.errorMessage("H5Fclose failed"))
        }
    }

    /// The root group `/`.
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    /// The dataset at `path` (relative to the root, or absolute). Same as `root.dataset(path)`.
    public func dataset(_ path: String) throws(HDF5Error) -> HDF5Dataset {
        try root.dataset(path)
    }

    /// The group at `path` (relative to the root, or absolute). Same as `root.group(path)`.
    public func group(_ path: String) throws(HDF5Error) -> HDF5Group {
        try root.group(path)
    }
}

/// The outcomes of the files walked so far (``HDF5File/open(_:)``): nil when safe, else the refusal.
private final class ProbedFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [[UInt64]: String?] = [:]

    /// nil when the file was not walked yet; `.some(nil)` when it is safe.
    func outcome(_ key: [UInt64]) -> String?? { lock.withLock { outcomes[key] } }
    func record(_ key: [UInt64], _ refusal: String?) { lock.withLock { outcomes[key] = .some(refusal) } }
}
