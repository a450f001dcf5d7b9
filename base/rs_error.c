/*
 * rs_error: codes, their names, and the message buffer (see rs_error.h).
 */
#include "base/rs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rs_strerror(int code) {
  switch (code) {
  case RS_OK: return "success";
#define X(name, val, msg) case RS_E##name: return msg;
  RS_ERRNO_MAP(X)
#undef X
  default: return "unknown error";
  }
}

const char *rs_err_name(int code) {
  switch (code) {
  case RS_OK: return "RS_OK";
#define X(name, val, msg) case RS_E##name: return "RS_E" #name;
  RS_ERRNO_MAP(X)
#undef X
  default: return "RS_EUNKNOWN";
  }
}

int rs_err_set(rs_err *e, int code, const char *fmt, ...) {
  if (e != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* One line: fold any newline a caller's text carried. */
    for (char *p = e->msg; *p; p++)
      if (*p == '\n' || *p == '\r') *p = ' ';
    e->code = code;
  }
  return code;
}

void rs_err_clear(rs_err *e) {
  if (e != NULL) {
    e->code = 0;
    e->msg[0] = '\0';
  }
}
