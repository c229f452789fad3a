// A sacrificial read of an untrusted HDF5 file in a child process (docs/reliability.md, "libhdf5 on damaged files").
#ifndef SPIKIFY_HDF5_PROBE_H
#define SPIKIFY_HDF5_PROBE_H

#include <hdf5.h>
#include <stdint.h>

/// What the child process's walk of a file came to.
typedef enum {
    /// libhdf5 walked every group, attribute and dataset header (and chunked data) and returned normally.
    SPK_PROBE_READABLE = 0,
    /// libhdf5 returned an error somewhere: the caller's own read will report it precisely.
    SPK_PROBE_HDF5_ERROR = 1,
    /// The file holds more objects than the walk visits (2^20), or nests deeper than 64 groups.
    SPK_PROBE_TOO_LARGE = 2,
    /// The child died: `detail` is the signal, or the exit status of a sanitizer's report.
    SPK_PROBE_CRASHED = 3,
    /// The walk did not finish within the time limit (the child was killed).
    SPK_PROBE_TIMED_OUT = 4,
    /// No child process could be started (`detail` is errno); nothing is known about the file.
    SPK_PROBE_UNAVAILABLE = 5,
} spk_probe_outcome;

/// Walks the file at `path` with libhdf5 in a forked child process, listing members and attributes in native
/// order, reading every attribute and dataset header and the data of chunked datasets, exactly the kinds of calls
/// Spikify makes. A crash or hang of libhdf5 on a damaged file then happens in the child. `timeout_ms` bounds the
/// walk. The caller must hold no lock another thread of the child would need (the child runs C code only).
spk_probe_outcome spk_probe_hdf5_file(const char *path, int timeout_ms, int *detail);

/// A file-unique identity of the object at `name` (relative to `loc`): its header address (HDF5 1.10), or the bytes
/// of its token (1.12 on). Two hard links to one group give the same identity, so walks can skip cycles.
/// Returns a negative value when libhdf5 cannot tell.
int spk_h5o_identity(hid_t loc, const char *name, uint64_t identity[2]);

#endif
