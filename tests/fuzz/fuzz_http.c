/*
 * fuzz_http: the viewer's request parser (view/http.h) on arbitrary bytes.
 *
 * Whatever the bytes, the parse ends with "more", 400, 413 or a request of
 * at most len bytes whose pointers lie inside the input: a path starting
 * with '/', a query inside the target, a body of content_length bytes
 * ending exactly where the request does, a content length within the
 * limit. The same request parses the same when the input is cut right
 * after it (nothing past it was read), and the query lookup never reads
 * past the query. Only view/http.c is linked; see tools/fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "fuzz_http: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                              \
    }                                                                       \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so that ASan sees any read past them */
  char *buf = malloc(size ? size : 1);
  if (buf == NULL) return 0;
  if (size) memcpy(buf, data, size);
  view_http_req r;
  int n = view_http_parse(buf, size, &r);
  CHECK(n == VIEW_HTTP_MORE || n == VIEW_HTTP_BAD || n == VIEW_HTTP_TOO_LARGE || n > 0);
  if (n > 0) {
    const char *end = buf + n;
    CHECK((size_t)n <= size);
    CHECK(r.path >= buf && r.path + r.path_len <= end && r.path_len > 0 && r.path[0] == '/');
    CHECK(r.query == NULL || (r.query > r.path && r.query + r.query_len <= end));
    CHECK(r.content_length >= 0 && r.content_length <= VIEW_HTTP_BODY_MAX);
    CHECK(r.body + r.content_length == end);
    CHECK(r.minor == 0 || r.minor == 1);
    CHECK(r.method >= VIEW_HTTP_GET && r.method <= VIEW_HTTP_OTHER);
    CHECK(r.n_headers <= VIEW_HTTP_HEADERS_MAX);
    view_http_req r2;
    CHECK(view_http_parse(buf, (size_t)n, &r2) == n);
    CHECK(r2.path == r.path && r2.path_len == r.path_len && r2.keep_alive == r.keep_alive);
    char v[32];
    if (r.query != NULL) {
      (void)view_http_query(r.query, r.query_len, "fps", v, sizeof v);
      (void)view_http_query(r.query, r.query_len, "", v, sizeof v);
    }
  }
  free(buf);
  return 0;
}
