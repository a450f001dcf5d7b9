/*
 * http: the viewer's request parser and response heads; see http.h.
 *
 * The parser walks the head line by line with explicit bounds: no line is
 * read past len, nothing is NUL-terminated or copied, so any byte string
 * is safe to hand it (the fuzz target checks exactly that, and that an
 * accepted request's pointers lie inside the input).
 */
#include "view/http.h"

#include <stdio.h>
#include <string.h>

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return 1;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Whether [p, p + n) equals the lower-case word w, ignoring case. */
static int ieq(const char *p, size_t n, const char *w) {
  size_t m = strlen(w);
  if (n != m) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)p[i]) != w[i]) return 0;
  return 1;
}

/* Whether the comma-separated list [p, p + n) holds the token w (any case). */
static int has_token(const char *p, size_t n, const char *w) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ',')) i++;
    size_t s = i;
    while (i < n && p[i] != ',') i++;
    size_t e = i;
    while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t')) e--;
    if (e > s && ieq(p + s, e - s, w)) return 1;
  }
  return 0;
}

/* The end of the line starting at off: *eol is the index of its '\n' and
 * the line's text ends before an optional '\r'. 0 when there is no '\n'
 * yet in [off, len). */
static int line_at(const char *buf, size_t len, size_t off, size_t *eol, size_t *text_end) {
  const char *nl = memchr(buf + off, '\n', len - off);
  if (nl == NULL) return 0;
  *eol = (size_t)(nl - buf);
  *text_end = *eol;
  if (*text_end > off && buf[*text_end - 1] == '\r') (*text_end)--;
  return 1;
}

static int parse_request_line(const char *p, size_t n, view_http_req *r) {
  size_t i = 0;
  while (i < n && p[i] >= 'A' && p[i] <= 'Z') i++;
  if (i == 0 || i > 16 || i >= n || p[i] != ' ') return VIEW_HTTP_BAD;
  if (i == 3 && memcmp(p, "GET", 3) == 0) r->method = VIEW_HTTP_GET;
  else if (i == 4 && memcmp(p, "HEAD", 4) == 0) r->method = VIEW_HTTP_HEAD;
  else if (i == 4 && memcmp(p, "POST", 4) == 0) r->method = VIEW_HTTP_POST;
  else r->method = VIEW_HTTP_OTHER;
  size_t t0 = ++i;
  while (i < n && p[i] != ' ') {
    unsigned char c = (unsigned char)p[i];
    if (c <= 0x20 || c >= 0x7f) return VIEW_HTTP_BAD;
    i++;
  }
  if (i == t0 || i >= n || p[t0] != '/') return VIEW_HTTP_BAD;
  const char *target = p + t0;
  size_t tlen = i - t0;
  const char *q = memchr(target, '?', tlen);
  r->path = target;
  r->path_len = q ? (size_t)(q - target) : tlen;
  r->query = q ? q + 1 : NULL;
  r->query_len = q ? tlen - r->path_len - 1 : 0;
  i++;
  if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0) return VIEW_HTTP_BAD;
  if (p[i + 7] == '0') r->minor = 0;
  else if (p[i + 7] == '1') r->minor = 1;
  else return VIEW_HTTP_BAD;
  return 0;
}

/* One header line [p, p + n): its effect on r. */
static int parse_header(const char *p, size_t n, view_http_req *r, int *have_cl,
                        int *conn_close, int *conn_keep) {
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)p[i])) i++;
  if (i == 0 || i >= n || p[i] != ':') return VIEW_HTTP_BAD;
  size_t name_len = i++;
  while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
  size_t v0 = i, v1 = n;
  while (v1 > v0 && (p[v1 - 1] == ' ' || p[v1 - 1] == '\t')) v1--;
  for (size_t k = v0; k < v1; k++) {
    unsigned char c = (unsigned char)p[k];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return VIEW_HTTP_BAD;
  }
  const char *v = p + v0;
  size_t vn = v1 - v0;
  if (ieq(p, name_len, "content-length")) {
    if (vn == 0 || vn > 18) return vn > 18 ? VIEW_HTTP_TOO_LARGE : VIEW_HTTP_BAD;
    int64_t x = 0;
    for (size_t k = 0; k < vn; k++) {
      if (v[k] < '0' || v[k] > '9') return VIEW_HTTP_BAD;
      x = x * 10 + (v[k] - '0');
    }
    if (*have_cl && x != r->content_length) return VIEW_HTTP_BAD;
    *have_cl = 1;
    r->content_length = x;
  } else if (ieq(p, name_len, "transfer-encoding")) {
    return VIEW_HTTP_BAD;
  } else if (ieq(p, name_len, "host")) {
    if (r->has_host) return VIEW_HTTP_BAD; /* RFC 9112 3.2: exactly one */
    r->has_host = 1;
  } else if (ieq(p, name_len, "connection")) {
    if (has_token(v, vn, "close")) *conn_close = 1;
    if (has_token(v, vn, "keep-alive")) *conn_keep = 1;
  }
  return 0;
}

int view_http_parse(const char *buf, size_t len, view_http_req *r) {
  memset(r, 0, sizeof *r);
  size_t off = 0, eol, te;
  /* RFC 9112 2.2: empty lines before the request line are ignored */
  while (off < len && (buf[off] == '\r' || buf[off] == '\n') && off < 4) off++;
  if (!line_at(buf, len, off, &eol, &te))
    return len > VIEW_HTTP_HEAD_MAX ? VIEW_HTTP_TOO_LARGE : VIEW_HTTP_MORE;
  if (eol >= VIEW_HTTP_HEAD_MAX) return VIEW_HTTP_TOO_LARGE;
  int rc = parse_request_line(buf + off, te - off, r);
  if (rc) return rc;
  int have_cl = 0, conn_close = 0, conn_keep = 0;
  off = eol + 1;
  for (;;) {
    if (!line_at(buf, len, off, &eol, &te))
      return len > VIEW_HTTP_HEAD_MAX ? VIEW_HTTP_TOO_LARGE : VIEW_HTTP_MORE;
    if (eol >= VIEW_HTTP_HEAD_MAX) return VIEW_HTTP_TOO_LARGE;
    if (te == off) break; /* the empty line */
    if (buf[off] == ' ' || buf[off] == '\t') return VIEW_HTTP_BAD; /* obs-fold */
    if (++r->n_headers > VIEW_HTTP_HEADERS_MAX) return VIEW_HTTP_TOO_LARGE;
    rc = parse_header(buf + off, te - off, r, &have_cl, &conn_close, &conn_keep);
    if (rc) return rc;
    off = eol + 1;
  }
  size_t head = eol + 1;
  if (r->minor == 1 && !r->has_host) return VIEW_HTTP_BAD;
  if (r->content_length > VIEW_HTTP_BODY_MAX) return VIEW_HTTP_TOO_LARGE;
  r->keep_alive = r->minor == 1 ? !conn_close : conn_keep && !conn_close;
  if (len - head < (size_t)r->content_length) return VIEW_HTTP_MORE;
  r->body = buf + head;
  return (int)(head + (size_t)r->content_length);
}

int view_http_path_is(const view_http_req *r, const char *p) {
  size_t n = strlen(p);
  return r->path_len == n && memcmp(r->path, p, n) == 0;
}

int view_http_query(const char *q, size_t qlen, const char *key, char *out, size_t cap) {
  if (q == NULL || cap == 0) return 0;
  size_t kn = strlen(key), i = 0;
  while (i < qlen) {
    size_t s = i;
    while (i < qlen && q[i] != '&') i++;
    const char *eq = memchr(q + s, '=', i - s);
    size_t name_n = eq ? (size_t)(eq - (q + s)) : i - s;
    if (name_n == kn && memcmp(q + s, key, kn) == 0) {
      size_t vn = eq ? i - s - name_n - 1 : 0;
      if (vn >= cap) return 0;
      if (vn) memcpy(out, eq + 1, vn);
      out[vn] = '\0';
      return 1;
    }
    i++;
  }
  return 0;
}

const char *view_http_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

int view_http_head(char *out, size_t cap, int status, const char *ctype, int64_t length,
                   int keep_alive) {
  char cl[48] = "";
  if (length >= 0) snprintf(cl, sizeof cl, "Content-Length: %lld\r\n", (long long)length);
  int n = snprintf(out, cap,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%sCache-Control: no-store\r\n"
                   "X-Content-Type-Options: nosniff\r\n%s\r\n",
                   status, view_http_reason(status), ctype, cl,
                   keep_alive ? "" : "Connection: close\r\n");
  return n < 0 || (size_t)n >= cap ? -1 : n;
}
