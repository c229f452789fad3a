import Foundation
import Spikify

/// SIGINT and SIGTERM: remove the temporary file of any output being written (so an interrupted run leaves neither
/// a half output nor a stray temporary), then die of the same signal, so the shell sees the conventional status
/// (130, 143). SIGXFSZ (file size limit) is ignored, so a write past the limit fails with an error that names the
/// file (and its temporary is removed) instead of killing the process.
///
/// The two signals are blocked in every thread (the mask is set before any other thread starts and is inherited)
/// and taken by one thread waiting in `sigwait`, so the handler runs at once even while every worker is busy,
/// and outside signal context, where taking a lock and unlinking files is safe.
enum Interruption {
    static func install() {
        signal(SIGXFSZ, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let waited = set
        let waiter = Thread {
            var signals = waited, received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { return }
            AtomicFile.removeIncompleteOutputs()
            signal(received, SIG_DFL)
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, received)
            pthread_sigmask(SIG_UNBLOCK, &only, nil)
            raise(received)
        }
        waiter.start()
    }
}
