/*
 * rs_sqlite: the rs_code of an SQLite result code, shared by the modules
 * that touch SQLite (trip store, value tables, results). File-system
 * trouble is RS_EIO, no memory RS_ENOMEM, a file that is not (or no longer)
 * a database RS_EFORMAT, anything else RS_EDB.
 */
#ifndef RS_SQLITE_H
#define RS_SQLITE_H

#include <sqlite3.h>

#include "base/rs_error.h"

static inline int rs_sqlite_code(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_PERM:
    return RS_EIO;
  case SQLITE_NOMEM:
    return RS_ENOMEM;
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return RS_EFORMAT;
  default:
    return RS_EDB;
  }
}

#endif
