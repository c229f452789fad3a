import Foundation

/// A one-line progress bar on standard error (only when it is a terminal, or when forced).
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private var last = -1

    init(_ label: String) {
        self.label = label
        enabled = isatty(STDERR_FILENO) != 0 || ProcessInfo.processInfo.environment["SPIKIFY_PROGRESS"] == "1"
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != last else { return }
        last = percent
        let width = 30, filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Writes a line to standard error.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
