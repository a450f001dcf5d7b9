/*
 * vfs_shim: a SQLite VFS for fault injection, registered as the default so
 * that every connection the project opens goes through it.
 *
 * It forwards everything to the VFS that was the default before, and can:
 *   - fail every xWrite after the first `n` (with SQLITE_FULL, a full disk)
 *     or every xSync after the first `n` (with SQLITE_IOERR_FSYNC);
 *   - open files read-only whatever the caller asked (chmod 0444 for a
 *     process that, running as root, would otherwise write anyway).
 * Counters cover every file opened through the shim (database, journal,
 * WAL). Not thread safe: one test at a time.
 */
#ifndef TESTS_FAULTS_VFS_SHIM_H
#define TESTS_FAULTS_VFS_SHIM_H

#include <stdint.h>

enum { SHIM_FAIL_NONE = 0, SHIM_FAIL_WRITE, SHIM_FAIL_SYNC };

/* Registers the shim as the default VFS (once; later calls do nothing).
 * 0 or a SQLite error code. */
int vfs_shim_install(void);
/* Arms a failure: calls of the kind beyond the first n fail (n = 0: the
 * first one already). SHIM_FAIL_NONE disarms. Resets the counters. */
void vfs_shim_fail(int kind, int64_t n);
/* Opens every file read-only from now on (1) or as asked (0). */
void vfs_shim_readonly(int on);
/* Calls seen since the last vfs_shim_fail, and how many were failed. */
int64_t vfs_shim_calls(void);
int64_t vfs_shim_failed(void);

#endif
