/*
 * Tests of view/http (the viewer's request parser) and view_addr_parse.
 *
 * The parser against a model: random well-formed requests (methods, paths,
 * queries, header names of every token character, values with tabs and
 * spaces, bodies, CRLF or bare LF) are written out from their fields and
 * parsed back; every proper prefix of one is "more", the whole is taken
 * exactly, and the fields come back. Then the refusals one by one (400 and
 * 413 with their reasons), pipelined requests, the keep-alive rules of
 * HTTP/1.0 and 1.1, queries, response heads and --serve addresses.
 * Random cases come from PCG32 seeded by the loop index.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "tests/testutil.h"
#include "view/http.h"
#include "view/view.h"

#define PROP_SEEDS 200

static int parse_str(const char *s, view_http_req *r) {
  return view_http_parse(s, strlen(s), r);
}

START_TEST(simple_get) {
  view_http_req r;
  const char *s = "GET /stream?fps=20&x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  ck_assert_int_eq(parse_str(s, &r), (int)strlen(s));
  ck_assert_int_eq(r.method, VIEW_HTTP_GET);
  ck_assert(view_http_path_is(&r, "/stream"));
  ck_assert_uint_eq(r.query_len, 10);
  char v[8];
  ck_assert(view_http_query(r.query, r.query_len, "fps", v, sizeof v));
  ck_assert_str_eq(v, "20");
  ck_assert(view_http_query(r.query, r.query_len, "x", v, sizeof v));
  ck_assert_str_eq(v, "1");
  ck_assert(!view_http_query(r.query, r.query_len, "f", v, sizeof v));
  ck_assert(r.keep_alive);
  ck_assert_int_eq(r.minor, 1);
}
END_TEST

START_TEST(keep_alive_rules) {
  view_http_req r;
  ck_assert_int_gt(parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r), 0);
  ck_assert(!r.keep_alive);
  ck_assert_int_gt(parse_str("GET / HTTP/1.0\r\n\r\n", &r), 0);
  ck_assert(!r.keep_alive);
  ck_assert_int_gt(parse_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
  ck_assert(r.keep_alive);
  ck_assert_int_gt(parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &r),
                   0);
  ck_assert(!r.keep_alive);
}
END_TEST

START_TEST(bodies_and_pipelining) {
  view_http_req r;
  const char *a = "POST /control HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\npause";
  const char *b = "GET /state HTTP/1.1\r\nHost: a\r\n\r\n";
  char both[256];
  snprintf(both, sizeof both, "%s%s", a, b);
  int n = parse_str(both, &r);
  ck_assert_int_eq(n, (int)strlen(a));
  ck_assert_int_eq(r.method, VIEW_HTTP_POST);
  ck_assert_int_eq(r.content_length, 5);
  ck_assert(memcmp(r.body, "pause", 5) == 0);
  ck_assert_int_eq(view_http_parse(both + n, strlen(both + n), &r), (int)strlen(b));
  ck_assert(view_http_path_is(&r, "/state"));
  /* the body not all there yet */
  ck_assert_int_eq(view_http_parse(a, strlen(a) - 1, &r), VIEW_HTTP_MORE);
}
END_TEST

START_TEST(refusals) {
  view_http_req r;
  static const char *const bad[] = {
    "get / HTTP/1.1\r\nHost: a\r\n\r\n",            /* lower-case method */
    "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",           /* two spaces */
    "GET x HTTP/1.1\r\nHost: a\r\n\r\n",            /* not origin-form */
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",            /* version */
    "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",           /* trailing space */
    "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",        /* control in the target */
    "GET / HTTP/1.1\r\n\r\n",                       /* no Host */
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two Hosts */
    "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", /* obs-fold */
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",           /* space before the colon */
    "GET / HTTP/1.1\r\nHost a\r\n\r\n",             /* no colon */
    "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",        /* DEL in a value */
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(parse_str(bad[i], &r) == VIEW_HTTP_BAD, "case %zu", i);
  /* too large: a head, a header count, a body */
  size_t n = VIEW_HTTP_HEAD_MAX + 100;
  char *big = malloc(n + 64);
  ck_assert_ptr_nonnull(big);
  strcpy(big, "GET /");
  memset(big + 5, 'a', n);
  big[n] = '\0';
  ck_assert_int_eq(view_http_parse(big, strlen(big), &r), VIEW_HTTP_TOO_LARGE);
  strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
  size_t len = strlen(big);
  for (int i = 0; i < VIEW_HTTP_HEADERS_MAX; i++) len += (size_t)sprintf(big + len, "X: y\r\n");
  strcpy(big + len, "\r\n");
  ck_assert_int_eq(parse_str(big, &r), VIEW_HTTP_TOO_LARGE);
  snprintf(big, 200, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
           VIEW_HTTP_BODY_MAX + 1);
  ck_assert_int_eq(parse_str(big, &r), VIEW_HTTP_TOO_LARGE);
  snprintf(big, 200, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n");
  ck_assert_int_eq(parse_str(big, &r), VIEW_HTTP_TOO_LARGE);
  free(big);
  /* other methods parse (the server answers 405) */
  ck_assert_int_gt(parse_str("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
  ck_assert_int_eq(r.method, VIEW_HTTP_OTHER);
}
END_TEST

/* ---- the model: a random well-formed request and its fields ---- */

typedef struct {
  int method;
  char path[64], query[64];
  int has_query;
  int minor;
  int close;
  int body_len;
  char body[VIEW_HTTP_BODY_MAX];
  int lf_only;
  int n_headers;
} model;

static const char TCHARS[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static void rand_text(pcg32 *g, char *out, int n, const char *alphabet) {
  size_t an = strlen(alphabet);
  for (int i = 0; i < n; i++) out[i] = alphabet[pcg32_bounded(g, (uint32_t)an)];
  out[n] = '\0';
}

static size_t write_model(pcg32 *g, model *m, char *buf, size_t cap) {
  static const char *const methods[] = {"GET", "HEAD", "POST", "PUT"};
  static const int ids[] = {VIEW_HTTP_GET, VIEW_HTTP_HEAD, VIEW_HTTP_POST, VIEW_HTTP_OTHER};
  int k = (int)pcg32_bounded(g, 4);
  m->method = ids[k];
  m->path[0] = '/';
  rand_text(g, m->path + 1, (int)pcg32_bounded(g, 30), "abcdef/._-~%0123456789");
  m->has_query = (int)pcg32_bounded(g, 2);
  rand_text(g, m->query, (int)pcg32_bounded(g, 30), "abc=&;,/:0123456789");
  m->minor = (int)pcg32_bounded(g, 2);
  m->close = (int)pcg32_bounded(g, 3) == 0;
  m->lf_only = (int)pcg32_bounded(g, 4) == 0;
  m->body_len = pcg32_bounded(g, 3) == 0 ? (int)pcg32_bounded(g, VIEW_HTTP_BODY_MAX + 1) : 0;
  for (int i = 0; i < m->body_len; i++) m->body[i] = (char)pcg32_bounded(g, 256);
  const char *eol = m->lf_only ? "\n" : "\r\n";
  size_t n = (size_t)snprintf(buf, cap, "%s %s%s%s HTTP/1.%d%s", methods[k], m->path,
                              m->has_query ? "?" : "", m->has_query ? m->query : "", m->minor,
                              eol);
  m->n_headers = 0;
  if (m->minor == 1 || pcg32_bounded(g, 2)) {
    n += (size_t)snprintf(buf + n, cap - n, "Host: example%s", eol);
    m->n_headers++;
  }
  int extra = (int)pcg32_bounded(g, 12);
  for (int i = 0; i < extra; i++) {
    char name[24], value[48];
    rand_text(g, name, 1 + (int)pcg32_bounded(g, 20), TCHARS);
    if (strcasecmp(name, "host") == 0 || strcasecmp(name, "connection") == 0 ||
        strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0)
      continue;
    rand_text(g, value, (int)pcg32_bounded(g, 40), "abc \t\"=;,()0123456789");
    /* a value's own leading and trailing blanks are optional white space */
    n += (size_t)snprintf(buf + n, cap - n, "%s:%s%s%s", name, pcg32_bounded(g, 2) ? " " : "",
                          value, eol);
    m->n_headers++;
  }
  if (m->close) {
    n += (size_t)snprintf(buf + n, cap - n, "Connection: close%s", eol);
    m->n_headers++;
  }
  if (m->body_len > 0) {
    n += (size_t)snprintf(buf + n, cap - n, "content-length:  %d %s", m->body_len, eol);
    m->n_headers++;
  }
  n += (size_t)snprintf(buf + n, cap - n, "%s", eol);
  memcpy(buf + n, m->body, (size_t)m->body_len);
  return n + (size_t)m->body_len;
}

START_TEST(model_round_trip) {
  pcg32 g;
  pcg32_seed(&g, (uint64_t)_i, 7);
  static char buf[VIEW_HTTP_HEAD_MAX + VIEW_HTTP_BODY_MAX];
  model m;
  size_t n = write_model(&g, &m, buf, sizeof buf);
  view_http_req r;
  /* every proper prefix is incomplete */
  for (size_t k = 0; k < n; k++)
    if (k < n - (size_t)m.body_len || k % 61 == 0)
      ck_assert_msg(view_http_parse(buf, k, &r) == VIEW_HTTP_MORE, "seed %d prefix %zu", _i, k);
  int got = view_http_parse(buf, n, &r);
  ck_assert_msg(got == (int)n, "seed %d: %d of %zu", _i, got, n);
  ck_assert_int_eq(r.method, m.method);
  ck_assert_uint_eq(r.path_len, strlen(m.path));
  ck_assert(memcmp(r.path, m.path, r.path_len) == 0);
  if (m.has_query) {
    ck_assert_uint_eq(r.query_len, strlen(m.query));
    ck_assert(memcmp(r.query, m.query, r.query_len) == 0);
  } else {
    ck_assert_ptr_null(r.query);
  }
  ck_assert_int_eq(r.minor, m.minor);
  ck_assert_int_eq(r.keep_alive, m.minor == 1 && !m.close);
  ck_assert_int_eq(r.content_length, m.body_len);
  ck_assert(m.body_len == 0 || memcmp(r.body, m.body, (size_t)m.body_len) == 0);
  ck_assert_int_eq(r.n_headers, m.n_headers);
  /* with trailing bytes (a next request) it takes the same */
  buf[n] = 'G';
  ck_assert_int_eq(view_http_parse(buf, n + 1, &r), (int)n);
}
END_TEST

START_TEST(response_heads) {
  char h[256];
  int n = view_http_head(h, sizeof h, 404, "text/plain", 12, 0);
  ck_assert_int_gt(n, 0);
  ck_assert(strncmp(h, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
  ck_assert_ptr_nonnull(strstr(h, "Content-Length: 12\r\n"));
  ck_assert_ptr_nonnull(strstr(h, "Connection: close\r\n"));
  ck_assert(strcmp(h + n - 4, "\r\n\r\n") == 0);
  n = view_http_head(h, sizeof h, 200, "text/event-stream", -1, 1);
  ck_assert_ptr_null(strstr(h, "Content-Length"));
  ck_assert_ptr_null(strstr(h, "Connection: close"));
  ck_assert_int_eq(view_http_head(h, 20, 200, "text/html", 1, 1), -1);
}
END_TEST

START_TEST(serve_addresses) {
  view_addr a;
  rs_err e;
  ck_assert_int_eq(view_addr_parse("8080", &a, &e), 0);
  ck_assert_str_eq(a.host, "127.0.0.1");
  ck_assert_int_eq(a.port, 8080);
  ck_assert_int_eq(view_addr_parse("0.0.0.0:0", &a, &e), 0);
  ck_assert_str_eq(a.host, "0.0.0.0");
  ck_assert_int_eq(a.port, 0);
  ck_assert_int_eq(view_addr_parse("[::1]:9000", &a, &e), 0);
  ck_assert_str_eq(a.host, "::1");
  ck_assert_int_eq(a.port, 9000);
  static const char *const bad[] = {"", "x", "65536", "-1", "localhost:80", ":80", "1.2.3:80",
                                    "80x", "127.0.0.1:"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(view_addr_parse(bad[i], &a, &e) == RS_EINVAL, "'%s'", bad[i]);
}
END_TEST

static Suite *http_suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, simple_get);
  tcase_add_test(tc, keep_alive_rules);
  tcase_add_test(tc, bodies_and_pipelining);
  tcase_add_test(tc, refusals);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, model_round_trip, 0, PROP_SEEDS);
  suite_add_tcase(s, tc);
  tc = tcase_create("head");
  tcase_add_test(tc, response_heads);
  suite_add_tcase(s, tc);
  tc = tcase_create("addr");
  tcase_add_test(tc, serve_addresses);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(http_suite()); }
