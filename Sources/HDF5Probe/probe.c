// The child's walk of spk_probe_hdf5_file. C rather than Swift: after fork() only the calling thread exists, and
// the Swift runtime's locks may be held by threads that are gone; libhdf5, glibc's malloc and _exit are safe here.
#include "hdf5_probe.h"

#include <errno.h>
#include <hdf5.h>
#include <string.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_DEPTH = 64, MAX_OBJECTS = 1 << 20, MAX_READ_BYTES = 1 << 30 };
enum { EXIT_READABLE = 0, EXIT_HDF5_ERROR = 3, EXIT_TOO_LARGE = 4 };

typedef struct {
    long objects;
    int status;
    // Identities of the objects walked, an open-addressing hash set (an object reached twice is walked once).
    uint64_t (*seen)[2];
    unsigned char *used;
    size_t seen_count, seen_capacity;
} walk_state;

int spk_h5o_identity(hid_t loc, const char *name, uint64_t identity[2]) {
    identity[0] = identity[1] = 0;
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    memcpy(identity, &info.token, sizeof info.token < 16 ? sizeof info.token : 16);
#else
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    identity[0] = (uint64_t)info.addr;
#endif
    return 0;
}

static size_t slot_of(const uint64_t id[2], size_t capacity) {
    uint64_t h = (id[0] ^ (id[1] * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h >> 17) & (capacity - 1);
}

/// Whether the object at `name` was walked before; remembers it if not. -1 on an error.
static int seen_before(hid_t loc, const char *name, walk_state *state) {
    uint64_t id[2];
    if (spk_h5o_identity(loc, name, id) < 0) return -1;
    if (2 * (state->seen_count + 1) > state->seen_capacity) {  // grow and rehash at half full
        size_t capacity = state->seen_capacity ? 2 * state->seen_capacity : 1024;
        uint64_t (*seen)[2] = calloc(capacity, sizeof *seen);
        unsigned char *used = calloc(capacity, 1);
        if (!seen || !used) { free(seen); free(used); return -1; }
        for (size_t i = 0; i < state->seen_capacity; i++) {
            if (!state->used[i]) continue;
            size_t j = slot_of(state->seen[i], capacity);
            while (used[j]) j = (j + 1) & (capacity - 1);
            memcpy(seen[j], state->seen[i], sizeof id);
            used[j] = 1;
        }
        free(state->seen);
        free(state->used);
        state->seen = seen;
        state->used = used;
        state->seen_capacity = capacity;
    }
    size_t j = slot_of(id, state->seen_capacity);
    for (; state->used[j]; j = (j + 1) & (state->seen_capacity - 1)) {
        if (state->seen[j][0] == id[0] && state->seen[j][1] == id[1]) return 1;
    }
    memcpy(state->seen[j], id, sizeof id);
    state->used[j] = 1;
    state->seen_count++;
    return 0;
}

/// Reads `count` elements of file type `ftype` from an attribute or dataset into memory and frees them.
static int read_values(hid_t object, hid_t ftype, hid_t space, int is_attribute) {
    H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING) return 0;  // Spikify refuses other classes
    hssize_t count = H5Sget_simple_extent_npoints(space);
    if (count < 0) return -1;
    hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    if (mtype < 0) return -1;
    size_t size = H5Tget_size(mtype);
    int status = 0;
    if (size == 0 || (double)count * (double)size > MAX_READ_BYTES) {
        status = 1;
    } else if (count > 0) {
        void *buffer = calloc((size_t)count, size);
        if (!buffer) { H5Tclose(mtype); return 1; }
        herr_t r = is_attribute ? H5Aread(object, mtype, buffer)
                                : H5Dread(object, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
        if (r < 0) status = -1;
        else if (H5Tis_variable_str(mtype) > 0) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buffer);
        free(buffer);
    }
    H5Tclose(mtype);
    return status;
}

static herr_t visit_attribute(hid_t object, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    walk_state *state = data;
    if (++state->objects > MAX_OBJECTS) { state->status = EXIT_TOO_LARGE; return -1; }
    hid_t a = H5Aopen(object, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    int r = (t < 0 || s < 0) ? -1 : read_values(a, t, s, 1);
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    H5Aclose(a);
    return r < 0 ? -1 : 0;
}

static int walk_attributes(hid_t object, walk_state *state) {
    hsize_t index = 0;
    return H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_NATIVE, &index, visit_attribute, state) < 0 ? -1 : 0;
}

static int walk_dataset(hid_t d, walk_state *state) {
    if (walk_attributes(d, state) < 0) return -1;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d), plist = H5Dget_create_plist(d);
    int r = (t < 0 || s < 0 || plist < 0) ? -1 : 0;
    if (r == 0 && H5Sget_simple_extent_ndims(s) < 0) r = -1;
    // Contiguous data is one read at an address libhdf5 checks; chunked data goes through an index (a B-tree).
    if (r == 0 && H5Pget_layout(plist) == H5D_CHUNKED) r = read_values(d, t, s, 0) < 0 ? -1 : 0;
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (plist >= 0) H5Pclose(plist);
    return r;
}

static int walk_group(hid_t g, int depth, walk_state *state) {
    if (depth > MAX_DEPTH) { state->status = EXIT_TOO_LARGE; return -1; }
    if (walk_attributes(g, state) < 0) return -1;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) return -1;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        if (++state->objects > MAX_OBJECTS) { state->status = EXIT_TOO_LARGE; return -1; }
        ssize_t length = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_NATIVE, i, NULL, 0, H5P_DEFAULT);
        if (length < 0) return -1;
        char *name = calloc((size_t)length + 1, 1);
        if (!name) return -1;
        int r = -1;
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_NATIVE, i, name, (size_t)length + 1, H5P_DEFAULT)
            == length) {
            H5L_info_t link;
            if (H5Lget_info(g, name, &link, H5P_DEFAULT) >= 0) {
                if (link.type != H5L_TYPE_HARD) {
                    r = 0;  // soft and external links are not followed by Spikify either
                } else {
                    int seen = seen_before(g, name, state);
                    hid_t o = seen == 0 ? H5Oopen(g, name, H5P_DEFAULT) : -1;
                    if (seen == 1) r = 0;  // a second link to an object walked already (or a cycle)
                    if (o >= 0) {
                        H5I_type_t kind = H5Iget_type(o);
                        r = kind == H5I_GROUP ? walk_group(o, depth + 1, state)
                          : kind == H5I_DATASET ? walk_dataset(o, state) : 0;
                        H5Oclose(o);
                    }
                }
            }
        }
        free(name);
        if (r < 0) return -1;
    }
    return 0;
}

// A sanitizer's death callback, which libFuzzer sets to write the current input as a crash artifact: in the child
// the crash is the parent's finding to handle, not the fuzzer's (weak: absent outside sanitizer builds).
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void child_walk(const char *path, pid_t parent, int timeout_ms) {
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
    // Never outlive the walk's purpose: die with the parent (killed while it waits), and on our own at the limit.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(EXIT_HDF5_ERROR);
    signal(SIGALRM, SIG_DFL);
    alarm((unsigned)(timeout_ms / 1000 + 2));
    // Die quietly: no crash reporter inherited from the parent (Swift's backtracer), no core file; and die on
    // SIGINT/SIGTERM, whose handlers in the parent hand them to a thread the child does not have.
    const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP, SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    // glibc: fill fresh and freed heap memory with a pattern, so that libhdf5 code which frees or follows memory
    // it never initialised crashes here rather than, silently, later in the parent.
    mallopt(M_PERTURB, 0xA5);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) _exit(EXIT_HDF5_ERROR);
    walk_state state = {0, EXIT_READABLE, NULL, NULL, 0, 0};
    hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
    int r = root < 0 ? -1 : walk_group(root, 0, &state);
    _exit(r == 0 ? EXIT_READABLE : state.status == EXIT_TOO_LARGE ? EXIT_TOO_LARGE : EXIT_HDF5_ERROR);
}

spk_probe_outcome spk_probe_hdf5_file(const char *path, int timeout_ms, int *detail) {
    *detail = 0;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) { *detail = errno; return SPK_PROBE_UNAVAILABLE; }
    if (pid == 0) child_walk(path, parent, timeout_ms);
    long waited_us = 0, pause_us = 200;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) { *detail = errno; return SPK_PROBE_UNAVAILABLE; }
        if (waited_us >= (long)timeout_ms * 1000) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            return SPK_PROBE_TIMED_OUT;
        }
        struct timespec pause = {0, pause_us * 1000};
        nanosleep(&pause, NULL);
        waited_us += pause_us;
        if (pause_us < 20000) pause_us *= 2;
    }
    if (WIFSIGNALED(status)) { *detail = WTERMSIG(status); return SPK_PROBE_CRASHED; }
    switch (WEXITSTATUS(status)) {
    case EXIT_READABLE: return SPK_PROBE_READABLE;
    case EXIT_HDF5_ERROR: return SPK_PROBE_HDF5_ERROR;
    case EXIT_TOO_LARGE: return SPK_PROBE_TOO_LARGE;
    default: *detail = WEXITSTATUS(status); return SPK_PROBE_CRASHED;  // e.g. AddressSanitizer's exit status
    }
}
