import Dispatch
import Foundation
import SpikifyCore
import SpikifyWorkers
import XCTest

/// The worker pool under `Parallel.forChunks` (Sources/SpikifyWorkers): every chunk runs once, nested and concurrent
/// jobs finish, sleeping workers wake, and the chunks of a job run on more than one thread.
final class ParallelTests: XCTestCase {
    /// Each index of `0..<count` is visited exactly once, for counts around the worker count and far above it.
    func testEveryIndexIsVisitedOnce() {
        for count in [0, 1, 2, 3, 5, 64, 1000, 4097] {
            for minimum in [1, 7, 64] {
                let visits = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, count))
                defer { visits.deallocate() }
                visits.initialize(repeating: 0)
                let base = SendablePointer(visits.baseAddress!)
                Parallel.forChunks(count, minimumPerChunk: minimum) { range in
                    for i in range { base.base[i] += 1 }
                }
                XCTAssertEqual(visits.prefix(count).filter { $0 != 1 }.count, 0, "count \(count), min \(minimum)")
            }
        }
    }

    /// A job of more chunks than threads (the C interface directly): each chunk number runs once.
    func testMoreChunksThanThreadsRunOnceEach() {
        let chunks = 1001
        let visits = UnsafeMutableBufferPointer<Int32>.allocate(capacity: chunks)
        defer { visits.deallocate() }
        for _ in 0..<20 {
            visits.initialize(repeating: 0)
            spk_workers_run(chunks, { context, chunk in
                context!.assumingMemoryBound(to: Int32.self)[chunk] += 1
            }, visits.baseAddress!)
            XCTAssertEqual(visits.filter { $0 != 1 }.count, 0)
        }
    }

    /// A chunk that splits its own work runs that work inline, and the outer job still covers everything.
    func testNestedJobsFinish() {
        let rows = 40, width = 50
        let cells = UnsafeMutableBufferPointer<Int32>.allocate(capacity: rows * width)
        defer { cells.deallocate() }
        cells.initialize(repeating: 0)
        let base = SendablePointer(cells.baseAddress!)
        Parallel.forChunks(rows) { outer in
            for r in outer {
                Parallel.forChunks(width) { inner in
                    for c in inner { base.base[r * width + c] += 1 }
                }
            }
        }
        XCTAssertEqual(cells.filter { $0 != 1 }.count, 0)
    }

    /// Jobs made by several threads at once all finish with their own results (one holds the pool, the others run
    /// inline).
    func testJobsFromSeveralThreadsAtOnce() {
        let callers = 4, count = 10_000
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: callers)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0)
        let out = SendablePointer(sums.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for _ in 0..<50 {
                let parts = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
                let base = SendablePointer(parts.baseAddress!)
                Parallel.forChunks(count, minimumPerChunk: 100) { range in
                    for i in range { base.base[i] = i * (caller + 1) }
                }
                out.base[caller] += parts.reduce(0, +)
                parts.deallocate()
            }
        }
        for caller in 0..<callers {
            XCTAssertEqual(sums[caller], 50 * (caller + 1) * count * (count - 1) / 2)
        }
    }

    #if os(Linux)
    /// The CPUs the pool sizes itself by follow the affinity mask (what Slurm and `taskset` set): all of this
    /// thread's CPUs, then its first CPU alone.
    func testCPUsAvailableFollowTheAffinityMask() throws {
        // glibc's sched_{get,set}affinity (declared only under _GNU_SOURCE, so not imported into Swift)
        typealias Affinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
        let get = unsafeBitCast(try XCTUnwrap(dlsym(nil, "sched_getaffinity")), to: Affinity.self)
        let set = unsafeBitCast(try XCTUnwrap(dlsym(nil, "sched_setaffinity")), to: Affinity.self)
        var saved = [UInt8](repeating: 0, count: 128)  // cpu_set_t: 1024 bits
        XCTAssertEqual(get(0, saved.count, &saved), 0)
        defer { _ = set(0, saved.count, &saved) }
        let all = spk_workers_cpus_available()
        XCTAssertGreaterThanOrEqual(all, 1)
        XCTAssertLessThanOrEqual(all, saved.reduce(0) { $0 + $1.nonzeroBitCount })
        let first = try XCTUnwrap((0..<saved.count * 8).first { (bit: Int) -> Bool in
            (saved[bit / 8] >> UInt8(bit % 8)) & 1 == 1
        })
        var one = [UInt8](repeating: 0, count: saved.count)
        one[first / 8] = UInt8(1) << UInt8(first % 8)
        XCTAssertEqual(set(0, one.count, &one), 0)
        XCTAssertEqual(spk_workers_cpus_available(), 1)
    }
    #endif

    /// Workers that slept (idle longer than they poll) wake for the next job, and on a machine of two or more cores
    /// a job's chunks run on more than one thread.
    func testSleepingWorkersWakeAndShareTheWork() {
        let spin = Double(spk_workers_spin_microseconds()) * 1e-6
        var sawAnotherThread = false
        for round in 0..<6 {
            if round % 2 == 1 { Thread.sleep(forTimeInterval: 3 * spin) }
            let threads = UnsafeMutableBufferPointer<pthread_t>.allocate(capacity: 2)
            defer { threads.deallocate() }
            let base = SendablePointer(threads.baseAddress!)
            Parallel.forChunks(2) { range in
                base.base[range.lowerBound] = pthread_self()
                let until = Date().addingTimeInterval(0.005)  // long enough for a waking worker to claim a chunk
                while Date() < until {}
            }
            if pthread_equal(threads[0], threads[1]) == 0 { sawAnotherThread = true }
        }
        if Parallel.workers >= 2 { XCTAssertTrue(sawAnotherThread, "every chunk ran on the calling thread") }
    }
}
