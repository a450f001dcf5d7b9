/*
 * agent: the external-agent bridge; see agent.h for what it promises and
 * docs/agent-protocol.md for the wire format.
 *
 * One request at a time. The engine asks (a policy callback), the bridge
 * builds the observation into `obs` and the request line into a free output
 * buffer and returns DISP_PENDING; the loop calls sim_agent_on_wait, which
 * writes the line, numbers it (the protocol's "tick": requests are numbered
 * 0 for init, then 1, 2, ... over dispatch and repositioning alike) and
 * arms the timer. Replies answer requests in order; a reply carries the
 * number back ("tick"), and one that does not is matched by counting lines.
 * So a late reply is recognised whenever it comes, and dropped.
 *
 * Validation of a dispatch reply uses per-request stamps (one uint32 per
 * driver and per row, compared with the request number) so that nothing is
 * cleared per tick: a driver was offered when its `offered` stamp is the
 * request's, used when its `used` stamp is. Orders are found by id in the
 * request's rows sorted by id (binary search); a pair is checked against
 * the row's candidates (at most top-k of them).
 *
 * Output buffers: two, so that a request can be built while the previous
 * write is still in flight. When both are in flight the agent has stopped
 * reading its input; the request is then not sent and counts as timed out.
 *
 * Costs per dispatch tick: O(E) to build and serialise E candidate records
 * (one haversine each), O(R log R) to sort the R offered orders, and
 * O(P (log R + K)) to validate P pairs. Buffers grow to the largest tick and
 * are reused; replies are parsed with cJSON (one allocation per node).
 */
#include "sim/agent.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/rs_geo.h"

#define READ_CHUNK 65536
#define KILL_GRACE_MS 2000    /* after closing its input, the agent has this long to exit */
#define EOF_GRACE_MS 500      /* after the agent closes its output, wait this long for its exit */

/* One dispatch_observ record: the protocol's fields, plus the indices the
 * bridge maps ids back to (never sent). */
typedef struct {
  int64_t order_id;         /* the order's trip id */
  int32_t driver_id;        /* the driver's index */
  int32_t order;            /* order index (internal) */
  double dist;              /* order_driver_distance, metres, KDD sphere */
  double slng, slat;        /* order_start_location */
  double flng, flat;        /* order_finish_location */
  double dlng, dlat;        /* driver_location */
  int64_t ts;               /* timestamp, unix seconds */
  int64_t finish_ts;        /* order_finish_timestamp, unix seconds */
  int32_t dow;              /* day_of_week, Monday 0 */
  double reward;            /* reward_units */
  double eta;               /* pick_up_eta, seconds */
} obs_rec;

typedef struct {
  int64_t id;               /* order id */
  int32_t row;              /* row of the engine's decision */
} id_row;

#define DRV_TEXT_MAX 96 /* `{"driver_id":D,"driver_location":[lng,lat]` fits */

typedef struct {
  uv_write_t req;
  char *data;
  size_t len, cap;
  int busy;                 /* a write of it is in flight */
  struct sim_agent *a;
} out_buf;

struct sim_agent {
  sim_agent_opts o;
  int builtin;              /* a built-in policy answers in-process */
  double r_ratio;           /* city sphere / KDD sphere radius */

  /* the child */
  sim_loop *loop;
  uv_loop_t *uv;
  uv_process_t proc;
  uv_pipe_t pin, pout, perr; /* its stdin, stdout, stderr */
  uv_timer_t timer, kill_timer;
  int spawned;              /* handles initialised */
  int open_handles;         /* initialised and not yet closed */
  int stopping;             /* sim_agent_stop began: exits are expected */
  int in_init;              /* the init handshake is under way */
  int init_done, init_ok;
  char init_msg[400];

  /* requests */
  int64_t seq;              /* number of the last request sent (-1: none) */
  int64_t next_reply;       /* the request the next unnumbered reply answers */
  int prepared;             /* SIM_AGENT_REQ_* + 1 of a request built, not yet sent */
  out_buf *prep_buf;        /* its line (NULL: no free buffer) */
  int pending;              /* a request awaits its reply */
  int pending_kind;
  int64_t pending_seq;
  uint64_t sent_ns;
  uint8_t kind_of[64];      /* request kinds of recent numbers (for late replies) */
  disp_tick *tick;          /* the decision being answered */
  disp_repo *repo;
  int64_t now;              /* simulated time of the latest request */
  int item_logs;            /* item faults logged for the current reply */
  int64_t item_suppressed;

  /* the current observation */
  obs_rec *obs;
  size_t n_obs, cap_obs;
  id_row *ids;              /* offered orders sorted by id */
  int32_t n_ids, cap_ids;
  uint32_t stamp;           /* this request's stamp (never 0) */
  uint32_t *drv_offered, *drv_used; /* per driver */
  uint32_t *drv_text_at;   /* per driver: the request drv_text was written for */
  char (*drv_text)[DRV_TEXT_MAX]; /* per driver: `{"driver_id":D,"driver_location":[..]` */
  uint8_t *drv_text_len;
  int32_t *drv_pos;         /* per driver: position among the eligible (repositioning) */
  int32_t n_drv;            /* drivers the per-driver arrays cover */
  uint32_t *row_used;       /* per row */
  int32_t cap_rows;

  /* a built-in policy's rebuilt decision */
  int32_t *b_row_order, *b_row_ptr, *b_edge_driver, *b_dest;
  double *b_edge_dist, *b_edge_eta;
  disp_assign *b_out;
  size_t cap_b_rows, cap_b_edges, cap_b_dest;

  out_buf ob[2];
  out_buf ofields;          /* the current order's fields, formatted once */
  char *lb;                 /* partial reply line */
  size_t lb_len, lb_cap;
  int lb_overflow;          /* the current line passed the limit: skip to its end */
  char rbuf[READ_CHUNK];
  char ebuf[4096];

  sim_agent_stats st;
};

static const char *const FAULT_NAMES[] = {
#define X(n, s, w) s,
  SIM_AGENT_FAULTS(X)
#undef X
};
static const char *const FAULT_WHAT[] = {
#define X(n, s, w) w,
  SIM_AGENT_FAULTS(X)
#undef X
};

const char *sim_agent_fault_name(int f) {
  return f >= 0 && f < SIM_AGENT_N_FAULTS ? FAULT_NAMES[f] : "unknown";
}
const char *sim_agent_fault_what(int f) {
  return f >= 0 && f < SIM_AGENT_N_FAULTS ? FAULT_WHAT[f] : "unknown";
}

const char *sim_agent_error_name(int kind) {
  switch (kind) {
  case SIM_AGENT_REQ_INIT: return "InitAgentError";
  case SIM_AGENT_REQ_REPOSITION: return "RepositionAgentError";
  default: return "DispatchAgentError";
  }
}

static const char *kind_name(int kind) {
  switch (kind) {
  case SIM_AGENT_REQ_INIT: return "init";
  case SIM_AGENT_REQ_REPOSITION: return "reposition";
  default: return "dispatch";
  }
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------- time */

static int64_t unix_of(const sim_agent *a, int64_t t_local) {
  return t_local - (int64_t)a->o.city->utc_offset_min * 60;
}

/* Monday 0 of a local-epoch time (1970-01-01 was a Thursday: 3). */
static int32_t dow_of(int64_t t_local) {
  int64_t days = t_local >= 0 ? t_local / 86400 : -((-t_local + 86399) / 86400);
  return (int32_t)(((days + 3) % 7 + 7) % 7);
}

static void fmt_local(int64_t t, char *buf, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL) {
    snprintf(buf, n, "%" PRId64, t);
    return;
  }
  strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---------------------------------------------------------------- log */

static int64_t sim_now(const sim_agent *a) { return a->now; }

/* Counts a fault and writes its log line. Item faults past the per-reply
 * cap are counted only. */
static void fault(sim_agent *a, int kind, int64_t seq, int f, int item, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
static void fault(sim_agent *a, int kind, int64_t seq, int f, int item, const char *fmt, ...) {
  a->st.faults[f]++;
  a->st.faults_by_kind[kind]++;
  if (a->o.log == NULL) return;
  if (item && a->item_logs >= SIM_AGENT_LOG_ITEMS_MAX) {
    a->item_suppressed++;
    return;
  }
  if (item) a->item_logs++;
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  int64_t t = sim_now(a);
  char when[40];
  fmt_local(t, when, sizeof when);
  cJSON *j = cJSON_CreateObject();
  if (j == NULL) return;
  cJSON_AddNumberToObject(j, "run_id", (double)a->o.run_id);
  cJSON_AddNumberToObject(j, "request", (double)seq);
  cJSON_AddStringToObject(j, "type", kind_name(kind));
  cJSON_AddNumberToObject(j, "tick", a->o.tick_s > 0 ? (double)((t - a->o.t_from) / a->o.tick_s) : 0);
  cJSON_AddStringToObject(j, "time", when);
  cJSON_AddNumberToObject(j, "timestamp", (double)unix_of(a, t));
  cJSON_AddStringToObject(j, "error", sim_agent_error_name(kind));
  cJSON_AddStringToObject(j, "fault", FAULT_NAMES[f]);
  cJSON_AddStringToObject(j, "detail", detail);
  char *s = cJSON_PrintUnformatted(j);
  if (s) {
    fprintf(a->o.log, "%s\n", s);
    free(s);
  }
  cJSON_Delete(j);
}

static void end_reply_log(sim_agent *a, int kind, int64_t seq) {
  if (a->item_suppressed > 0 && a->o.log) {
    char when[40];
    fmt_local(sim_now(a), when, sizeof when);
    fprintf(a->o.log,
            "{\"run_id\":%" PRId64 ",\"request\":%" PRId64 ",\"type\":\"%s\",\"time\":\"%s\","
            "\"error\":\"%s\",\"fault\":\"suppressed\",\"detail\":\"%" PRId64
            " more item faults in this reply (counted, not logged)\"}\n",
            a->o.run_id, seq, kind_name(kind), when, sim_agent_error_name(kind),
            a->item_suppressed);
  }
  a->item_logs = 0;
  a->item_suppressed = 0;
}

/* --------------------------------------------------------- JSON writer */

static int ob_reserve(out_buf *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t c = b->cap ? b->cap : 65536;
  while (c < b->len + more) c *= 2;
  char *p = realloc(b->data, c);
  if (p == NULL) return -1;
  b->data = p;
  b->cap = c;
  return 0;
}

/* The writers below assume ob_reserve made room (callers reserve per
 * record: a record is well under RECORD_MAX bytes). */
#define RECORD_MAX 1024

static void ob_raw(out_buf *b, const char *s, size_t n) {
  memcpy(b->data + b->len, s, n);
  b->len += n;
}
#define OB_LIT(b, s) ob_raw((b), (s), sizeof(s) - 1)

static void ob_i64(out_buf *b, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) b->data[b->len++] = '-';
  while (n) b->data[b->len++] = tmp[--n];
}

/* A float with `dec` decimals (trailing zeros trimmed, at least one kept so
 * the reader sees a float). Fixed point is exact enough for the protocol
 * (9 decimals of a degree is 0.1 mm) and several times faster than %.17g;
 * values too large for it fall back to %.17g. */
static void ob_fix(out_buf *b, double x, int dec) {
  static const double POW10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  static const uint64_t IPOW10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                    100000000, 1000000000};
  if (!isfinite(x)) {
    OB_LIT(b, "null");
    return;
  }
  double ax = fabs(x);
  if (ax >= 1e9 || dec > 9) {
    b->len += (size_t)snprintf(b->data + b->len, 32, "%.17g", x);
    return;
  }
  uint64_t v = (uint64_t)(ax * POW10[dec] + 0.5); /* round half up; ax < 1e9 */
  uint64_t ip = v / IPOW10[dec], fp = v % IPOW10[dec];
  if (x < 0 && v != 0) b->data[b->len++] = '-';
  ob_i64(b, (int64_t)ip);
  b->data[b->len++] = '.';
  char d[10];
  int nd = dec;
  for (int i = dec - 1; i >= 0; i--) {
    d[i] = (char)('0' + fp % 10);
    fp /= 10;
  }
  while (nd > 1 && d[nd - 1] == '0') nd--;
  if (dec == 0) {
    d[0] = '0';
    nd = 1;
  }
  ob_raw(b, d, (size_t)nd);
}

/* A JSON string (ids are plain, but escape anyway). */
static void ob_str(out_buf *b, const char *s) {
  b->data[b->len++] = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      b->data[b->len++] = '\\';
      b->data[b->len++] = (char)c;
    } else if (c < 0x20) {
      b->len += (size_t)snprintf(b->data + b->len, 8, "\\u%04x", c);
    } else {
      b->data[b->len++] = (char)c;
    }
  }
  b->data[b->len++] = '"';
}

static void ob_point(out_buf *b, double lng, double lat) {
  b->data[b->len++] = '[';
  ob_fix(b, lng, 9);
  b->data[b->len++] = ',';
  ob_fix(b, lat, 9);
  b->data[b->len++] = ']';
}

/* ------------------------------------------------------------ buffers */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 256;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (q == NULL) return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* Per-driver stamps cover n drivers; a new request's stamp. */
static int begin_request(sim_agent *a, int32_t n_drivers, int32_t n_rows) {
  if (n_drivers > a->n_drv) {
    uint32_t *ta = realloc(a->drv_text_at, (size_t)n_drivers * sizeof *ta);
    if (ta == NULL) return -1;
    a->drv_text_at = ta;
    memset(a->drv_text_at + a->n_drv, 0, (size_t)(n_drivers - a->n_drv) * sizeof *ta);
    char(*tx)[DRV_TEXT_MAX] = realloc(a->drv_text, (size_t)n_drivers * sizeof *tx);
    if (tx == NULL) return -1;
    a->drv_text = tx;
    uint8_t *tl = realloc(a->drv_text_len, (size_t)n_drivers);
    if (tl == NULL) return -1;
    a->drv_text_len = tl;
    uint32_t *o = realloc(a->drv_offered, (size_t)n_drivers * sizeof *o);
    if (o == NULL) return -1;
    a->drv_offered = o;
    uint32_t *u = realloc(a->drv_used, (size_t)n_drivers * sizeof *u);
    if (u == NULL) return -1;
    a->drv_used = u;
    int32_t *p = realloc(a->drv_pos, (size_t)n_drivers * sizeof *p);
    if (p == NULL) return -1;
    a->drv_pos = p;
    memset(a->drv_offered + a->n_drv, 0, (size_t)(n_drivers - a->n_drv) * sizeof *o);
    memset(a->drv_used + a->n_drv, 0, (size_t)(n_drivers - a->n_drv) * sizeof *u);
    a->n_drv = n_drivers;
  }
  if (n_rows > a->cap_rows) {
    uint32_t *r = realloc(a->row_used, (size_t)n_rows * sizeof *r);
    if (r == NULL) return -1;
    memset(r + a->cap_rows, 0, (size_t)(n_rows - a->cap_rows) * sizeof *r);
    a->row_used = r;
    a->cap_rows = n_rows;
  }
  if (++a->stamp == 0) {
    memset(a->drv_offered, 0, (size_t)a->n_drv * sizeof *a->drv_offered);
    memset(a->drv_used, 0, (size_t)a->n_drv * sizeof *a->drv_used);
    memset(a->drv_text_at, 0, (size_t)a->n_drv * sizeof *a->drv_text_at);
    memset(a->row_used, 0, (size_t)a->cap_rows * sizeof *a->row_used);
    a->stamp = 1;
  }
  return 0;
}

static out_buf *free_buf(sim_agent *a) {
  for (int i = 0; i < 2; i++)
    if (!a->ob[i].busy) return &a->ob[i];
  return NULL;
}

/* ------------------------------------------------------- observations */

static int cmp_id_row(const void *x, const void *y) {
  const id_row *p = x, *q = y;
  if (p->id != q->id) return (p->id > q->id) - (p->id < q->id);
  return (p->row > q->row) - (p->row < q->row);
}

/* Builds dispatch_observ from the engine's candidate graph: every edge of
 * every row, rows in request order, candidates nearest first. */
static int build_dispatch_obs(sim_agent *a, const disp_tick *t) {
  int64_t t0 = now_ns();
  int32_t n_edges = t->row_ptr[t->n_rows];
  a->now = t->now;
  if (grow((void **)&a->obs, &a->cap_obs, (size_t)n_edges, sizeof *a->obs) ||
      begin_request(a, t->n_drivers, t->n_rows))
    return -1;
  if (t->n_rows > a->cap_ids) {
    id_row *p = realloc(a->ids, (size_t)t->n_rows * sizeof *p);
    if (p == NULL) return -1;
    a->ids = p;
    a->cap_ids = t->n_rows;
  }
  int64_t ts = unix_of(a, t->now);
  int32_t dow = dow_of(t->now);
  size_t n = 0;
  a->n_ids = 0;
  for (int32_t r = 0; r < t->n_rows; r++) {
    int32_t lo = t->row_ptr[r], hi = t->row_ptr[r + 1];
    if (lo == hi) continue;
    int32_t o = t->row_order[r];
    const disp_order *od = &t->orders[o];
    a->ids[a->n_ids].id = od->id;
    a->ids[a->n_ids++].row = r;
    for (int32_t k = lo; k < hi; k++) {
      int32_t d = t->edge_driver[k];
      const disp_driver *dv = &t->drivers[d];
      obs_rec *x = &a->obs[n++];
      x->order_id = od->id;
      x->driver_id = d;
      x->order = o;
      /* The engine's distance is the great circle on the city's sphere
       * (chord-exact, candidates.h); on the KDD sphere it scales by the
       * ratio of radii. */
      x->dist = t->edge_dist[k] / a->r_ratio;
      x->slng = od->plng;
      x->slat = od->plat;
      x->flng = od->dlng;
      x->flat = od->dlat;
      x->dlng = dv->lng;
      x->dlat = dv->lat;
      x->ts = ts;
      x->finish_ts = unix_of(a, od->t_request + od->duration_s);
      x->dow = dow;
      x->reward = od->fare;
      x->eta = t->edge_eta[k];
      a->drv_offered[d] = a->stamp;
    }
  }
  a->n_obs = n;
  qsort(a->ids, (size_t)a->n_ids, sizeof *a->ids, cmp_id_row);
  a->st.candidates += (int64_t)n;
  a->st.build_ns += now_ns() - t0;
  return 0;
}

/* Each candidate record is written as its own fields (driver, distance,
 * driver location, ETA) followed by its order's fields, which are the same
 * for every candidate of the order: those are formatted once per order into
 * `ofields` and copied. Formatting numbers is most of the cost of a request. */
static int serialize_dispatch(sim_agent *a, out_buf *b, int64_t seq) {
  int64_t t0 = now_ns();
  b->len = 0;
  if (ob_reserve(b, 128)) return -1;
  OB_LIT(b, "{\"type\":\"dispatch\",\"tick\":");
  ob_i64(b, seq);
  OB_LIT(b, ",\"observ\":[");
  out_buf *of = &a->ofields;
  for (size_t i = 0; i < a->n_obs; i++) {
    const obs_rec *x = &a->obs[i];
    if (i == 0 || x->order_id != a->obs[i - 1].order_id) {
      of->len = 0;
      if (ob_reserve(of, RECORD_MAX)) return -1;
      OB_LIT(of, ",\"order_id\":");
      ob_i64(of, x->order_id);
      OB_LIT(of, ",\"order_start_location\":");
      ob_point(of, x->slng, x->slat);
      OB_LIT(of, ",\"order_finish_location\":");
      ob_point(of, x->flng, x->flat);
      OB_LIT(of, ",\"timestamp\":");
      ob_i64(of, x->ts);
      OB_LIT(of, ",\"order_finish_timestamp\":");
      ob_i64(of, x->finish_ts);
      OB_LIT(of, ",\"day_of_week\":");
      ob_i64(of, x->dow);
      OB_LIT(of, ",\"reward_units\":");
      ob_fix(of, x->reward, 9);
      of->data[of->len++] = '}';
    }
    if (ob_reserve(b, RECORD_MAX + of->len)) return -1;
    if (i) b->data[b->len++] = ',';
    /* a driver is offered to many orders: its id and location once */
    int32_t d = x->driver_id;
    if (a->drv_text_at[d] != a->stamp) {
      out_buf t;
      memset(&t, 0, sizeof t);
      t.data = a->drv_text[d];
      t.cap = DRV_TEXT_MAX;
      OB_LIT(&t, "{\"driver_id\":");
      ob_i64(&t, d);
      OB_LIT(&t, ",\"driver_location\":");
      ob_point(&t, x->dlng, x->dlat);
      a->drv_text_len[d] = (uint8_t)t.len;
      a->drv_text_at[d] = a->stamp;
    }
    ob_raw(b, a->drv_text[d], a->drv_text_len[d]);
    OB_LIT(b, ",\"order_driver_distance\":");
    ob_fix(b, x->dist, 6);
    OB_LIT(b, ",\"pick_up_eta\":");
    ob_fix(b, x->eta, 6);
    ob_raw(b, of->data, of->len);
  }
  if (ob_reserve(b, 8)) return -1;
  OB_LIT(b, "]}\n");
  a->st.serialize_ns += now_ns() - t0;
  return 0;
}

/* The grid_id of a point: the KDD cell nearest to it, or our cell index. */
static void grid_id_of(const sim_agent *a, double lat, double lng, int32_t cell, char *buf,
                       size_t n) {
  if (a->o.kdd) {
    int32_t k = city_kdd_grid_nearest(a->o.kdd, lat, lng);
    snprintf(buf, n, "%s", city_kdd_grid_cell(a->o.kdd, k)->id);
  } else {
    snprintf(buf, n, "%" PRId32, cell);
  }
}

/* The engine cell a destination grid_id names, or -1. */
static int32_t cell_of_grid_id(const sim_agent *a, const char *id) {
  if (a->o.kdd) {
    int32_t k = city_kdd_grid_find(a->o.kdd, id);
    if (k < 0) return -1;
    const city_kdd_cell *c = city_kdd_grid_cell(a->o.kdd, k);
    return city_grid_point_index(a->o.grid, c->lat, c->lng);
  }
  if (*id < '0' || *id > '9') return -1;
  char *end;
  long long v = strtoll(id, &end, 10);
  if (*end != '\0' || v < 0 || v >= a->o.grid->n_cells) return -1;
  return (int32_t)v;
}

static int serialize_repo(sim_agent *a, out_buf *b, const disp_repo *r, int64_t seq) {
  int64_t t0 = now_ns();
  b->len = 0;
  if (ob_reserve(b, 256)) return -1;
  OB_LIT(b, "{\"type\":\"reposition\",\"tick\":");
  ob_i64(b, seq);
  OB_LIT(b, ",\"observ\":{\"timestamp\":");
  ob_i64(b, unix_of(a, r->now));
  OB_LIT(b, ",\"driver_info\":[");
  char gid[CITY_KDD_ID_MAX + 16];
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t d = r->eligible[i];
    const disp_driver *dv = &r->drivers[d];
    grid_id_of(a, dv->lat, dv->lng, dv->cell, gid, sizeof gid);
    if (ob_reserve(b, RECORD_MAX)) return -1;
    if (i) b->data[b->len++] = ',';
    OB_LIT(b, "{\"driver_id\":");
    ob_i64(b, d);
    OB_LIT(b, ",\"grid_id\":");
    ob_str(b, gid);
    b->data[b->len++] = '}';
  }
  if (ob_reserve(b, 64)) return -1;
  OB_LIT(b, "],\"day_of_week\":");
  ob_i64(b, dow_of(r->now));
  OB_LIT(b, "}}\n");
  a->st.serialize_ns += now_ns() - t0;
  return 0;
}

/* ---------------------------------------------------------- validation */

static int32_t find_row(const sim_agent *a, int64_t id) {
  int32_t lo = 0, hi = a->n_ids - 1;
  while (lo <= hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (a->ids[mid].id == id) return a->ids[mid].row;
    if (a->ids[mid].id < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/* Checks one (order_id, driver_id) pair of a dispatch answer and, when it
 * stands, appends it to the decision. */
static void accept_pair(sim_agent *a, disp_tick *t, int64_t seq, int64_t oid, int64_t did) {
  const int K = SIM_AGENT_REQ_DISPATCH;
  int32_t row = find_row(a, oid);
  if (row < 0) {
    fault(a, K, seq, SIM_AGENT_F_UNKNOWN_ORDER, 1, "order_id %" PRId64 " was not offered", oid);
    a->st.pairs_dropped++;
    return;
  }
  if (did < 0 || did >= t->n_drivers || a->drv_offered[did] != a->stamp) {
    fault(a, K, seq, SIM_AGENT_F_UNKNOWN_DRIVER, 1, "driver_id %" PRId64 " was not offered", did);
    a->st.pairs_dropped++;
    return;
  }
  int32_t k = t->row_ptr[row], hi = t->row_ptr[row + 1];
  while (k < hi && t->edge_driver[k] != did) k++;
  if (k == hi) {
    fault(a, K, seq, SIM_AGENT_F_NOT_OFFERED, 1,
          "pair (order_id %" PRId64 ", driver_id %" PRId64 ") is not a candidate", oid, did);
    a->st.pairs_dropped++;
    return;
  }
  if (a->row_used[row] == a->stamp) {
    fault(a, K, seq, SIM_AGENT_F_DUP_ORDER, 1,
          "order_id %" PRId64 " assigned again (to driver_id %" PRId64 "): dropped", oid, did);
    a->st.pairs_dropped++;
    return;
  }
  if (a->drv_used[did] == a->stamp) {
    fault(a, K, seq, SIM_AGENT_F_DUP_DRIVER, 1,
          "driver_id %" PRId64 " assigned again (to order_id %" PRId64 "): dropped", did, oid);
    a->st.pairs_dropped++;
    return;
  }
  a->row_used[row] = a->stamp;
  a->drv_used[did] = a->stamp;
  t->out[t->n_out].order = t->row_order[row];
  t->out[t->n_out].driver = (int32_t)did;
  t->n_out++;
  a->st.pairs_accepted++;
}

/* Checks one (driver_id, destination) item of a reposition answer. */
static void accept_move(sim_agent *a, disp_repo *r, int64_t seq, int64_t did, const char *dest) {
  const int K = SIM_AGENT_REQ_REPOSITION;
  if (did < 0 || did >= a->n_drv || a->drv_offered[did] != a->stamp) {
    fault(a, K, seq, SIM_AGENT_F_UNKNOWN_DRIVER, 1, "driver_id %" PRId64 " was not offered", did);
    return;
  }
  if (a->drv_used[did] == a->stamp) {
    fault(a, K, seq, SIM_AGENT_F_DUP_DRIVER, 1, "driver_id %" PRId64 " moved twice: dropped",
          did);
    return;
  }
  int32_t c = cell_of_grid_id(a, dest);
  if (c < 0) {
    fault(a, K, seq, SIM_AGENT_F_BAD_DEST, 1,
          "destination '%.60s' of driver_id %" PRId64 " is not a grid_id of the city", dest, did);
    return;
  }
  a->drv_used[did] = a->stamp;
  r->dest_cell[a->drv_pos[did]] = c;
  a->st.moves_accepted++;
}

/* An integer-valued JSON number (booleans and strings are wrong types). */
static int json_int(const cJSON *x, int64_t *v) {
  if (!cJSON_IsNumber(x)) return -1;
  double d = x->valuedouble;
  if (d != floor(d) || fabs(d) > 9007199254740992.0) return -1;
  *v = (int64_t)d;
  return 0;
}

static void dispatch_items(sim_agent *a, disp_tick *t, int64_t seq, const cJSON *res) {
  const int K = SIM_AGENT_REQ_DISPATCH;
  int idx = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, res) {
    int64_t oid, did;
    if (!cJSON_IsObject(it) || json_int(cJSON_GetObjectItemCaseSensitive(it, "order_id"), &oid) ||
        json_int(cJSON_GetObjectItemCaseSensitive(it, "driver_id"), &did)) {
      fault(a, K, seq, SIM_AGENT_F_WRONG_TYPE, 1,
            "item %d: expected {\"order_id\": int, \"driver_id\": int}", idx);
      a->st.pairs_dropped++;
    } else {
      /* accept_pair uses each row at most once: n_out stays <= n_rows */
      accept_pair(a, t, seq, oid, did);
    }
    idx++;
  }
}

static void repo_items(sim_agent *a, disp_repo *r, int64_t seq, const cJSON *res) {
  const int K = SIM_AGENT_REQ_REPOSITION;
  int idx = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, res) {
    int64_t did;
    const cJSON *dst = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "destination")
                                          : NULL;
    if (!cJSON_IsObject(it) || json_int(cJSON_GetObjectItemCaseSensitive(it, "driver_id"), &did) ||
        !cJSON_IsString(dst)) {
      fault(a, K, seq, SIM_AGENT_F_WRONG_TYPE, 1,
            "item %d: expected {\"driver_id\": int, \"destination\": grid_id string}", idx);
    } else {
      accept_move(a, r, seq, did, dst->valuestring);
    }
    idx++;
  }
}

/* Runs the fallback on the engine's own decision (the reply failed). */
static int run_fallback(sim_agent *a, disp_tick *t, rs_err *e) {
  t->n_out = 0;
  if (a->o.fallback == NULL) return 0;
  int64_t t0 = now_ns();
  int rc = a->o.fallback->dispatch(a->o.fallback->ctx, t, e);
  a->st.fallback_ns += now_ns() - t0;
  a->st.fallback_ticks++;
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
  if (a->stopping || a->st.died) return;
  a->st.died = 1;
  int kind = a->pending ? a->pending_kind : a->in_init ? SIM_AGENT_REQ_INIT : SIM_AGENT_REQ_DISPATCH;
  fault(a, kind, a->pending ? a->pending_seq : a->seq, SIM_AGENT_F_DIED, 0, "%s", why);
  uv_timer_stop(&a->timer);
  a->pending = 0;
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
  a->st.exited = 1;
  a->st.exit_status = status;
  a->st.term_signal = sig;
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

static void handle_line(sim_agent *a, const char *line, size_t len, int too_long);

static void on_eof_grace(uv_timer_t *t) {
  sim_agent *a = t->data;
  agent_died(a, "closed its output");
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sim_agent *a = s->data;
  if (n < 0) {
    uv_read_stop(s);
    if (a->stopping || a->st.died) return;
    /* Usually the process is exiting: give its exit status a moment to
     * arrive, so the death is reported with it (the call timer is reused:
     * no reply can come any more). */
    uv_timer_stop(&a->timer);
    uv_timer_start(&a->timer, on_eof_grace, EOF_GRACE_MS, 0);
    return;
  }
  a->st.bytes_in += n;
  const char *p = buf->base, *end = buf->base + n;
  while (p < end && !a->stopping) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t chunk = (size_t)((nl ? nl : end) - p);
    if (!a->lb_overflow) {
      if (a->lb_len + chunk > a->o.line_max) {
        a->lb_overflow = 1;
        a->lb_len = 0;
      } else if (chunk > 0) {
        if (grow((void **)&a->lb, &a->lb_cap, a->lb_len + chunk + 1, 1)) {
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
      handle_line(a, NULL, 0, 1);
    } else {
      a->lb[a->lb_len] = '\0';
      size_t l = a->lb_len;
      a->lb_len = 0;
      if (l == 0 || (l == 1 && a->lb[0] == '\r')) continue; /* blank lines are ignored */
      handle_line(a, a->lb, l, 0);
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
  uv_buf_t ub = uv_buf_init(b->data, (unsigned)b->len);
  b->req.data = b;
  int rc = uv_write(&b->req, (uv_stream_t *)&a->pin, &ub, 1, on_write);
  if (rc < 0) {
    b->busy = 0;
    agent_died(a, "cannot be written to");
    return 0;
  }
  a->st.bytes_out += (int64_t)b->len;
  a->st.requests[kind]++;
  a->pending = 1;
  a->pending_kind = kind;
  a->pending_seq = a->seq;
  a->sent_ns = uv_hrtime();
  double to = kind == SIM_AGENT_REQ_INIT ? a->o.init_timeout_s : a->o.timeout_s;
  uv_timer_start(&a->timer, on_timeout, (uint64_t)ceil(to * 1000.0), 0);
  return 0;
}

/* ---------------------------------------------------------- completing */

static void finish_dispatch(sim_agent *a, const cJSON *result, int64_t seq) {
  disp_tick *t = a->tick;
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->st.roundtrip_ns += (int64_t)(uv_hrtime() - a->sent_ns);
  int64_t t0 = now_ns();
  rs_err e;
  rs_err_clear(&e);
  int rc = 0;
  t->n_out = 0;
  if (result != NULL) {
    a->st.replies_ok++;
    dispatch_items(a, t, seq, result);
  } else {
    a->st.replies_failed++;
    rc = run_fallback(a, t, &e);
  }
  end_reply_log(a, SIM_AGENT_REQ_DISPATCH, seq);
  a->st.validate_ns += now_ns() - t0;
  a->tick = NULL;
  if (rc) {
    sim_loop_abort(a->loop, rc, e.msg);
    return;
  }
  sim_loop_resume(a->loop);
}

static void finish_repo(sim_agent *a, const cJSON *result, int64_t seq) {
  disp_repo *r = a->repo;
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->st.roundtrip_ns += (int64_t)(uv_hrtime() - a->sent_ns);
  int64_t t0 = now_ns();
  if (result != NULL) {
    a->st.replies_ok++;
    repo_items(a, r, seq, result);
  } else {
    a->st.replies_failed++; /* everybody stays */
  }
  end_reply_log(a, SIM_AGENT_REQ_REPOSITION, seq);
  a->st.validate_ns += now_ns() - t0;
  a->repo = NULL;
  sim_loop_resume(a->loop);
}

static void finish_init(sim_agent *a, int ok, const char *msg) {
  a->pending = 0;
  uv_timer_stop(&a->timer);
  a->init_done = 1;
  a->init_ok = ok;
  if (!ok) {
    a->st.init_failed = 1;
    snprintf(a->init_msg, sizeof a->init_msg, "%.380s", msg);
  }
}

static void on_timeout(uv_timer_t *tm) {
  sim_agent *a = tm->data;
  if (!a->pending) return;
  int kind = a->pending_kind;
  double to = kind == SIM_AGENT_REQ_INIT ? a->o.init_timeout_s : a->o.timeout_s;
  fault(a, kind, a->pending_seq, SIM_AGENT_F_TIMEOUT, 0, "no reply within %.3f s", to);
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

/* Checks a reply's envelope. Returns the result list (NULL when the reply
 * failed entirely: the fault is then counted). For init, a non-NULL return
 * means ok. */
static const cJSON *check_envelope(sim_agent *a, int kind, int64_t seq, const cJSON *root,
                                   int too_long) {
  if (too_long) {
    fault(a, kind, seq, SIM_AGENT_F_TOO_LONG, 0, "reply line longer than %zu bytes",
          a->o.line_max);
    return NULL;
  }
  if (root == NULL) {
    fault(a, kind, seq, SIM_AGENT_F_NOT_JSON, 0, "reply is not JSON");
    return NULL;
  }
  const cJSON *ok = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "ok") : NULL;
  if (!cJSON_IsBool(ok)) {
    fault(a, kind, seq, SIM_AGENT_F_BAD_REPLY, 0, "reply is not an object with a boolean \"ok\"");
    return NULL;
  }
  if (cJSON_IsFalse(ok)) {
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "message");
    fault(a, kind, seq, SIM_AGENT_F_EXCEPTION, 0, "%s: %.400s",
          cJSON_IsString(er) ? er->valuestring : sim_agent_error_name(kind),
          cJSON_IsString(ms) ? ms->valuestring : "(no message)");
    return NULL;
  }
  if (kind == SIM_AGENT_REQ_INIT) return root;
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
  if (!cJSON_IsArray(res)) {
    fault(a, kind, seq, SIM_AGENT_F_BAD_REPLY, 0, "\"result\" is not a list");
    return NULL;
  }
  return res;
}

static void handle_line(sim_agent *a, const char *line, size_t len, int too_long) {
  int64_t t0 = now_ns();
  cJSON *root = too_long ? NULL : cJSON_ParseWithLength(line, len);
  a->st.parse_ns += now_ns() - t0;
  int64_t rs = a->next_reply, v;
  const cJSON *tk = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tick") : NULL;
  if (tk && json_int(tk, &v) == 0) rs = v;
  a->next_reply = rs + 1;
  if (!a->pending || rs != a->pending_seq) {
    if (rs <= a->seq && rs >= 0) {
      int kind = a->kind_of[rs & 63];
      fault(a, kind, rs, SIM_AGENT_F_LATE, 0,
            "reply to request %" PRId64 " arrived after its timeout: discarded", rs);
    } else {
      fault(a, a->pending ? a->pending_kind : SIM_AGENT_REQ_DISPATCH, rs,
            SIM_AGENT_F_BAD_REPLY, 0, "reply to request %" PRId64 ", which was never sent", rs);
    }
    cJSON_Delete(root);
    return;
  }
  int kind = a->pending_kind;
  const cJSON *res = check_envelope(a, kind, rs, root, too_long);
  if (kind == SIM_AGENT_REQ_INIT) {
    char m[500];
    if (res == NULL) {
      const cJSON *er = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
      const cJSON *ms = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
      snprintf(m, sizeof m, "%s: %.400s", cJSON_IsString(er) ? er->valuestring : "InitAgentError",
               cJSON_IsString(ms) ? ms->valuestring : "the init reply is not {\"ok\": true}");
    }
    finish_init(a, res != NULL, res ? "" : m);
  } else if (kind == SIM_AGENT_REQ_DISPATCH) {
    finish_dispatch(a, res, rs);
  } else {
    finish_repo(a, res, rs);
  }
  cJSON_Delete(root);
}

/* -------------------------------------------------------- the policies */

/* Grows the rebuilt decision's arrays together (rows, edges). */
static int ensure_builtin(sim_agent *a, size_t rows, size_t edges) {
  if (rows > a->cap_b_rows) {
    size_t c = a->cap_b_rows ? a->cap_b_rows : 256;
    while (c < rows) c *= 2;
    int32_t *ro = realloc(a->b_row_order, c * sizeof *ro);
    if (ro == NULL) return -1;
    a->b_row_order = ro;
    int32_t *rp = realloc(a->b_row_ptr, (c + 1) * sizeof *rp);
    if (rp == NULL) return -1;
    a->b_row_ptr = rp;
    disp_assign *out = realloc(a->b_out, c * sizeof *out);
    if (out == NULL) return -1;
    a->b_out = out;
    a->cap_b_rows = c;
  }
  if (edges > a->cap_b_edges) {
    size_t c = a->cap_b_edges ? a->cap_b_edges : 1024;
    while (c < edges) c *= 2;
    int32_t *ed = realloc(a->b_edge_driver, c * sizeof *ed);
    if (ed == NULL) return -1;
    a->b_edge_driver = ed;
    double *d = realloc(a->b_edge_dist, c * sizeof *d);
    if (d == NULL) return -1;
    a->b_edge_dist = d;
    double *t = realloc(a->b_edge_eta, c * sizeof *t);
    if (t == NULL) return -1;
    a->b_edge_eta = t;
    a->cap_b_edges = c;
  }
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
  size_t ne = a->n_obs;
  if (ensure_builtin(a, (size_t)t->n_rows + 1, ne + 1))
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  disp_tick bt = *t;
  int32_t nr = t->n_rows;
  size_t i = 0;
  for (int32_t r = 0; r < nr; r++) {
    a->b_row_ptr[r] = (int32_t)i;
    a->b_row_order[r] = t->row_order[r];
    for (; i < ne && a->obs[i].order == t->row_order[r]; i++) {
      const obs_rec *x = &a->obs[i];
      a->b_edge_driver[i] = x->driver_id;
      a->b_edge_dist[i] = x->dist * a->r_ratio;
      a->b_edge_eta[i] = x->eta;
    }
  }
  a->b_row_ptr[nr] = (int32_t)i;
  if (i != ne) return rs_err_set(e, RS_EINVAL, "agent: observation out of step with the decision");
  bt.n_rows = nr;
  bt.row_order = a->b_row_order;
  bt.row_ptr = a->b_row_ptr;
  bt.edge_driver = a->b_edge_driver;
  bt.edge_dist = a->b_edge_dist;
  bt.edge_eta = a->b_edge_eta;
  bt.out = a->b_out;
  bt.n_out = 0;
  int64_t t0 = now_ns();
  int rc = a->o.builtin->dispatch(a->o.builtin->ctx, &bt, e);
  a->st.builtin_ns += now_ns() - t0;
  if (rc == DISP_PENDING)
    return rs_err_set(e, RS_EINVAL, "policy '%s' cannot answer later behind the agent bridge",
                      a->o.builtin->name);
  if (rc) return rc;
  a->st.requests[SIM_AGENT_REQ_DISPATCH]++;
  a->st.replies_ok++;
  t0 = now_ns();
  t->n_out = 0;
  a->tick = t;
  for (int32_t j = 0; j < bt.n_out && j < nr; j++) {
    int32_t o = bt.out[j].order, d = bt.out[j].driver;
    accept_pair(a, t, seq, t->orders[o].id, d);
  }
  end_reply_log(a, SIM_AGENT_REQ_DISPATCH, seq);
  a->tick = NULL;
  a->st.validate_ns += now_ns() - t0;
  return 0;
}

static int agent_dispatch(void *ctx, disp_tick *t, rs_err *e) {
  sim_agent *a = ctx;
  if (build_dispatch_obs(a, t)) return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  if (a->builtin) {
    a->seq++;
    return builtin_dispatch(a, t, a->seq, e);
  }
  a->tick = t;
  a->prepared = SIM_AGENT_REQ_DISPATCH + 1;
  a->prep_buf = free_buf(a);
  if (a->prep_buf && serialize_dispatch(a, a->prep_buf, a->seq + 1))
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory for a request");
  return DISP_PENDING;
}

/* Marks the eligible drivers as offered (and their positions). */
static int begin_repo(sim_agent *a, const disp_repo *r) {
  int32_t nd = 0;
  for (int32_t i = 0; i < r->n_eligible; i++)
    if (r->eligible[i] + 1 > nd) nd = r->eligible[i] + 1;
  if (begin_request(a, nd, 0)) return -1;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    a->drv_offered[r->eligible[i]] = a->stamp;
    a->drv_pos[r->eligible[i]] = i;
  }
  return 0;
}

static int agent_reposition(void *ctx, disp_repo *r, rs_err *e) {
  sim_agent *a = ctx;
  int64_t t0 = now_ns();
  a->now = r->now;
  if (begin_repo(a, r)) return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  a->st.build_ns += now_ns() - t0;
  if (a->builtin) {
    int64_t seq = ++a->seq;
    a->st.requests[SIM_AGENT_REQ_REPOSITION]++;
    if (a->o.builtin_repo == NULL) return 0;
    if (grow((void **)&a->b_dest, &a->cap_b_dest, (size_t)r->n_eligible, sizeof(int32_t)))
      return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
    disp_repo br = *r;
    br.dest_cell = a->b_dest;
    for (int32_t i = 0; i < r->n_eligible; i++) a->b_dest[i] = -1;
    t0 = now_ns();
    int rc = a->o.builtin_repo->reposition(a->o.builtin_repo->ctx, &br, e);
    a->st.builtin_ns += now_ns() - t0;
    if (rc == DISP_PENDING)
      return rs_err_set(e, RS_EINVAL, "policy '%s' cannot answer later behind the agent bridge",
                        a->o.builtin_repo->name);
    if (rc) return rc;
    a->st.replies_ok++;
    t0 = now_ns();
    a->repo = r;
    char gid[CITY_KDD_ID_MAX + 16];
    for (int32_t i = 0; i < r->n_eligible; i++) {
      int32_t c = a->b_dest[i];
      if (c < 0 || c >= a->o.grid->n_cells) continue;
      double lat, lng;
      city_grid_center(a->o.grid, city_grid_hex(a->o.grid, c), &lat, &lng);
      grid_id_of(a, lat, lng, c, gid, sizeof gid);
      accept_move(a, r, seq, r->eligible[i], gid);
    }
    end_reply_log(a, SIM_AGENT_REQ_REPOSITION, seq);
    a->repo = NULL;
    a->st.validate_ns += now_ns() - t0;
    return 0;
  }
  a->repo = r;
  a->prepared = SIM_AGENT_REQ_REPOSITION + 1;
  a->prep_buf = free_buf(a);
  if (a->prep_buf && serialize_repo(a, a->prep_buf, r, a->seq + 1))
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory for a request");
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
  if (a->st.died) {
    sim_loop_abort(l, RS_EAGENT, "the agent is no longer running");
    return;
  }
  if (send_prepared(a, kind) == 0) return;
  /* Both output buffers are still in flight: the agent does not read. */
  fault(a, kind, a->seq + 1, SIM_AGENT_F_TIMEOUT, 0,
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
  if (a == NULL) return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  a->o = *o;
  if (a->o.timeout_s <= 0) a->o.timeout_s = SIM_AGENT_TIMEOUT_DEFAULT_S;
  if (a->o.init_timeout_s <= 0) a->o.init_timeout_s = SIM_AGENT_INIT_TIMEOUT_DEFAULT_S;
  if (a->o.line_max == 0) a->o.line_max = SIM_AGENT_LINE_MAX_DEFAULT;
  a->builtin = o->builtin != NULL;
  a->r_ratio = o->city->earth_radius_m / RS_EARTH_RADIUS_KDD_M;
  a->seq = -1;
  a->next_reply = 0;
  a->now = o->t_from;
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
  a->pin.data = a->pout.data = a->perr.data = a->timer.data = a->kill_timer.data = a;
  a->proc.data = a;
  a->open_handles = 5;
  a->spawned = 1;
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
  a->in_init = 1;
  int rc = uv_spawn(uv, &a->proc, &po);
  a->open_handles++; /* closed in the exit callback, or below when the spawn failed */
  if (rc < 0) {
    a->st.init_failed = 1;
    fault(a, SIM_AGENT_REQ_INIT, 0, SIM_AGENT_F_DIED, 0, "cannot start /bin/sh: %s",
          uv_strerror(rc));
    /* a failed spawn leaves the handle to be closed all the same */
    a->st.exited = 1;
    close_handle(a, (uv_handle_t *)&a->proc);
    a->in_init = 0;
    return rs_err_set(e, RS_EAGENT, "InitAgentError: cannot start the agent: %s",
                      uv_strerror(rc));
  }
  uv_read_start((uv_stream_t *)&a->pout, on_alloc, on_out_read);
  uv_read_start((uv_stream_t *)&a->perr, on_alloc, on_err_read);
  out_buf *b = free_buf(a);
  b->len = 0;
  if (ob_reserve(b, 64)) {
    a->in_init = 0;
    return rs_err_set(e, RS_ENOMEM, "agent: out of memory");
  }
  OB_LIT(b, "{\"type\":\"init\",\"tick\":0}\n");
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
    a->st.init_failed = 1;
    if (strncmp(a->init_msg, "InitAgentError", 14) != 0) {
      char m[sizeof a->init_msg];
      snprintf(m, sizeof m, "InitAgentError: %.360s", a->init_msg);
      snprintf(a->init_msg, sizeof a->init_msg, "%s", m);
    }
    return rs_err_set(e, RS_EAGENT, "%s", a->init_msg);
  }
  return 0;
}

static void on_kill_timer(uv_timer_t *t) {
  sim_agent *a = t->data;
  if (!a->st.exited) uv_process_kill(&a->proc, SIGKILL);
}

void sim_agent_stop(sim_agent *a) {
  if (a == NULL || !a->spawned) return;
  a->stopping = 1;
  uv_timer_stop(&a->timer);
  close_handle(a, (uv_handle_t *)&a->pin); /* the agent sees the end of its input */
  if (!a->st.exited) {
    uv_timer_start(&a->kill_timer, on_kill_timer, KILL_GRACE_MS, 0);
    while (!a->st.exited && uv_run(a->uv, UV_RUN_ONCE)) {
    }
  }
  close_handle(a, (uv_handle_t *)&a->pout);
  close_handle(a, (uv_handle_t *)&a->perr);
  close_handle(a, (uv_handle_t *)&a->timer);
  close_handle(a, (uv_handle_t *)&a->kill_timer);
  close_handle(a, (uv_handle_t *)&a->proc);
  while (a->open_handles > 0 && uv_run(a->uv, UV_RUN_ONCE)) {
  }
  a->spawned = 0;
}

const sim_agent_stats *sim_agent_stats_get(const sim_agent *a) { return &a->st; }

void sim_agent_free(sim_agent *a) {
  if (a == NULL) return;
  free(a->obs);
  free(a->ids);
  free(a->drv_offered);
  free(a->drv_text_at);
  free(a->drv_text);
  free(a->drv_text_len);
  free(a->drv_used);
  free(a->drv_pos);
  free(a->row_used);
  free(a->b_row_order);
  free(a->b_row_ptr);
  free(a->b_edge_driver);
  free(a->b_edge_dist);
  free(a->b_edge_eta);
  free(a->b_out);
  free(a->b_dest);
  free(a->ob[0].data);
  free(a->ob[1].data);
  free(a->ofields.data);
  free(a->lb);
  free(a);
}
