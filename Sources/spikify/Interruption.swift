import Foundation
import Spikify

/// The write end of the pipe the signal handler reports to (set once, before the handler is installed).
nonisolated(unsafe) private var interruptionPipe: Int32 = -1

/// SIGINT and SIGTERM: remove the temporary file of any output being written (so an interrupted run leaves neither
/// a half output nor a stray temporary), then die of the same signal, so the shell sees the conventional status
/// (130, 143). SIGXFSZ (file size limit) is ignored, so a write past the limit fails with an error that names the
/// file (and its temporary is removed) instead of killing the process.
///
/// The handler only writes the signal's number to a pipe (async-signal-safe, whichever thread it interrupts:
/// OpenBLAS starts its threads before `main`, so masking signals cannot route them to one thread); a thread waiting
/// on the pipe does the cleanup outside signal context, where taking a lock and unlinking files is safe.
enum Interruption {
    static func install() {
        signal(SIGXFSZ, SIG_IGN)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        interruptionPipe = ends[1]
        let readEnd = ends[0]
        let waiter = Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            let received = Int32(byte)
            AtomicFile.removeIncompleteOutputs()
            signal(received, SIG_DFL)
            raise(received)
        }
        waiter.start()
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(interruptionPipe, &byte, 1)
            }
        }
    }
}
