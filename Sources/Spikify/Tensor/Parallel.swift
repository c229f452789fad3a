import Dispatch
import Foundation

/// A pointer that may cross into `concurrentPerform` workers; each worker writes a disjoint part.
public struct SendablePointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Work splitting over the machine's cores.
public enum Parallel {
    /// Number of workers used for data-parallel loops (the active processor count).
    public static let workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, concurrently when worthwhile.
    /// BLAS is held to one thread meanwhile, so the cores are not oversubscribed.
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        let chunks = min(workers, count / max(1, minimumPerChunk))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        BLAS.withSingleThread {
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if hi > lo { body(lo..<hi) }
            }
        }
    }
}
