import Foundation
import SpikifySIMD
import SpikifyWorkers

/// A pointer that may cross into ``Parallel/forChunks(_:minimumPerChunk:_:)`` workers; each writes a disjoint part.
package struct SendablePointer<T>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<T>
    package init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    package init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Work splitting over the machine's cores, on a pool of worker threads that poll for work a while after each
/// job before they sleep (`Sources/SpikifyWorkers`; docs/performance.md, "Waking the workers").
package enum Parallel {
    /// Number of workers used for data-parallel loops, the pool's threads and the caller: one per CPU this process
    /// may use (the active processor count, or fewer where an affinity mask or a cgroup quota allows fewer: Slurm,
    /// `taskset`, container limits).
    package static let workers: Int = {
        let active = max(1, ProcessInfo.processInfo.activeProcessorCount), allowed = spk_workers_cpus_available()
        return spk_workers_start((allowed > 0 ? min(active, allowed) : active) - 1)
    }()

    /// Workers a ``forChunks(_:minimumPerChunk:_:)`` made on this thread would use: 1 inside ``inline(_:)``.
    package static var available: Int { spk_thread_inline() != 0 ? 1 : workers }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, concurrently when worthwhile: chunk `c` of
    /// `n` is `count·c/n ..< count·(c+1)/n` whichever thread runs it. BLAS is held to one thread meanwhile, so the
    /// cores are not oversubscribed.
    package static func forChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        let chunks = spk_thread_inline() != 0 ? 1 : min(workers, count / max(1, minimumPerChunk))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        BLAS.withSingleThread {
            withoutActuallyEscaping(body) { body in
                withUnsafePointer(to: ChunkedJob(count: count, chunks: chunks, body: body)) { job in
                    spk_workers_run(chunks, { context, chunk in
                        context!.assumingMemoryBound(to: ChunkedJob.self).pointee.run(chunk: chunk)
                    }, UnsafeMutableRawPointer(mutating: job))
                }
            }
        }
    }

    /// Runs `body` with every ``forChunks(_:minimumPerChunk:_:)`` it makes on this thread run inline, in one chunk:
    /// for work that is itself one of several parallel parts (the spiking executor's lanes).
    package static func inline<R>(_ body: () throws -> R) rethrows -> R {
        let previous = spk_thread_inline()
        spk_set_thread_inline(1)
        defer { spk_set_thread_inline(previous) }
        return try body()
    }
}

/// One ``Parallel/forChunks(_:minimumPerChunk:_:)`` call as the worker pool sees it.
private struct ChunkedJob {
    let count: Int
    let chunks: Int
    let body: @Sendable (Range<Int>) -> Void

    func run(chunk c: Int) {
        let lo = count * c / chunks, hi = count * (c + 1) / chunks
        if hi > lo { body(lo..<hi) }
    }
}
