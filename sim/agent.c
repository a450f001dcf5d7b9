/*
 * agent: the external-agent bridge's process side; see agent.h for what it
 * promises, agent_proto.h for the protocol it speaks (observations, request
 * lines, reply validation, the fault log) and docs/agent-protocol.md for
 * the wire format.
 *
 * One request at a time. The engine asks (a policy callback), the bridge
 * has the protocol build the observation and the request line into a free
 * output buffer and returns DISP_PENDING; the loop calls sim_agent_on_wait,
 * which writes the line, numbers it (the protocol's "tick": requests are
 * numbered 0 for init, then 1, 2, ... over dispatch and repositioning
 * alike) and arms the timer. Replies answer requests in order; a reply
 * carries the number back ("tick"), and one that does not is matched by
 * counting lines. So a late reply is recognised whenever it comes, and
 * dropped.
 *
 * Output buffers: two, so that a request can be built while the previous
 * write is still in flight. When both are in flight the agent has stopped
 * reading its input; the request is then not sent and counts as timed out.
 *
 * Late replies: a request whose time limit passed is remembered (late_seq);
 * the next request is built but held (waiting_late) until that reply comes,
 * and the call timer then measures late_limit_s, past which the agent is
 * hung. So the agent's replies never fall behind by more than one request,
 * and no request is sent to an agent still busy with an earlier one.
 *
 * The child runs detached (setsid: a process group of its own, led by its
 * shell), so that stopping it can signal the whole group: an agent started
 * by a shell that forks it would otherwise outlive its killed shell.
 *
 * A built-in policy answers in-process from a decision rebuilt out of the
 * protocol's records, and its answer is validated item by item as an
 * agent's would be (agent_proto's accept functions).
 *
 * Costs: those of the protocol (agent_proto.c) plus, for a built-in policy,
 * one copy of the records into the rebuilt decision. Buffers grow to the
 * largest tick and are reused. The clocks of sim_agent_stats are read
 * around the protocol's calls.
 */
#include "sim/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/rs_vec.h"

#define READ_CHUNK 65536
#define KILL_GRACE_MS 2000    /* after closing its input, the agent has this long to exit */
#define EOF_GRACE_MS 500      /* after the agent closes its output, wait this long for its exit */

typedef struct {
  uv_write_t req;           /* the write in flight (req.data: this buffer) */
  sim_agent_proto_buf b;    /* the request line */
  int busy;                 /* a write of it is in flight */
  struct sim_agent *a;      /* the bridge it belongs to */
} out_buf;

/* A built-in policy's decision, rebuilt from the observation records: the
 * arrays of a disp_tick (and a disp_repo's destinations), each with its
 * rs_vec capacity. */
typedef struct {
  int32_t *row_order, *row_ptr; /* the engine's rows; offsets into the edges */
  int32_t *edge_driver;     /* candidates in record order */
  double *edge_dist, *edge_eta; /* from the records, distances back on the city's sphere */
  disp_assign *out;         /* the policy's answer */
  int32_t *dest;            /* a repositioning round's destinations */
  size_t cap_row_order, cap_row_ptr, cap_edge_driver, cap_edge_dist, cap_edge_eta, cap_out,
      cap_dest;             /* allocated, in elements */
} rebuilt;

struct sim_agent {
  sim_agent_opts o;         /* as given, defaults filled in */
  int builtin;              /* a built-in policy answers in-process */
  sim_agent_proto proto;    /* observations, validation, the fault log */

  /* the child */
  sim_loop *loop;           /* the run's loop (borrowed) */
  uv_loop_t *uv;            /* its libuv loop */
  uv_process_t proc;        /* the agent */
  uv_pipe_t pin, pout, perr; /* its stdin, stdout, stderr */
  uv_timer_t timer, kill_timer; /* the call's time limit; the grace before SIGKILL */
  uv_timer_t eof_timer;     /* after the agent closed its output */
  int out_closed;           /* it did: no reply can come any more */
  int sigpipe_held;         /* SIGPIPE was blocked by sim_agent_start */
  int spawned;              /* handles initialised */
  int open_handles;         /* initialised and not yet closed */
  int stopping;             /* sim_agent_stop began: exits are expected */
  int in_init;              /* the init handshake is under way */
  int init_done, init_ok;   /* the handshake ended; and succeeded */
  char init_msg[400];       /* why it failed */

  /* requests */
  int64_t seq;              /* number of the last request sent (-1: none) */
  int64_t next_reply;       /* the request the next unnumbered reply answers */
  int prepared;             /* SIM_AGENT_REQ_* + 1 of a request built, not yet sent */
  out_buf *prep_buf;        /* its line (NULL: no free buffer) */
  int pending;              /* a request awaits its reply */
  int pending_kind;         /* its SIM_AGENT_REQ_* */
  int64_t pending_seq;      /* its number */
  uint64_t sent_ns;         /* when it was written (uv_hrtime) */
  int64_t late_seq;         /* a request past its time limit, unanswered (-1: none) */
  int waiting_late;         /* the prepared request waits for late_seq's reply */
  uint8_t kind_of[64];      /* request kinds of recent numbers (for late replies) */
  disp_tick *tick;          /* the dispatch decision being answered */
  disp_repo *repo;          /* the repositioning round being answered */

  rebuilt b;                /* a built-in policy's decision */

  out_buf ob[2];            /* request lines (two: see above) */
  char *lb;                 /* partial reply line */
  size_t lb_len, lb_cap;    /* its bytes; allocated (rs_vec) */
  int lb_overflow;          /* the current line passed the limit: skip to its end */
  char rbuf[READ_CHUNK];    /* reads of the agent's stdout */
  char ebuf[4096];          /* and of its stderr */

  /* What the bridge measured; the protocol's counters are copied in by
   * sim_agent_stats_get (hence a block of its own, written through a
   * const bridge). */
  sim_agent_stats *st;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static out_buf *free_buf(sim_agent *a) {
  for (int i = 0; i < 2; i++)
    if (!a->ob[i].busy) return &a->ob[i];
  return NULL;
}

/* Runs the fallback on the engine's own decision (the reply failed). */
static int run_fallback(sim_agent *a, disp_tick *t, rs_err *e) {
  t->n_out = 0;
  if (a->o.fallback == NULL) return 0;
  int64_t t0 = now_ns();
  int rc = a->o.fallback->dispatch(a->o.fallback->ctx, t, e);
  a->st->fallback_ns += now_ns() - t0;
  a->st->fallback_ticks++;
  if (rc == DISP_PENDING)
    return rs_err_set(e, RS_EINVAL, "fallback policy '%s' cannot answer later",
                      a->o.fallback->name);
  return rc;
}

/* ---------------------------------------------------------- the child */

static void on_handle_closed(uv_handle_t *h) {
  sim_agent *a = h->data;
  a->open_handles--;
}

static void close_handle(sim_agent *a, uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, on_handle_closed);
  (void)a;
}

/* The agent is gone during the run: end the run (results are the caller's). */
static void agent_died(sim_agent *a, const char *why) {
  if (a->stopping || a->st->died) return;
  a->st->died = 1;
  int kind = a->pending      ? a->pending_kind
             : a->in_init    ? SIM_AGENT_REQ_INIT
             : a->prepared   ? a->prepared - 1
                             : SIM_AGENT_REQ_DISPATCH;
  sim_agent_proto_fault(&a->proto, kind, a->pending ? a->pending_seq : a->seq, SIM_AGENT_F_DIED, 0,
                        "%s", why);
  uv_timer_stop(&a->timer);
  uv_timer_stop(&a->eof_timer);
  a->pending = 0;
  a->waiting_late = 0;
  if (a->in_init) {
    a->init_done = 1;
    a->init_ok = 0;
    snprintf(a->init_msg, sizeof a->init_msg, "the agent %s during init", why);
    return;
  }
  char msg[300];
  snprintf(msg, sizeof msg, "the agent %s (simulated time stopped there; results so far kept)",
           why);
  if (a->loop) sim_loop_abort(a->loop, RS_EAGENT, msg);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  sim_agent *a = p->data;
  a->st->exited = 1;
  a->st->exit_status = status;
  a->st->term_signal = sig;
  close_handle(a, (uv_handle_t *)p);
  char why[120];
  if (sig) snprintf(why, sizeof why, "was killed by signal %d", sig);
  else snprintf(why, sizeof why, "exited with status %" PRId64, status);
  agent_died(a, why);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  sim_agent *a = h->data;
  (void)suggested;
  if (h == (uv_handle_t *)&a->perr) *buf = uv_buf_init(a->ebuf, sizeof a->ebuf);
  else *buf = uv_buf_init(a->rbuf, sizeof a->rbuf);
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sim_agent *a = s->data;
  (void)a;
  if (n > 0) {
    fwrite(buf->base, 1, (size_t)n, stderr);
  } else if (n < 0) {
    uv_read_stop(s);
  }
}

static void handle_line(sim_agent *a, const char *line, size_t len);

static void on_eof_grace(uv_timer_t *t) {
  sim_agent *a = t->data;
  agent_died(a, "closed its output");
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sim_agent *a = s->data;
  if (n < 0) {
    uv_read_stop(s);
    if (a->stopping || a->st->died) return;
    /* Usually the process is exiting: give its exit status a moment to
     * arrive, so the death is reported with it. An agent that closed its
     * output and lives on is dead to the run all the same. */
    a->out_closed = 1;
    uv_timer_start(&a->eof_timer, on_eof_grace, EOF_GRACE_MS, 0);
    return;
  }
  a->st->bytes_in += n;
  const char *p = buf->base, *end = buf->base + n;
  while (p < end && !a->stopping) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t chunk = (size_t)((nl ? nl : end) - p);
    if (!a->lb_overflow) {
      if (a->lb_len + chunk > a->o.line_max) {
        a->lb_overflow = 1;
        a->lb_len = 0;
      } else if (chunk > 0) {
        if (rs_vec_grow(a->lb, a->lb_cap, a->lb_len + chunk + 1)) {
          a->lb_overflow = 1; /* treated as too long: the limit we can hold */
          a->lb_len = 0;
        } else {
          memcpy(a->lb + a->lb_len, p, chunk);
          a->lb_len += chunk;
        }
      }
    }
    if (nl == NULL) break;
    p = nl + 1;
    if (a->lb_overflow) {
      a->lb_overflow = 0;
      handle_line(a, NULL, 0);
    } else {
      a->lb[a->lb_len] = '\0';
      size_t l = a->lb_len;
      a->lb_len = 0;
      if (l == 0 || (l == 1 && a->lb[0] == '\r')) continue; /* blank lines are ignored */
      handle_line(a, a->lb, l);
    }
  }
}

static void on_write(uv_write_t *req, int status) {
  out_buf *b = req->data;
  b->busy = 0;
  if (status < 0 && !b->a->stopping) agent_died(b->a, "stopped reading its input (broken pipe)");
}

static void on_timeout(uv_timer_t *t);

/* Sends the prepared request (the on_wait hook, and init). 0, or -1 when
 * no buffer was free (the agent is not reading). */
static int send_prepared(sim_agent *a, int kind) {
  out_buf *b = a->prep_buf;
  a->prep_buf = NULL;
  a->prepared = 0;
  if (b == NULL) return -1;
  /* the line was written with the next number */
  a->seq++;
  a->kind_of[a->seq & 63] = (uint8_t)kind;
  b->busy = 1;
  uv_buf_t ub = uv_buf_init(b->b.data, (unsigned)b->b.len);
  b->req.data = b;
  int rc = uv_write(&b->req, (uv_stream_t *)&a->pin, &ub, 1, on_write);
  if (rc < 0) {
    b->busy = 0;
    agent_died(a, "cannot be written to");
    return 0;
  }
  a->st->bytes_out += (int64_t)b->b.len;
  a->st->requests[kind]++;
  a->pending = 1;
  a->pending_kind = kind;
  a->pending_seq = a->seq;
  a->sent_ns = uv_hrtime();
  double to = kind == SIM_AGENT_REQ_INIT ? a->o.init_timeout_s : a->o.timeout_s;
  uv_timer_start(&a->timer, on_timeout, (uint64_t)ceil(to * 1000.0), 0);
  return 0;
}

/* ---------------------------------------------------------- completing */

/* Applies a dispatch reply whose envelope stood (rp), or, when rp is NULL
 * (the reply failed or never came), lets the fallback decide. */
static void finish_dispatch(sim_agent *a, const sim_agent_proto_reply *rp, int64_t seq) {
  disp_tick *t = a->tick;
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->st->roundtrip_ns += (int64_t)(uv_hrtime() - a->sent_ns);
  int64_t t0 = now_ns();
  rs_err e;
  rs_err_clear(&e);
  int rc = 0;
  t->n_out = 0;
  if (rp != NULL) {
    a->st->replies_ok++;
    sim_agent_proto_dispatch_items(&a->proto, t, seq, rp);
  } else {
    a->st->replies_failed++;
    rc = run_fallback(a, t, &e);
  }
  sim_agent_proto_end_reply(&a->proto, SIM_AGENT_REQ_DISPATCH, seq);
  a->st->validate_ns += now_ns() - t0;
  a->tick = NULL;
  if (rc) {
    sim_loop_abort(a->loop, rc, e.msg);
    return;
  }
  sim_loop_resume(a->loop);
}

static void finish_repo(sim_agent *a, const sim_agent_proto_reply *rp, int64_t seq) {
  disp_repo *r = a->repo;
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->st->roundtrip_ns += (int64_t)(uv_hrtime() - a->sent_ns);
  int64_t t0 = now_ns();
  if (rp != NULL) {
    a->st->replies_ok++;
    sim_agent_proto_repo_items(&a->proto, r, seq, rp);
  } else {
    a->st->replies_failed++; /* everybody stays */
  }
  sim_agent_proto_end_reply(&a->proto, SIM_AGENT_REQ_REPOSITION, seq);
  a->st->validate_ns += now_ns() - t0;
  a->repo = NULL;
  sim_loop_resume(a->loop);
}

static void finish_init(sim_agent *a, int ok, const char *msg) {
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->init_done = 1;
  a->init_ok = ok;
  if (!ok) {
    a->st->init_failed = 1;
    snprintf(a->init_msg, sizeof a->init_msg, "%.380s", msg);
  }
}

static void on_timeout(uv_timer_t *tm) {
  sim_agent *a = tm->data;
  if (!a->pending) return;
  int kind = a->pending_kind;
  double to = kind == SIM_AGENT_REQ_INIT ? a->o.init_timeout_s : a->o.timeout_s;
  sim_agent_proto_fault(&a->proto, kind, a->pending_seq, SIM_AGENT_F_TIMEOUT, 0,
                        "no reply within %.3f s", to);
  a->late_seq = a->pending_seq; /* the next request waits for its reply */
  if (kind == SIM_AGENT_REQ_INIT) {
    char m[120];
    snprintf(m, sizeof m, "InitAgentError: no reply to init within %.1f s", to);
    finish_init(a, 0, m);
  } else if (kind == SIM_AGENT_REQ_DISPATCH) {
    finish_dispatch(a, NULL, a->pending_seq);
  } else {
    finish_repo(a, NULL, a->pending_seq);
  }
}

static void send_held(sim_agent *a);

/* One reply line (NULL: it passed the size limit). */
static void handle_line(sim_agent *a, const char *line, size_t len) {
  int64_t t0 = now_ns();
  sim_agent_proto_reply rp;
  sim_agent_proto_parse(&rp, line, len);
  a->st->parse_ns += now_ns() - t0;
  int64_t rs = rp.has_tick ? rp.tick : a->next_reply;
  a->next_reply = rs + 1;
  if (!a->pending || rs != a->pending_seq) {
    if (rs <= a->seq && rs >= 0) {
      int kind = a->kind_of[rs & 63];
      sim_agent_proto_fault(&a->proto, kind, rs, SIM_AGENT_F_LATE, 0,
                            "reply to request %" PRId64 " arrived after its timeout: discarded",
                            rs);
      if (rs >= a->late_seq && a->late_seq >= 0) {
        /* the agent has caught up: the request held back goes out now */
        a->late_seq = -1;
        if (a->waiting_late) {
          a->waiting_late = 0;
          uv_timer_stop(&a->timer);
          send_held(a);
        }
      }
    } else {
      sim_agent_proto_fault(&a->proto, a->pending ? a->pending_kind : SIM_AGENT_REQ_DISPATCH, rs,
                            SIM_AGENT_F_BAD_REPLY, 0,
                            "reply to request %" PRId64 ", which was never sent", rs);
    }
    sim_agent_proto_reply_free(&rp);
    return;
  }
  int kind = a->pending_kind;
  int ok = sim_agent_proto_envelope(&a->proto, kind, rs, &rp) == 0;
  if (kind == SIM_AGENT_REQ_INIT) {
    char m[500] = "";
    if (!ok) sim_agent_proto_init_error(&rp, m, sizeof m);
    finish_init(a, ok, m);
  } else if (kind == SIM_AGENT_REQ_DISPATCH) {
    finish_dispatch(a, ok ? &rp : NULL, rs);
  } else {
    finish_repo(a, ok ? &rp : NULL, rs);
  }
  sim_agent_proto_reply_free(&rp);
}

/* -------------------------------------------------------- the policies */

/* Grows the rebuilt decision's arrays (rows, edges). */
static int ensure_builtin(rebuilt *b, size_t rows, size_t edges) {
  if (rs_vec_grow(b->row_order, b->cap_row_order, rows) ||
      rs_vec_grow(b->row_ptr, b->cap_row_ptr, rows + 1) ||
      rs_vec_grow(b->out, b->cap_out, rows) ||
      rs_vec_grow(b->edge_driver, b->cap_edge_driver, edges) ||
      rs_vec_grow(b->edge_dist, b->cap_edge_dist, edges) ||
      rs_vec_grow(b->edge_eta, b->cap_edge_eta, edges))
    return -1;
  return 0;
}

/* A built-in policy's answer, from a decision rebuilt out of the
 * observation records: candidates in record order, distances from
 * order_driver_distance (back on the city's sphere), ETAs from pick_up_eta.
 * The rows are the engine's, in its order, including orders without any
 * candidate (which no record can name, so they carry no information): a
 * solver breaks ties between matchings of equal total by row position, and
 * keeping the rows keeps those ties broken as in a plain run. */
static int builtin_dispatch(sim_agent *a, disp_tick *t, int64_t seq, rs_err *e) {
  const sim_agent_proto *p = &a->proto;
  size_t ne = p->n_obs;
  rebuilt *b = &a->b;
  double ratio = sim_agent_proto_dist_ratio(p, t->travel);
  if (ensure_builtin(b, (size_t)t->n_rows + 1, ne + 1))
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  disp_tick bt = *t;
  int32_t nr = t->n_rows;
  size_t i = 0;
  for (int32_t r = 0; r < nr; r++) {
    b->row_ptr[r] = (int32_t)i;
    b->row_order[r] = t->row_order[r];
    for (; i < ne && p->obs[i].order == t->row_order[r]; i++) {
      const sim_agent_proto_rec *x = &p->obs[i];
      b->edge_driver[i] = x->driver_id;
      b->edge_dist[i] = x->dist * ratio;
      b->edge_eta[i] = x->eta;
    }
  }
  b->row_ptr[nr] = (int32_t)i;
  if (i != ne) return rs_err_set(e, RS_EINVAL, "agent: observation out of step with the decision");
  bt.n_rows = nr;
  bt.row_order = b->row_order;
  bt.row_ptr = b->row_ptr;
  bt.edge_driver = b->edge_driver;
  bt.edge_dist = b->edge_dist;
  bt.edge_eta = b->edge_eta;
  bt.out = b->out;
  bt.n_out = 0;
  int64_t t0 = now_ns();
  int rc = a->o.builtin->dispatch(a->o.builtin->ctx, &bt, e);
  a->st->builtin_ns += now_ns() - t0;
  if (rc == DISP_PENDING)
    return rs_err_set(e, RS_EINVAL, "policy '%s' cannot answer later behind the agent bridge",
                      a->o.builtin->name);
  if (rc) return rc;
  a->st->requests[SIM_AGENT_REQ_DISPATCH]++;
  a->st->replies_ok++;
  t0 = now_ns();
  t->n_out = 0;
  a->tick = t;
  for (int32_t j = 0; j < bt.n_out && j < nr; j++) {
    int32_t o = bt.out[j].order, d = bt.out[j].driver;
    sim_agent_proto_accept_pair(&a->proto, t, seq, t->orders[o].id, d);
  }
  sim_agent_proto_end_reply(&a->proto, SIM_AGENT_REQ_DISPATCH, seq);
  a->tick = NULL;
  a->st->validate_ns += now_ns() - t0;
  return 0;
}

static int agent_dispatch(void *ctx, disp_tick *t, rs_err *e) {
  sim_agent *a = ctx;
  int64_t t0 = now_ns();
  int rc = sim_agent_proto_dispatch_observ(&a->proto, t);
  a->st->build_ns += now_ns() - t0;
  if (rc) return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  if (a->builtin) {
    a->seq++;
    return builtin_dispatch(a, t, a->seq, e);
  }
  a->tick = t;
  a->prepared = SIM_AGENT_REQ_DISPATCH + 1;
  a->prep_buf = free_buf(a);
  if (a->prep_buf) {
    t0 = now_ns();
    rc = sim_agent_proto_write_dispatch(&a->proto, &a->prep_buf->b, a->seq + 1);
    a->st->serialize_ns += now_ns() - t0;
    if (rc) return rs_err_set(e, RS_ENOMEM, "agent: out of memory for a request");
  }
  return DISP_PENDING;
}

/* A built-in repositioning policy's round: its destinations go through the
 * protocol as grid ids, as an agent's would. */
static int builtin_reposition(sim_agent *a, disp_repo *r, int64_t seq, rs_err *e) {
  a->st->requests[SIM_AGENT_REQ_REPOSITION]++;
  if (a->o.builtin_repo == NULL) return 0;
  rebuilt *b = &a->b;
  if (rs_vec_grow(b->dest, b->cap_dest, (size_t)r->n_eligible))
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  disp_repo br = *r;
  br.dest_cell = b->dest;
  for (int32_t i = 0; i < r->n_eligible; i++) b->dest[i] = -1;
  int64_t t0 = now_ns();
  int rc = a->o.builtin_repo->reposition(a->o.builtin_repo->ctx, &br, e);
  a->st->builtin_ns += now_ns() - t0;
  if (rc == DISP_PENDING)
    return rs_err_set(e, RS_EINVAL, "policy '%s' cannot answer later behind the agent bridge",
                      a->o.builtin_repo->name);
  if (rc) return rc;
  a->st->replies_ok++;
  t0 = now_ns();
  a->repo = r;
  char gid[CITY_KDD_ID_MAX + 16];
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t c = b->dest[i];
    if (c < 0 || c >= a->o.grid->n_cells) continue;
    double lat, lng;
    city_grid_center(a->o.grid, city_grid_hex(a->o.grid, c), &lat, &lng);
    sim_agent_proto_grid_id(&a->proto, lat, lng, c, gid, sizeof gid);
    sim_agent_proto_accept_move(&a->proto, r, seq, r->eligible[i], gid);
  }
  sim_agent_proto_end_reply(&a->proto, SIM_AGENT_REQ_REPOSITION, seq);
  a->repo = NULL;
  a->st->validate_ns += now_ns() - t0;
  return 0;
}

static int agent_reposition(void *ctx, disp_repo *r, rs_err *e) {
  sim_agent *a = ctx;
  int64_t t0 = now_ns();
  int rc = sim_agent_proto_repo_observ(&a->proto, r);
  a->st->build_ns += now_ns() - t0;
  if (rc) return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  if (a->builtin) return builtin_reposition(a, r, ++a->seq, e);
  a->repo = r;
  a->prepared = SIM_AGENT_REQ_REPOSITION + 1;
  a->prep_buf = free_buf(a);
  if (a->prep_buf) {
    t0 = now_ns();
    rc = sim_agent_proto_write_repo(&a->proto, &a->prep_buf->b, r, a->seq + 1);
    a->st->serialize_ns += now_ns() - t0;
    if (rc) return rs_err_set(e, RS_ENOMEM, "agent: out of memory for a request");
  }
  return DISP_PENDING;
}

static const disp_solve_stat *agent_solve_stats(void *ctx, int32_t *n) {
  sim_agent *a = ctx;
  *n = 0;
  if (a->builtin && a->o.builtin->solve_stats)
    return a->o.builtin->solve_stats(a->o.builtin->ctx, n);
  return NULL;
}

disp_policy sim_agent_policy(sim_agent *a) {
  disp_policy p;
  memset(&p, 0, sizeof p);
  p.name = a->builtin ? a->o.builtin->name : "agent";
  p.immediate = 0;
  /* An external agent promises nothing; a built-in one keeps its own
   * promise, so the engine offers it the same rows as in a plain run. */
  p.maximal = a->builtin ? a->o.builtin->maximal : 0;
  /* Likewise the per-driver cap of the candidate graph: a built-in policy
   * gets the graph it asks for; an external agent sees every candidate. */
  p.driver_top_k = a->builtin ? a->o.builtin->driver_top_k : 0;
  p.ctx = a;
  p.dispatch = agent_dispatch;
  p.solve_stats = agent_solve_stats;
  p.destroy = NULL;
  return p;
}

disp_repolicy sim_agent_repolicy(sim_agent *a) {
  disp_repolicy p;
  memset(&p, 0, sizeof p);
  p.name = a->builtin && a->o.builtin_repo ? a->o.builtin_repo->name : "agent";
  p.ctx = a;
  p.reposition = agent_reposition;
  p.destroy = NULL;
  return p;
}

/* A late reply did not come within the late limit: the agent hangs. */
static void on_late_limit(uv_timer_t *t) {
  sim_agent *a = t->data;
  if (!a->waiting_late) return;
  char why[160];
  snprintf(why, sizeof why, "did not answer request %" PRId64 " within %.1f s of its time limit (hung)",
           a->late_seq, a->o.late_limit_s);
  agent_died(a, why);
}

void sim_agent_on_wait(void *arg, sim_loop *l, sim_engine *s) {
  sim_agent *a = arg;
  a->loop = l;
  int kind = a->prepared - 1;
  int want = sim_engine_pending(s) == SIM_PENDING_DISPATCH ? SIM_AGENT_REQ_DISPATCH
                                                           : SIM_AGENT_REQ_REPOSITION;
  if (a->builtin || a->prepared == 0 || kind != want) {
    sim_loop_abort(l, RS_EINVAL, "agent: the engine waits for a decision the agent was not asked");
    return;
  }
  if (a->st->died) {
    sim_loop_abort(l, RS_EAGENT, "the agent is no longer running");
    return;
  }
  if (a->out_closed) {
    agent_died(a, "closed its output");
    return;
  }
  if (a->late_seq >= 0) {
    /* an earlier request is still unanswered: this one waits for its reply */
    a->waiting_late = 1;
    uint64_t ms = (uint64_t)ceil((a->o.timeout_s + a->o.late_limit_s) * 1000.0);
    uint64_t passed = (uv_hrtime() - a->sent_ns) / 1000000u;
    uv_timer_start(&a->timer, on_late_limit, ms > passed ? ms - passed : 0, 0);
    return;
  }
  send_held(a);
}

/* Sends the prepared request now that the agent has answered every earlier
 * one. */
static void send_held(sim_agent *a) {
  int kind = a->prepared - 1;
  if (a->prepared == 0) return;
  if (send_prepared(a, kind) == 0) return;
  /* Both output buffers are still in flight: the agent does not read. */
  sim_agent_proto_fault(&a->proto, kind, a->seq + 1, SIM_AGENT_F_TIMEOUT, 0,
                        "the agent has not read its previous requests: this one was not sent");
  a->sent_ns = uv_hrtime();
  if (kind == SIM_AGENT_REQ_DISPATCH) finish_dispatch(a, NULL, a->seq + 1);
  else finish_repo(a, NULL, a->seq + 1);
}

/* ------------------------------------------------------------ lifecycle */

int sim_agent_new(const sim_agent_opts *o, sim_agent **out, rs_err *e) {
  *out = NULL;
  if ((o->command == NULL) == (o->builtin == NULL))
    return rs_err_set(e, RS_EINVAL, "agent: give either a command or a built-in policy");
  if (o->city == NULL || o->grid == NULL)
    return rs_err_set(e, RS_EINVAL, "agent: the city and its grid are required");
  sim_agent *a = calloc(1, sizeof *a);
  sim_agent_stats *st = calloc(1, sizeof *st);
  if (a == NULL || st == NULL) {
    free(a);
    free(st);
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  }
  a->st = st;
  a->o = *o;
  if (a->o.timeout_s <= 0) a->o.timeout_s = SIM_AGENT_TIMEOUT_DEFAULT_S;
  if (a->o.init_timeout_s <= 0) a->o.init_timeout_s = SIM_AGENT_INIT_TIMEOUT_DEFAULT_S;
  if (a->o.late_limit_s <= 0) a->o.late_limit_s = SIM_AGENT_LATE_LIMIT_DEFAULT_S;
  if (a->o.line_max == 0) a->o.line_max = SIM_AGENT_LINE_MAX_DEFAULT;
  sim_agent_proto_opts po = {o->city, o->grid, o->kdd, o->tick_s, o->t_from,
                             o->log,  o->run_id, a->o.line_max};
  int rc = sim_agent_proto_init(&a->proto, &po, e);
  if (rc) {
    sim_agent_free(a);
    return rc;
  }
  a->builtin = o->builtin != NULL;
  a->seq = -1;
  a->late_seq = -1;
  a->next_reply = 0;
  a->ob[0].a = a->ob[1].a = a;
  *out = a;
  return 0;
}

int sim_agent_start(sim_agent *a, sim_loop *l, rs_err *e) {
  a->loop = l;
  if (a->builtin) return 0;
  a->uv = sim_loop_uv(l);
  uv_loop_t *uv = a->uv;
  uv_pipe_init(uv, &a->pin, 0);
  uv_pipe_init(uv, &a->pout, 0);
  uv_pipe_init(uv, &a->perr, 0);
  uv_timer_init(uv, &a->timer);
  uv_timer_init(uv, &a->kill_timer);
  uv_timer_init(uv, &a->eof_timer);
  a->pin.data = a->pout.data = a->perr.data = a->timer.data = a->kill_timer.data = a;
  a->eof_timer.data = a;
  a->proc.data = a;
  a->open_handles = 6;
  a->spawned = 1;
  /* A write to an agent that has exited raises SIGPIPE, whose default
   * action ends ridesim: blocked on this thread, the write fails with
   * EPIPE instead and the agent counts as died (sim_agent_stop consumes
   * the pending signal and unblocks it). */
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0) a->sigpipe_held = !sigismember(&old, SIGPIPE);
  char *args[] = {"/bin/sh", "-c", (char *)a->o.command, NULL};
  uv_stdio_container_t io[3];
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&a->pin;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&a->pout;
  io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[2].data.stream = (uv_stream_t *)&a->perr;
  uv_process_options_t po;
  memset(&po, 0, sizeof po);
  po.file = "/bin/sh";
  po.args = args;
  po.exit_cb = on_exit_cb;
  po.stdio_count = 3;
  po.stdio = io;
  po.flags = UV_PROCESS_DETACHED; /* a process group of its own (see above) */
  a->in_init = 1;
  int rc = uv_spawn(uv, &a->proc, &po);
  a->open_handles++; /* closed in the exit callback, or below when the spawn failed */
  if (rc < 0) {
    a->st->init_failed = 1;
    sim_agent_proto_fault(&a->proto, SIM_AGENT_REQ_INIT, 0, SIM_AGENT_F_DIED, 0,
                          "cannot start /bin/sh: %s", uv_strerror(rc));
    /* a failed spawn leaves the handle to be closed all the same */
    a->st->exited = 1;
    close_handle(a, (uv_handle_t *)&a->proc);
    a->in_init = 0;
    return rs_err_set(e, RS_EAGENT, "InitAgentError: cannot start the agent: %s",
                      uv_strerror(rc));
  }
  uv_read_start((uv_stream_t *)&a->pout, on_alloc, on_out_read);
  uv_read_start((uv_stream_t *)&a->perr, on_alloc, on_err_read);
  out_buf *b = free_buf(a);
  if (sim_agent_proto_write_init(&b->b)) {
    a->in_init = 0;
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  }
  a->prep_buf = b;
  a->prepared = SIM_AGENT_REQ_INIT + 1;
  send_prepared(a, SIM_AGENT_REQ_INIT);
  while (!a->init_done && uv_run(uv, UV_RUN_ONCE)) {
  }
  a->in_init = 0;
  if (!a->init_done) {
    a->init_done = 1;
    snprintf(a->init_msg, sizeof a->init_msg, "InitAgentError: the agent went silent");
  }
  if (!a->init_ok) {
    a->st->init_failed = 1;
    if (strncmp(a->init_msg, "InitAgentError", 14) != 0) {
      char m[sizeof a->init_msg];
      snprintf(m, sizeof m, "InitAgentError: %.360s", a->init_msg);
      snprintf(a->init_msg, sizeof a->init_msg, "%s", m);
    }
    return rs_err_set(e, RS_EAGENT, "%s", a->init_msg);
  }
  return 0;
}

/* Kills the agent's process group: its shell and everything it started. */
static void kill_group(sim_agent *a) {
  if (a->proc.pid > 0) kill(-a->proc.pid, SIGKILL);
}

static void on_kill_timer(uv_timer_t *t) {
  sim_agent *a = t->data;
  if (!a->st->exited) {
    kill_group(a);
    uv_process_kill(&a->proc, SIGKILL);
  }
}

void sim_agent_stop(sim_agent *a) {
  if (a == NULL || !a->spawned) return;
  a->stopping = 1;
  uv_timer_stop(&a->timer);
  close_handle(a, (uv_handle_t *)&a->pin); /* the agent sees the end of its input */
  if (!a->st->exited) {
    uv_timer_start(&a->kill_timer, on_kill_timer, KILL_GRACE_MS, 0);
    while (!a->st->exited && uv_run(a->uv, UV_RUN_ONCE)) {
    }
  }
  /* whatever the shell started and left behind goes with it */
  kill_group(a);
  close_handle(a, (uv_handle_t *)&a->pout);
  close_handle(a, (uv_handle_t *)&a->perr);
  close_handle(a, (uv_handle_t *)&a->timer);
  close_handle(a, (uv_handle_t *)&a->kill_timer);
  close_handle(a, (uv_handle_t *)&a->eof_timer);
  close_handle(a, (uv_handle_t *)&a->proc);
  while (a->open_handles > 0 && uv_run(a->uv, UV_RUN_ONCE)) {
  }
  a->spawned = 0;
  if (a->sigpipe_held) {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    const struct timespec now = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &now) == SIGPIPE) {
    }
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
    a->sigpipe_held = 0;
  }
}

const sim_agent_stats *sim_agent_stats_get(const sim_agent *a) {
  const sim_agent_proto_counts *c = &a->proto.counts;
  sim_agent_stats *st = a->st;
  memcpy(st->faults, c->faults, sizeof st->faults);
  memcpy(st->faults_by_kind, c->faults_by_kind, sizeof st->faults_by_kind);
  st->candidates = c->candidates;
  st->pairs_accepted = c->pairs_accepted;
  st->pairs_dropped = c->pairs_dropped;
  st->moves_accepted = c->moves_accepted;
  return st;
}

void sim_agent_free(sim_agent *a) {
  if (a == NULL) return;
  sim_agent_proto_close(&a->proto);
  free(a->b.row_order);
  free(a->b.row_ptr);
  free(a->b.edge_driver);
  free(a->b.edge_dist);
  free(a->b.edge_eta);
  free(a->b.out);
  free(a->b.dest);
  free(a->ob[0].b.data);
  free(a->ob[1].b.data);
  free(a->lb);
  free(a->st);
  free(a);
}
