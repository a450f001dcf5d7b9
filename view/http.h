/*
 * http: the request side of HTTP/1.1 as the viewer's server needs it (a
 * parser of one request head and its small body) and the response heads it
 * writes. Pure functions over bytes: no sockets, no allocation, so the
 * parser is unit-tested and fuzzed on its own (tests/test_http.c,
 * tests/fuzz/fuzz_http.c).
 *
 * What is accepted: a request line METHOD SP TARGET SP HTTP/1.0|HTTP/1.1,
 * header lines NAME ":" OWS VALUE OWS, each ended by CRLF (a bare LF is
 * taken too, as RFC 9112 section 2.2 allows), an empty line, then
 * Content-Length bytes of body. The method is a token of upper-case
 * letters; the target an origin-form path ("/" then visible ASCII), split
 * at '?' into path and query. Everything else is malformed (400):
 * obsolete line folding, control characters, a header without a colon or
 * with a space before it, a Content-Length that is not digits or that
 * disagrees with another one, any Transfer-Encoding (the viewer takes no
 * chunked bodies), an HTTP/1.1 request without Host. Too large (413): a
 * head over VIEW_HTTP_HEAD_MAX bytes or VIEW_HTTP_HEADERS_MAX lines, a body
 * over VIEW_HTTP_BODY_MAX.
 *
 * Cost: one pass over the head; the server calls it again on the whole
 * buffer as more bytes come (a head is at most VIEW_HTTP_HEAD_MAX bytes, so
 * re-parsing is cheaper than keeping a state machine's state).
 *
 * Rejected: a third-party parser (llhttp, picohttpparser). Either is a new
 * dependency for a page, a stream and a control endpoint on loopback; the
 * subset above is a couple of hundred lines that the tests cover whole.
 */
#ifndef VIEW_HTTP_H
#define VIEW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define VIEW_HTTP_HEAD_MAX 8192     /* request line and headers, bytes */
#define VIEW_HTTP_HEADERS_MAX 64    /* header lines */
#define VIEW_HTTP_BODY_MAX 1024     /* a control command's body */

enum {
  VIEW_HTTP_MORE = 0,               /* an incomplete request: read more */
  VIEW_HTTP_BAD = -400,             /* malformed */
  VIEW_HTTP_TOO_LARGE = -413,       /* over the limits above */
};

enum { VIEW_HTTP_GET = 1, VIEW_HTTP_HEAD, VIEW_HTTP_POST, VIEW_HTTP_OTHER };

/* One parsed request; its pointers point into the parsed buffer. */
typedef struct {
  int method;               /* VIEW_HTTP_GET ... */
  const char *path;         /* the target up to '?' (not NUL-terminated) */
  size_t path_len;
  const char *query;        /* after '?', NULL when none */
  size_t query_len;
  int minor;                /* HTTP/1.minor: 0 or 1 */
  int keep_alive;           /* the connection stays open after the answer */
  int has_host;             /* a Host header came */
  int64_t content_length;   /* 0 when none */
  const char *body;         /* content_length bytes */
  int n_headers;            /* header lines */
} view_http_req;

/* Parses the request at the start of buf[0, len). Returns the bytes it
 * takes (head and body, > 0) with *r filled, VIEW_HTTP_MORE when the
 * request is not complete yet (and nothing wrong so far), or
 * VIEW_HTTP_BAD / VIEW_HTTP_TOO_LARGE; *r is then unspecified. */
int view_http_parse(const char *buf, size_t len, view_http_req *r);

/* Whether the request's path equals p. */
int view_http_path_is(const view_http_req *r, const char *p);

/* The value of key in a query string of key=value pairs joined by '&'
 * (no percent-decoding: the viewer's keys and values are plain), copied to
 * out (cap bytes, NUL-terminated). 1 when found, 0 when not or too long. */
int view_http_query(const char *q, size_t qlen, const char *key, char *out, size_t cap);

/* The reason phrase of a status code ("Not Found"). */
const char *view_http_reason(int status);

/* Writes a response head into out (cap bytes): status line, Content-Type,
 * Content-Length (-1: none, for a stream), Cache-Control: no-store,
 * Connection: close when !keep_alive, then the empty line. Returns its
 * length, or -1 when it does not fit. */
int view_http_head(char *out, size_t cap, int status, const char *ctype, int64_t length,
                   int keep_alive);

#endif
