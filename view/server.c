/*
 * server: the viewer's HTTP server and event streams; see server.h.
 *
 * Handles: the listening uv_tcp_t, a sweep uv_timer_t, and one uv_tcp_t
 * per connection (view_conn, in a doubly linked list). Each counts in
 * open_handles until its close callback; the server frees itself when it
 * is closing and the count reaches 0, so no callback ever sees freed
 * memory.
 *
 * Writes. Every write is one view_buf (a reply's head and body copied
 * together, or a frame shared by many clients) and a small request
 * struct; a connection counts its writes in flight. A stream client with
 * a write in flight gets no new frame, which bounds its memory to one
 * frame whatever it does.
 *
 * Closing after an error answer. Closing a socket whose receive queue
 * still holds bytes makes the kernel send a reset, and the client may lose
 * the answer (a 413 for a body it is still sending). So an error answer is
 * written, the write side shut down, and the connection is read (and the
 * bytes dropped) until the client hangs up or VIEW_LINGER_MS pass.
 *
 * Rejected: a write queue per client (frames wait until the client reads
 * them). A stalled client would grow it without bound or need a cap and a
 * policy for what to drop; dropping the new frame while one is in flight
 * is that policy with a cap of one, and a viewer wants the latest frame
 * anyway.
 */
#include "view/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_IN_MAX (VIEW_HTTP_HEAD_MAX + VIEW_HTTP_BODY_MAX + 1)

struct view_conn {
  uv_tcp_t tcp;             /* the socket; tcp.data = this */
  view_server *srv;         /* its server */
  view_conn *prev, *next;   /* the server's list */
  char in[CONN_IN_MAX];     /* bytes read and not yet taken by a request */
  size_t n_in;              /* ... how many */
  int stream;               /* an event stream */
  int fps;                  /* a stream's frame cap */
  uint64_t last_ms;         /* loop time of a stream's last frame */
  int writes;               /* writes in flight */
  int done;                 /* answers no more requests (closing after a reply) */
  int draining;             /* the write side shut (or to be): read until EOF */
  int shut;                 /* uv_shutdown issued */
  int closing;              /* uv_close issued */
  uint64_t since_ms;        /* last request (or open, or drain start) */
  uv_shutdown_t sd;         /* the shutdown request */
};

struct view_server {
  uv_loop_t *loop;          /* borrowed */
  view_server_opts o;       /* as given */
  uv_tcp_t listen;          /* the listening socket */
  uv_timer_t sweep;         /* timeouts */
  view_conn *conns;         /* open connections */
  int n_conns;              /* ... how many */
  int n_streams;            /* of them, streams */
  int port;                 /* bound */
  int closing;              /* view_server_close called */
  uint64_t close_ms;        /* when */
  int open_handles;         /* handles whose close callback has not run */
  int64_t dropped, sent;    /* frames skipped for a busy client, and sent */
  char scratch[4096];       /* where ignored bytes are read to */
};

typedef struct {
  uv_write_t req;           /* libuv's */
  view_conn *c;             /* the connection */
  view_buf *b;              /* the bytes (one reference) */
} wreq;

view_buf *view_buf_new(const char *p, size_t len) {
  view_buf *b = malloc(sizeof *b + len + 1);
  if (b == NULL) return NULL;
  b->refs = 1;
  b->len = len;
  if (p != NULL && len > 0) memcpy(b->data, p, len);
  b->data[len] = '\0';
  return b;
}

void view_buf_unref(view_buf *b) {
  if (b != NULL && --b->refs == 0) free(b);
}

static void maybe_free(view_server *s) {
  if (s->closing && s->open_handles == 0) free(s);
}

static void on_handle_closed(uv_handle_t *h) {
  view_server *s = h->data;
  s->open_handles--;
  maybe_free(s);
}

static void on_conn_closed(uv_handle_t *h) {
  view_conn *c = h->data;
  view_server *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  if (c->stream) s->n_streams--;
  free(c);
  s->open_handles--;
  maybe_free(s);
}

static void conn_close(view_conn *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_read_stop((uv_stream_t *)&c->tcp);
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  view_conn *c = req->data;
  /* a stream ends here; a drained answer waits for the client's EOF (or
   * the linger timeout) */
  if (status < 0 || c->stream || c->srv->closing) conn_close(c);
}

static void conn_shutdown(view_conn *c) {
  if (c->shut || c->closing) return;
  c->shut = 1;
  c->sd.data = c;
  if (uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
}

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  view_conn *c = w->c;
  view_buf_unref(w->b);
  free(w);
  c->writes--;
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->draining && c->writes == 0) conn_shutdown(c);
}

/* Queues b on c (taking a reference); 0, or -1 with the connection
 * closed. */
static int conn_write(view_conn *c, view_buf *b) {
  if (c->closing || c->shut) return -1;
  wreq *w = malloc(sizeof *w);
  if (w == NULL) {
    conn_close(c);
    return -1;
  }
  w->c = c;
  w->b = b;
  b->refs++;
  uv_buf_t ub = uv_buf_init(b->data, (unsigned)b->len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write) != 0) {
    view_buf_unref(b);
    free(w);
    conn_close(c);
    return -1;
  }
  c->writes++;
  return 0;
}

static void reply_bytes(view_conn *c, int head_only, int status, const char *ctype,
                        const char *body, size_t len, int keep) {
  char head[512];
  int hn = view_http_head(head, sizeof head, status, ctype, (int64_t)len, keep);
  size_t bl = head_only ? 0 : len;
  view_buf *b = view_buf_new(NULL, (size_t)hn + bl);
  if (hn < 0 || b == NULL) {
    view_buf_unref(b);
    conn_close(c);
    return;
  }
  memcpy(b->data, head, (size_t)hn);
  if (bl) memcpy(b->data + hn, body, bl);
  if (!keep) {
    c->done = 1;
    c->draining = 1;
    c->since_ms = uv_now(c->srv->loop);
  }
  conn_write(c, b);
  view_buf_unref(b);
}

/* An answer the server gives itself, closing the connection after it. */
static void reply_error(view_conn *c, int status, const char *msg) {
  char body[128];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", status, view_http_reason(status), msg);
  reply_bytes(c, 0, status, "text/plain; charset=utf-8", body, (size_t)n, 0);
}

void view_conn_reply(view_conn *c, const view_http_req *r, int status, const char *ctype,
                     const char *body, size_t len) {
  reply_bytes(c, r->method == VIEW_HTTP_HEAD, status, ctype, body, len,
              r->keep_alive && status < 400 && !c->srv->closing);
}

void view_conn_reply_buf(view_conn *c, const view_http_req *r, int status, const char *ctype,
                         view_buf *body) {
  int keep = r->keep_alive && status < 400 && !c->srv->closing;
  char head[512];
  int hn = view_http_head(head, sizeof head, status, ctype, (int64_t)body->len, keep);
  view_buf *h = view_buf_new(head, hn < 0 ? 0 : (size_t)hn);
  if (hn < 0 || h == NULL) {
    view_buf_unref(h);
    conn_close(c);
    return;
  }
  if (!keep) {
    c->done = 1;
    c->draining = 1;
    c->since_ms = uv_now(c->srv->loop);
  }
  if (conn_write(c, h) == 0 && r->method != VIEW_HTTP_HEAD) conn_write(c, body);
  view_buf_unref(h);
}

void view_conn_stream(view_conn *c, int fps, const char *first, size_t len) {
  if (fps < 1) fps = 1;
  if (fps > VIEW_FPS_MAX) fps = VIEW_FPS_MAX;
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                    "Connection: close\r\n\r\n");
  view_buf *b = view_buf_new(NULL, (size_t)hn + len);
  if (b == NULL) {
    conn_close(c);
    return;
  }
  memcpy(b->data, head, (size_t)hn);
  if (len) memcpy(b->data + hn, first, len);
  c->stream = 1;
  c->done = 1;
  c->fps = fps;
  c->last_ms = uv_now(c->srv->loop);
  c->srv->n_streams++;
  conn_write(c, b);
  view_buf_unref(b);
}

static void handle(view_conn *c, const view_http_req *r) {
  view_server *s = c->srv;
  if (r->method == VIEW_HTTP_OTHER) {
    reply_error(c, 405, "the viewer answers GET, HEAD and POST");
    return;
  }
  int rc = s->o.route(s->o.arg, c, r);
  if (rc == 404) reply_error(c, 404, "no such page");
}

/* Takes the complete requests at the start of c->in. */
static void take_requests(view_conn *c) {
  while (!c->done && !c->closing) {
    view_http_req r;
    int rc = view_http_parse(c->in, c->n_in, &r);
    if (rc == VIEW_HTTP_MORE) {
      if (c->n_in == sizeof c->in) reply_error(c, 413, "request too large");
      return;
    }
    if (rc == VIEW_HTTP_BAD) {
      reply_error(c, 400, "malformed request");
      return;
    }
    if (rc == VIEW_HTTP_TOO_LARGE) {
      reply_error(c, 413, "request too large");
      return;
    }
    c->since_ms = uv_now(c->srv->loop);
    handle(c, &r);
    if (c->closing) return;
    memmove(c->in, c->in + rc, c->n_in - (size_t)rc);
    c->n_in -= (size_t)rc;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  view_conn *c = h->data;
  if (c->done || c->n_in == sizeof c->in) {
    *buf = uv_buf_init(c->srv->scratch, sizeof c->srv->scratch);
  } else {
    *buf = uv_buf_init(c->in + c->n_in, (unsigned)(sizeof c->in - c->n_in));
  }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  view_conn *c = st->data;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0 || c->done || buf->base == c->srv->scratch) return;
  c->n_in += (size_t)n;
  take_requests(c);
}

static void on_connection(uv_stream_t *ls, int status) {
  view_server *s = ls->data;
  if (status < 0 || s->closing) return;
  view_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->srv = s;
  if (uv_tcp_init(s->loop, &c->tcp) != 0) {
    free(c);
    return;
  }
  c->tcp.data = c;
  s->open_handles++;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  c->since_ms = uv_now(s->loop);
  if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || s->n_conns > VIEW_CONN_MAX) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) conn_close(c);
}

static void on_sweep(uv_timer_t *t) {
  view_server *s = t->data;
  uint64_t now = uv_now(s->loop);
  view_conn *c = s->conns;
  while (c != NULL) {
    view_conn *next = c->next;
    if (s->closing) {
      if (now - s->close_ms >= VIEW_CLOSE_GRACE_MS) conn_close(c);
    } else if (c->draining) {
      if (now - c->since_ms >= VIEW_LINGER_MS) conn_close(c);
    } else if (!c->stream && now - c->since_ms >= VIEW_REQUEST_TIMEOUT_MS) {
      conn_close(c);
    }
    c = next;
  }
  if (s->closing && s->conns == NULL && !uv_is_closing((uv_handle_t *)t))
    uv_close((uv_handle_t *)t, on_handle_closed);
}

int view_server_start(uv_loop_t *loop, const view_server_opts *o, view_server **out, rs_err *e) {
  *out = NULL;
  view_server *s = calloc(1, sizeof *s);
  if (s == NULL) return rs_err_set(e, RS_ENOMEM, "viewer: out of memory");
  s->loop = loop;
  s->o = *o;
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } addr;
  const struct sockaddr *sa = (const struct sockaddr *)&addr;
  if (uv_ip4_addr(o->host, o->port, &addr.v4) != 0 &&
      uv_ip6_addr(o->host, o->port, &addr.v6) != 0) {
    free(s);
    return rs_err_set(e, RS_EINVAL, "viewer: '%s' is not a numeric IP address", o->host);
  }
  uv_tcp_init(loop, &s->listen);
  uv_timer_init(loop, &s->sweep);
  s->listen.data = s->sweep.data = s;
  s->open_handles = 2;
  int rc = uv_tcp_bind(&s->listen, sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listen, 64, on_connection);
  if (rc != 0) {
    rs_err_set(e, RS_EIO, "viewer: cannot listen on %s%s%s:%d: %s",
               strchr(o->host, ':') ? "[" : "", o->host, strchr(o->host, ':') ? "]" : "",
               o->port, uv_strerror(rc));
    s->closing = 1;
    uv_close((uv_handle_t *)&s->listen, on_handle_closed);
    uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
    /* the closes complete on the loop's next run; the caller's loop (or
     * sim_loop_free) runs it */
    return RS_EIO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&s->listen, (struct sockaddr *)&bound, &blen);
  s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  uv_timer_start(&s->sweep, on_sweep, VIEW_SWEEP_MS, VIEW_SWEEP_MS);
  uv_unref((uv_handle_t *)&s->sweep);
  *out = s;
  return 0;
}

int view_server_port(const view_server *s) { return s->port; }
int view_server_streams(const view_server *s) { return s->n_streams; }
int64_t view_server_dropped(const view_server *s) { return s->dropped; }
int64_t view_server_sent(const view_server *s) { return s->sent; }

static int ready(const view_conn *c, uint64_t now_ms) {
  return c->stream && !c->closing && !c->shut && c->writes == 0 &&
         now_ms - c->last_ms >= (uint64_t)(1000 / c->fps);
}

int view_server_wants(const view_server *s, uint64_t now_ms) {
  if (s->n_streams == 0 || s->closing) return 0;
  for (const view_conn *c = s->conns; c != NULL; c = c->next)
    if (ready(c, now_ms)) return 1;
  return 0;
}

int view_server_send(view_server *s, view_buf *b, uint64_t now_ms, int force) {
  int n = 0;
  for (view_conn *c = s->conns; c != NULL; c = c->next) {
    if (!c->stream || c->closing || c->shut) continue;
    if (c->writes > 0) {
      s->dropped++;
      continue;
    }
    if (!force && !ready(c, now_ms)) continue;
    c->last_ms = now_ms;
    if (conn_write(c, b) == 0) {
      n++;
      s->sent++;
    }
  }
  return n;
}

void view_server_close(view_server *s, const char *last) {
  if (s == NULL || s->closing) return;
  s->closing = 1;
  s->close_ms = uv_now(s->loop);
  uv_close((uv_handle_t *)&s->listen, on_handle_closed);
  view_buf *b = last != NULL ? view_buf_new(last, strlen(last)) : NULL;
  view_conn *c = s->conns;
  while (c != NULL) {
    view_conn *next = c->next;
    if (c->stream) {
      /* the last event after whatever is in flight (one more buffer at
       * most), then the end of the stream; a stalled client is cut at the
       * grace's end */
      if (b != NULL) conn_write(c, b);
      conn_shutdown(c);
    } else if (c->writes == 0) {
      conn_close(c);
    } else {
      /* a frame or an answer in flight: let it go (within the grace),
       * then close */
      c->draining = 1;
    }
    c = next;
  }
  view_buf_unref(b);
  /* the sweep closes what is left after the grace, then itself */
  uv_ref((uv_handle_t *)&s->sweep);
  if (s->conns == NULL) uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
}
