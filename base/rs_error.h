/*
 * rs_error: the one error vocabulary of ridesim.
 *
 * Every fallible function returns 0 (RS_OK) or a negative rs_code, and, when
 * the caller passes an rs_err, leaves one line in it that a user can act on
 * ("trips.csv:17: pickup_lat: not a number"). Codes and their names come from
 * one X-macro table, as libuv does with uv_strerror/uv_err_name.
 */
#ifndef RS_ERROR_H
#define RS_ERROR_H

#include <stddef.h>

#define RS_ERRNO_MAP(X)                                              \
  X(NOMEM,   -1, "out of memory")                                    \
  X(IO,      -2, "input/output error")                               \
  X(INVAL,   -3, "invalid argument")                                 \
  X(NOENT,   -4, "no such file")                                     \
  X(DB,      -5, "database error")                                   \
  X(FORMAT,  -6, "malformed input")                                  \
  X(INTR,    -7, "interrupted")                                      \
  X(EMPTY,   -8, "nothing to do")                                    \
  X(RANGE,   -9, "value out of range")                               \
  X(AGENT,  -10, "agent error")

typedef enum {
  RS_OK = 0,
#define X(name, val, msg) RS_E##name = val,
  RS_ERRNO_MAP(X)
#undef X
} rs_code;

/* The message buffer callers pass down. msg is always NUL-terminated. */
typedef struct {
  int code;        /* last code set, 0 when none */
  char msg[512];   /* one line, no trailing newline */
} rs_err;

/* Human text and symbolic name ("RS_EINVAL") of a code. Never NULL. */
const char *rs_strerror(int code);
const char *rs_err_name(int code);

/* Formats msg into e (if e is not NULL) and returns code, so callers can
 * write `return rs_err_set(e, RS_EINVAL, "...", ...)`. */
int rs_err_set(rs_err *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears e (code 0, empty message). NULL is allowed. */
void rs_err_clear(rs_err *e);

#endif
