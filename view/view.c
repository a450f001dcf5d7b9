/*
 * view: the viewer's routes and frame schedule; see view.h.
 *
 * The page and the scene are built once, at view_open, into shared
 * buffers that every request references (no copy per request). Frames are
 * built into view_frames' buffer only when view_server_wants() says a
 * client is ready, then copied once into a shared buffer for the clients.
 * The heat layers ride on a frame every VIEW_HEAT_MS of wall time.
 */
#include "view/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view/server.h"

struct view {
  uv_loop_t *loop;          /* borrowed */
  view_src src;             /* what it shows (borrowed) */
  view_ctl ctl;             /* the engine's driver */
  view_server *srv;         /* the server (frees itself after close) */
  view_frames fr;           /* frame texts */
  view_buf *page, *scene;   /* built once */
  uint64_t heat_ms;         /* loop time of the last heat layers */
  int closed;               /* view_close called */
  uint64_t build_ns;        /* time spent building frames */
};

int view_addr_parse(const char *s, view_addr *a, rs_err *e) {
  const char *colon = strrchr(s, ':'), *port = s;
  char host[VIEW_HOST_MAX];
  snprintf(host, sizeof host, "%s", VIEW_HOST_DEFAULT);
  if (colon != NULL) {
    size_t hn = (size_t)(colon - s);
    const char *h = s;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
      h++;
      hn -= 2;
    }
    if (hn == 0 || hn >= sizeof host)
      return rs_err_set(e, RS_EINVAL, "--serve: bad address in '%s' (want [ADDR:]PORT)", s);
    memcpy(host, h, hn);
    host[hn] = '\0';
    port = colon + 1;
  }
  char *end;
  long p = strtol(port, &end, 10);
  if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
    return rs_err_set(e, RS_EINVAL, "--serve: bad port in '%s' (want [ADDR:]PORT, 0-65535)", s);
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  if (uv_ip4_addr(host, 0, &a4) != 0 && uv_ip6_addr(host, 0, &a6) != 0)
    return rs_err_set(e, RS_EINVAL, "--serve: '%s' is not a numeric IP address", host);
  snprintf(a->host, sizeof a->host, "%s", host);
  a->port = (int)p;
  return 0;
}

int view_addr_check(const view_addr *a, rs_err *e) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return rs_err_set(e, RS_EIO, "viewer: cannot start libuv");
  uv_tcp_t t;
  uv_tcp_init(&loop, &t);
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } sa;
  int rc = uv_ip4_addr(a->host, a->port, &sa.v4);
  if (rc != 0) rc = uv_ip6_addr(a->host, a->port, &sa.v6);
  if (rc == 0) rc = uv_tcp_bind(&t, (const struct sockaddr *)&sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&t, 1, NULL);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rc != 0) {
    int v6 = strchr(a->host, ':') != NULL;
    return rs_err_set(e, RS_EIO, "cannot listen on %s%s%s:%d: %s", v6 ? "[" : "", a->host,
                      v6 ? "]" : "", a->port, uv_strerror(rc));
  }
  return 0;
}

static void pace_of(view *v, view_pace *p) {
  memset(p, 0, sizeof *p);
  p->mode = "fast";
  if (v->ctl.pace != NULL) v->ctl.pace(v->ctl.arg, p);
}

static void send_state(view *v, view_conn *c, const view_http_req *r, int status) {
  view_pace p;
  pace_of(v, &p);
  char body[256];
  int n = snprintf(body, sizeof body,
                   "{\"t\":%lld,\"from\":%lld,\"to\":%lld,\"mode\":\"%s\",\"speed\":%.3f,"
                   "\"can_pace\":%s,\"can_seek\":%s,\"streams\":%d}\n",
                   (long long)sim_engine_now(v->src.eng), (long long)sim_engine_from(v->src.eng),
                   (long long)sim_engine_to(v->src.eng), p.mode, p.speed,
                   p.can_pace ? "true" : "false", p.can_seek ? "true" : "false",
                   view_server_streams(v->srv));
  view_conn_reply(c, r, status, "application/json", body, (size_t)n);
}

/* POST /control: "CMD [NUMBER]". */
static void control(view *v, view_conn *c, const view_http_req *r) {
  char body[VIEW_HTTP_BODY_MAX + 1];
  size_t n = (size_t)r->content_length;
  memcpy(body, r->body, n);
  body[n] = '\0';
  /* one word, then a number for speed and seek, and nothing else */
  char *tok[3] = {NULL, NULL, NULL}, *save = NULL;
  int k = 0;
  for (char *t = strtok_r(body, " \t\r\n", &save); t != NULL && k < 3;
       t = strtok_r(NULL, " \t\r\n", &save))
    tok[k++] = t;
  const char *cmd = tok[0] ? tok[0] : "";
  int known = strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0 ||
              strcmp(cmd, "speed") == 0 || strcmp(cmd, "seek") == 0;
  int needs_x = strcmp(cmd, "speed") == 0 || strcmp(cmd, "seek") == 0;
  double x = 0;
  char *end = NULL;
  if (needs_x && tok[1] != NULL) x = strtod(tok[1], &end);
  if (!known || k != (needs_x ? 2 : 1) || (needs_x && (end == tok[1] || *end != '\0'))) {
    const char *msg = "400 Bad Request: want pause, resume, speed X or seek T\n";
    view_conn_reply(c, r, 400, "text/plain; charset=utf-8", msg, strlen(msg));
    return;
  }
  int rc = v->ctl.control != NULL ? v->ctl.control(v->ctl.arg, cmd, x) : 409;
  if (rc == 0) {
    view_flush(v);
    send_state(v, c, r, 200);
  } else {
    const char *msg = rc == 400 ? "400 Bad Request: a number out of range\n"
                                : "409 Conflict: this run does not take that command\n";
    view_conn_reply(c, r, rc == 400 ? 400 : 409, "text/plain; charset=utf-8", msg,
                    strlen(msg));
  }
}

static int route(void *arg, view_conn *c, const view_http_req *r) {
  view *v = arg;
  int get = r->method == VIEW_HTTP_GET || r->method == VIEW_HTTP_HEAD;
  if (view_http_path_is(r, "/") || view_http_path_is(r, "/index.html")) {
    if (!get) return 404;
    view_conn_reply_buf(c, r, 200, "text/html; charset=utf-8", v->page);
  } else if (view_http_path_is(r, "/scene.json")) {
    if (!get) return 404;
    view_conn_reply_buf(c, r, 200, "application/json", v->scene);
  } else if (view_http_path_is(r, "/state")) {
    if (!get) return 404;
    send_state(v, c, r, 200);
  } else if (view_http_path_is(r, "/stream")) {
    if (!get) return 404;
    char q[16];
    int fps = VIEW_FPS_DEFAULT;
    if (view_http_query(r->query, r->query_len, "fps", q, sizeof q)) fps = atoi(q);
    if (r->method == VIEW_HTTP_HEAD) {
      view_conn_reply(c, r, 200, "text/event-stream", "", 0);
      return 0;
    }
    view_pace p;
    pace_of(v, &p);
    if (view_frames_hello(&v->fr, v->src.eng, &p) != 0) {
      view_conn_reply(c, r, 503, "text/plain", "out of memory\n", 14);
      return 0;
    }
    view_conn_stream(c, fps, v->fr.buf, v->fr.len);
    /* the picture now, also while the run is paused */
    view_flush(v);
  } else if (view_http_path_is(r, "/control")) {
    if (r->method != VIEW_HTTP_POST) return 404;
    control(v, c, r);
  } else {
    return 404;
  }
  return 0;
}

int view_open(uv_loop_t *loop, const view_addr *a, const view_src *src, const view_ctl *ctl,
              view **out, rs_err *e) {
  *out = NULL;
  view *v = calloc(1, sizeof *v);
  if (v == NULL) return rs_err_set(e, RS_ENOMEM, "viewer: out of memory");
  v->loop = loop;
  v->src = *src;
  if (ctl != NULL) v->ctl = *ctl;
  int rc = view_frames_init(&v->fr, src->city, src->grid, e);
  if (rc != 0) {
    free(v);
    return rc;
  }
  view_frames_reset(&v->fr, src->eng);
  rc = view_frames_scene(&v->fr, src->city, src->grid, src->net, src->eng, src->vt != NULL,
                         src->label);
  if (rc == 0) {
    v->scene = view_buf_new(v->fr.buf, v->fr.len);
    v->page = view_buf_new(view_page_html, view_page_html_len);
  }
  if (rc != 0 || v->scene == NULL || v->page == NULL) {
    view_buf_unref(v->scene);
    view_buf_unref(v->page);
    view_frames_free(&v->fr);
    free(v);
    return rs_err_set(e, RS_ENOMEM, "viewer: out of memory");
  }
  view_server_opts so = {a->host, a->port, v, route};
  if ((rc = view_server_start(loop, &so, &v->srv, e)) != 0) {
    view_buf_unref(v->scene);
    view_buf_unref(v->page);
    view_frames_free(&v->fr);
    free(v);
    return rc;
  }
  *out = v;
  return 0;
}

int view_port(const view *v) { return view_server_port(v->srv); }
int view_streams(const view *v) { return view_server_streams(v->srv); }
int64_t view_frames_sent(const view *v) { return view_server_sent(v->srv); }
int64_t view_frames_dropped(const view *v) { return view_server_dropped(v->srv); }
double view_build_s(const view *v) { return (double)v->build_ns / 1e9; }

static void send_frame(view *v, uint64_t now, int force) {
  uint64_t t0 = uv_hrtime();
  view_pace p;
  pace_of(v, &p);
  int heat = now - v->heat_ms >= VIEW_HEAT_MS || v->heat_ms == 0;
  if (view_frames_build(&v->fr, v->src.eng, v->src.grid, v->src.vt, &p, heat) == 0) {
    if (heat) v->heat_ms = now;
    view_buf *b = view_buf_new(v->fr.buf, v->fr.len);
    if (b != NULL) view_server_send(v->srv, b, now, force);
    view_buf_unref(b);
  }
  v->build_ns += uv_hrtime() - t0;
}

void view_tick(view *v) {
  if (v->closed || view_server_streams(v->srv) == 0) return;
  uv_update_time(v->loop);
  uint64_t now = uv_now(v->loop);
  if (!view_server_wants(v->srv, now)) return;
  send_frame(v, now, 0);
}

void view_flush(view *v) {
  if (v->closed || view_server_streams(v->srv) == 0) return;
  uv_update_time(v->loop);
  send_frame(v, uv_now(v->loop), 1);
}

void view_set_engine(view *v, const sim_engine *eng, const val_table *vt) {
  v->src.eng = eng;
  v->src.vt = vt;
  view_frames_reset(&v->fr, eng);
}

void view_close(view *v, const char *why) {
  if (v == NULL || v->closed) return;
  v->closed = 1;
  char *last = NULL;
  if (view_server_streams(v->srv) > 0) {
    /* the last picture, then the end, as one write */
    view_pace p;
    pace_of(v, &p);
    p.mode = "ended";
    if (view_frames_build(&v->fr, v->src.eng, v->src.grid, v->src.vt, &p, 1) == 0 &&
        (last = malloc(v->fr.len + 256)) != NULL) {
      memcpy(last, v->fr.buf, v->fr.len);
      size_t n = v->fr.len;
      if (view_frames_end(&v->fr, v->src.eng, why) == 0 && v->fr.len < 256) {
        memcpy(last + n, v->fr.buf, v->fr.len + 1);
      } else {
        last[n] = '\0';
      }
    }
  }
  view_server_close(v->srv, last);
  free(last);
  view_buf_unref(v->page);
  view_buf_unref(v->scene);
  view_frames_free(&v->fr);
  free(v);
}
