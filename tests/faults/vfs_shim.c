/*
 * vfs_shim: see vfs_shim.h. A shim file is the shim's header followed by the
 * real VFS's file object (szOsFile of the real VFS), the layout SQLite's
 * own test VFSes use; every method forwards to the real file's methods.
 */
#include "tests/faults/vfs_shim.h"

#include <sqlite3.h>
#include <string.h>

typedef struct {
  sqlite3_file base;   /* methods: shim_io */
  sqlite3_file *real;  /* the real VFS's file, right after this struct */
} shim_file;

static sqlite3_vfs shim_vfs;
static sqlite3_vfs *real_vfs;
static int fail_kind;       /* SHIM_FAIL_* */
static int64_t fail_after;  /* calls allowed before failures start */
static int64_t n_calls, n_failed;
static int force_ro;

#define REAL(f) (((shim_file *)(f))->real)

static int shim_close(sqlite3_file *f) {
  int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
  return rc;
}
static int shim_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  if (fail_kind == SHIM_FAIL_WRITE && n_calls++ >= fail_after) {
    n_failed++;
    return SQLITE_FULL;
  }
  return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 size) {
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int shim_sync(sqlite3_file *f, int flags) {
  if (fail_kind == SHIM_FAIL_SYNC && n_calls++ >= fail_after) {
    n_failed++;
    return SQLITE_IOERR_FSYNC;
  }
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int shim_file_size(sqlite3_file *f, sqlite3_int64 *size) {
  return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int shim_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int shim_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int shim_check_reserved(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int shim_file_control(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int shim_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int shim_device_chars(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shim_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int shim_shm_unmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  /* No memory-mapped reads: writes must all pass through xWrite. */
  (void)f, (void)off, (void)n;
  *pp = NULL;
  return SQLITE_OK;
}
static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  (void)f, (void)off, (void)p;
  return SQLITE_OK;
}

static const sqlite3_io_methods shim_io_v3 = {
  3, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size,
  shim_lock, shim_unlock, shim_check_reserved, shim_file_control, shim_sector_size,
  shim_device_chars, shim_shm_map, shim_shm_lock, shim_shm_barrier, shim_shm_unmap,
  shim_fetch, shim_unfetch,
};
static const sqlite3_io_methods shim_io_v1 = {
  1, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size,
  shim_lock, shim_unlock, shim_check_reserved, shim_file_control, shim_sector_size,
  shim_device_chars, NULL, NULL, NULL, NULL, NULL, NULL,
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                     int *out_flags) {
  (void)vfs;
  shim_file *sf = (shim_file *)f;
  sf->real = (sqlite3_file *)(sf + 1);
  memset(sf->real, 0, (size_t)real_vfs->szOsFile);
  if (force_ro && (flags & SQLITE_OPEN_READWRITE)) {
    flags &= ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_READONLY;
  }
  int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
  if (rc != SQLITE_OK || sf->real->pMethods == NULL) {
    f->pMethods = NULL;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->pMethods = sf->real->pMethods->iVersion >= 3 ? &shim_io_v3 : &shim_io_v1;
  return SQLITE_OK;
}
static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
  (void)vfs;
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  int rc = real_vfs->xAccess(real_vfs, name, flags, out);
  if (rc == SQLITE_OK && force_ro && flags == SQLITE_ACCESS_READWRITE) *out = 0;
  return rc;
}
static int shim_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *shim_dl_open(sqlite3_vfs *vfs, const char *name) {
  (void)vfs;
  return real_vfs->xDlOpen(real_vfs, name);
}
static void shim_dl_error(sqlite3_vfs *vfs, int n, char *msg) {
  (void)vfs;
  real_vfs->xDlError(real_vfs, n, msg);
}
static void (*shim_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return real_vfs->xDlSym(real_vfs, h, sym);
}
static void shim_dl_close(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  real_vfs->xDlClose(real_vfs, h);
}
static int shim_randomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return real_vfs->xRandomness(real_vfs, n, out);
}
static int shim_sleep(sqlite3_vfs *vfs, int us) {
  (void)vfs;
  return real_vfs->xSleep(real_vfs, us);
}
static int shim_current_time(sqlite3_vfs *vfs, double *t) {
  (void)vfs;
  return real_vfs->xCurrentTime(real_vfs, t);
}
static int shim_last_error(sqlite3_vfs *vfs, int n, char *msg) {
  (void)vfs;
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, msg) : 0;
}
static int shim_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t) {
  (void)vfs;
  return real_vfs->xCurrentTimeInt64(real_vfs, t);
}

int vfs_shim_install(void) {
  if (real_vfs != NULL) return SQLITE_OK;
  int rc = sqlite3_initialize();
  if (rc != SQLITE_OK) return rc;
  sqlite3_vfs *r = sqlite3_vfs_find(NULL);
  if (r == NULL) return SQLITE_ERROR;
  real_vfs = r;
  memset(&shim_vfs, 0, sizeof shim_vfs);
  shim_vfs.iVersion = 2;
  shim_vfs.szOsFile = (int)sizeof(shim_file) + r->szOsFile;
  shim_vfs.mxPathname = r->mxPathname;
  shim_vfs.zName = "ridesim-fault-shim";
  shim_vfs.xOpen = shim_open;
  shim_vfs.xDelete = shim_delete;
  shim_vfs.xAccess = shim_access;
  shim_vfs.xFullPathname = shim_full_pathname;
  shim_vfs.xDlOpen = shim_dl_open;
  shim_vfs.xDlError = shim_dl_error;
  shim_vfs.xDlSym = shim_dl_sym;
  shim_vfs.xDlClose = shim_dl_close;
  shim_vfs.xRandomness = shim_randomness;
  shim_vfs.xSleep = shim_sleep;
  shim_vfs.xCurrentTime = shim_current_time;
  shim_vfs.xGetLastError = shim_last_error;
  shim_vfs.xCurrentTimeInt64 = shim_current_time64;
  return sqlite3_vfs_register(&shim_vfs, 1);
}

void vfs_shim_fail(int kind, int64_t n) {
  fail_kind = kind;
  fail_after = n;
  n_calls = 0;
  n_failed = 0;
}

void vfs_shim_readonly(int on) { force_ro = on; }
int64_t vfs_shim_calls(void) { return n_calls; }
int64_t vfs_shim_failed(void) { return n_failed; }
