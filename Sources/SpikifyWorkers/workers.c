// See include/spikify_workers.h.
//
// A job is published in one 64-bit word, `claims`: the job's number in the high 32 bits, the chunks not yet claimed
// in the low 32. A thread claims chunk `chunks − remaining` by a compare-and-swap that decrements `remaining` while
// the number still matches the job it came for, so a worker that wakes late, after its job ended, can claim nothing of
// the next. The caller writes a job's fields before it publishes the word and rewrites them only after every chunk
// has finished, so a thread that holds a claim reads the fields of its own job.
#include "spikify_workers.h"

#ifdef __linux__
#define _GNU_SOURCE  // sched_getaffinity, CPU_COUNT
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SPK_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define SPK_RELAX() __asm__ __volatile__("yield")
#else
#define SPK_RELAX() ((void)0)
#endif

enum { SPIN_MICROSECONDS = 2000, MAX_WORKERS = 1024, STACK_BYTES = 8 << 20 };

static struct {
    long workers;                 // started threads (the caller is not one of them)
    _Atomic int forked;           // set in a child process after fork(): no workers there
    _Atomic int busy;             // a job holds the pool
    _Atomic uint64_t claims;      // job number << 32 | chunks not yet claimed
    _Atomic uint32_t job;         // the latest job's number: what idle workers watch
    _Atomic long finished;        // chunks of the current job that have returned
    spk_chunk_body body;          // the current job
    void *context;
    long chunks;
    _Atomic long sleepers;        // workers waiting on `wake`
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t started = PTHREAD_ONCE_INIT;
static long requested;
static _Thread_local int inside_chunk;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/// Claims and runs chunks of job `number` until none is left.
static void run_chunks(uint32_t number) {
    uint64_t seen = atomic_load_explicit(&pool.claims, memory_order_acquire);
    for (;;) {
        const uint32_t remaining = (uint32_t)seen;
        if ((uint32_t)(seen >> 32) != number || remaining == 0) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claims, &seen, seen - 1, memory_order_acq_rel,
                                                   memory_order_acquire)) {
            continue;
        }
        inside_chunk = 1;
        pool.body(pool.context, pool.chunks - (long)remaining);
        inside_chunk = 0;
        atomic_fetch_add_explicit(&pool.finished, 1, memory_order_release);
        seen = atomic_load_explicit(&pool.claims, memory_order_acquire);
    }
}

static void *worker(void *unused) {
    (void)unused;
    uint32_t seen = 0;  // a worker that starts after the first job was published still joins it
    for (;;) {
        // Poll, then sleep, until a job after `seen` is published.
        uint32_t number = atomic_load_explicit(&pool.job, memory_order_acquire);
        const double until = seconds() + SPIN_MICROSECONDS * 1e-6;
        for (unsigned polls = 1; number == seen; polls++) {
            SPK_RELAX();
            number = atomic_load_explicit(&pool.job, memory_order_acquire);
            if (number == seen && polls % 256 == 0 && seconds() > until) {
                pthread_mutex_lock(&pool.lock);
                atomic_fetch_add(&pool.sleepers, 1);  // sequentially consistent: pairs with spk_workers_run
                while ((number = atomic_load(&pool.job)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                atomic_fetch_sub(&pool.sleepers, 1);
                pthread_mutex_unlock(&pool.lock);
            }
        }
        seen = number;
        run_chunks(number);
    }
    return 0;
}

static void forget_workers_in_child(void) { atomic_store(&pool.forked, 1); }

static void start_workers(void) {
    pthread_atfork(0, 0, forget_workers_in_child);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, STACK_BYTES);
    const long wanted = requested < 0 ? 0 : requested > MAX_WORKERS ? MAX_WORKERS : requested;
    for (long i = 0; i < wanted; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, worker, 0) != 0) break;  // fewer workers: still correct
        pool.workers++;
    }
    pthread_attr_destroy(&attributes);
}

long spk_workers_start(long threads) {
    requested = threads;
    pthread_once(&started, start_workers);
    return pool.workers + 1;
}

long spk_workers_spin_microseconds(void) { return SPIN_MICROSECONDS; }

#ifdef __linux__
/// A cgroup's CPU quota as whole CPUs, rounded up (0: none found): cgroup v2's `cpu.max` ("max 100000" or
/// "200000 100000"), else v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`, as a container sees its own cgroup.
static long cgroup_cpu_quota(void) {
    long long quota = -1, period = 0;
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &quota, &period) != 2) quota = -1;  // "max …" fails: no quota
        fclose(f);
    } else if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
        if (fscanf(f, "%lld", &quota) != 1) quota = -1;
        fclose(f);
        if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(f, "%lld", &period) != 1) period = 0;
            fclose(f);
        }
    }
    return quota > 0 && period > 0 ? (long)((quota + period - 1) / period) : 0;
}
#endif

long spk_workers_cpus_available(void) {
#ifdef __linux__
    cpu_set_t mask;
    long cpus = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 0;
    const long quota = cgroup_cpu_quota();
    if (quota > 0 && (cpus == 0 || quota < cpus)) cpus = quota;
    return cpus;
#else
    return 0;
#endif
}

static void run_inline(long chunks, spk_chunk_body body, void *context) {
    for (long c = 0; c < chunks; c++) body(context, c);
}

void spk_workers_run(long chunks, spk_chunk_body body, void *context) {
    if (chunks <= 1 || pool.workers == 0 || inside_chunk || chunks > UINT32_MAX || atomic_load(&pool.forked) ||
        atomic_exchange_explicit(&pool.busy, 1, memory_order_acquire)) {
        run_inline(chunks, body, context);
        return;
    }
    pool.body = body;
    pool.context = context;
    pool.chunks = chunks;
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    const uint32_t number = atomic_load_explicit(&pool.job, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.claims, (uint64_t)number << 32 | (uint64_t)chunks, memory_order_release);
    atomic_store(&pool.job, number);  // sequentially consistent: a worker about to sleep sees it, or is counted
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_chunks(number);
    for (unsigned polls = 1; atomic_load_explicit(&pool.finished, memory_order_acquire) < chunks; polls++) {
        if (polls % 1024 == 0) sched_yield();  // a worker may have lost its core
        else SPK_RELAX();
    }
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
}
