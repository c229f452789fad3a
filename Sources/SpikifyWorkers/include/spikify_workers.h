// A fork-join pool of worker threads that poll for the next job a while before they sleep, under
// `Parallel.forChunks` (docs/performance.md, "Waking the workers").
//
// A thread asleep in the kernel can take tens of microseconds to wake (processor power states; on a virtual machine
// an exit to the hypervisor: 70–130 µs on the host of docs/performance.md), and the float ANN makes about 150
// parallel calls per image at batch 1, most of them shorter than a millisecond. Workers that poll after each job
// start the next at once; after `spk_workers_spin_microseconds()` without work they sleep on a condition variable.
#ifndef SPIKIFY_WORKERS_H
#define SPIKIFY_WORKERS_H

/// One chunk of a job: `body(context, chunk)`.
typedef void (*spk_chunk_body)(void *context, long chunk);

/// The CPUs this process may run on, where the system says (Linux: the scheduler's affinity mask, which Slurm and
/// `taskset` set, capped by a cgroup CPU quota rounded up, which container limits set); 0 where it does not.
long spk_workers_cpus_available(void);

/// Starts `threads` workers (once per process; later calls return the number started first). Returns the number of
/// threads that run a job's chunks: the workers plus the caller.
long spk_workers_start(long threads);

/// Runs `body(context, c)` for every `c` in `0 ..< chunks` on the calling thread and the workers, and returns when
/// every chunk has returned. Each chunk runs exactly once, on some thread, in no fixed order. Every chunk runs on
/// the calling thread, in order, when there are no workers, when another thread's job holds the pool (or this
/// thread's: a chunk that makes a job of its own), or in a child process after `fork()`.
void spk_workers_run(long chunks, spk_chunk_body body, void *context);

/// How long (µs) an idle worker polls for the next job before it sleeps.
long spk_workers_spin_microseconds(void);

#endif
