/*
 * agent_proto: the agent protocol as data; see agent_proto.h for what it
 * promises and docs/agent-protocol.md for the wire format.
 *
 * Validation uses per-request stamps (one uint32 per driver and per row,
 * compared with the latest observation's stamp) so that nothing is cleared
 * per request: a driver was offered when its `offered` stamp is the
 * request's, used when its `used` stamp is. Orders are found by id in the
 * offered rows sorted by id (binary search); a pair is checked against the
 * row's candidates (at most top-k of them). When the stamp wraps (after
 * 2^32 - 1 requests) every stamp is cleared once.
 *
 * The JSON writer is hand-made because serialising dispatch_observ is most
 * of the bridge's own cost: integers by digit loop, floats in fixed point
 * (ob_fix), each order's fields formatted once per order and copied into
 * each of its records, each driver's id and location once per request.
 * Callers reserve room per record (RECORD_MAX) and the writers then store
 * without checks. Rejected: cJSON for requests (an allocation per node and
 * %.17g per number, several times slower) and a streaming writer checking
 * room per byte.
 *
 * Replies are parsed with cJSON (one allocation per node): they are small,
 * and a parser of our own would be one more thing to fuzz. The fault log's
 * lines are written with cJSON too (they are few).
 *
 * Costs per dispatch request: O(E) to build and serialise E candidate
 * records (the engine measured the distances: a record rescales its one),
 * O(R log R) to sort the R offered orders, and O(P (log R + K)) to validate P pairs of
 * rows of at most K candidates. A repositioning round costs O(D) for its D
 * eligible drivers, plus a nearest-cell lookup each with a KDD grid.
 */
#include "sim/agent_proto.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "base/rs_vec.h"

/* The writers below assume room was reserved (callers reserve per record:
 * a record is well under RECORD_MAX bytes). */
#define RECORD_MAX 1024
#define DRV_TEXT_MAX 96 /* `{"driver_id":D,"driver_location":[lng,lat]` fits */

/* Per driver: the stamps validation reads, kept apart from the cached text
 * so that building an observation (one `offered` store per record) walks a
 * small array. */
struct sim_agent_proto_drv {
  uint32_t offered;         /* stamp of the latest request that offered it */
  uint32_t used;            /* stamp of the latest request whose reply used it */
  int32_t pos;              /* its position among the round's eligible drivers */
};

/* Per driver: its id and location as written into a request. */
struct sim_agent_proto_drvtext {
  uint32_t at;              /* stamp of the request `text` was written for */
  uint8_t len;              /* bytes of text */
  char text[DRV_TEXT_MAX];  /* `{"driver_id":D,"driver_location":[lng,lat]` */
};

/* An offered order: its id and the row of the decision it came from. */
struct sim_agent_proto_idrow {
  int64_t id;               /* order id */
  int32_t row;              /* row of the decision */
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

static int64_t unix_of(const sim_agent_proto *p, int64_t t_local) {
  return t_local - (int64_t)p->o.city->utc_offset_min * 60;
}

/* ------------------------------------------------------------ lifecycle */

int sim_agent_proto_init(sim_agent_proto *p, const sim_agent_proto_opts *o, rs_err *e) {
  if (o->city == NULL || o->grid == NULL)
    return rs_err_set(e, RS_EINVAL, "agent: the city and its grid are required");
  memset(p, 0, sizeof *p);
  p->o = *o;
  p->r_ratio = o->city->earth_radius_m / RS_EARTH_RADIUS_KDD_M;
  p->now = o->t_from;
  return 0;
}

void sim_agent_proto_close(sim_agent_proto *p) {
  if (p == NULL) return;
  free(p->obs);
  free(p->drv);
  free(p->drvtext);
  free(p->row_used);
  free(p->ids);
  free(p->ofields.data);
  memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------- log */

void sim_agent_proto_fault(sim_agent_proto *p, int kind, int64_t seq, int f, int item,
                           const char *fmt, ...) {
  p->counts.faults[f]++;
  p->counts.faults_by_kind[kind]++;
  if (p->o.log == NULL) return;
  if (item && p->item_logs >= SIM_AGENT_LOG_ITEMS_MAX) {
    p->item_suppressed++;
    return;
  }
  if (item) p->item_logs++;
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  int64_t t = p->now;
  char when[40];
  rs_time_format(t, when, sizeof when);
  cJSON *j = cJSON_CreateObject();
  if (j == NULL) return;
  cJSON_AddNumberToObject(j, "run_id", (double)p->o.run_id);
  cJSON_AddNumberToObject(j, "request", (double)seq);
  cJSON_AddStringToObject(j, "type", kind_name(kind));
  cJSON_AddNumberToObject(j, "tick", p->o.tick_s > 0 ? (double)((t - p->o.t_from) / p->o.tick_s) : 0);
  cJSON_AddStringToObject(j, "time", when);
  cJSON_AddNumberToObject(j, "timestamp", (double)unix_of(p, t));
  cJSON_AddStringToObject(j, "error", sim_agent_error_name(kind));
  cJSON_AddStringToObject(j, "fault", FAULT_NAMES[f]);
  cJSON_AddStringToObject(j, "detail", detail);
  char *s = cJSON_PrintUnformatted(j);
  if (s) {
    fprintf(p->o.log, "%s\n", s);
    free(s);
  }
  cJSON_Delete(j);
}

void sim_agent_proto_end_reply(sim_agent_proto *p, int kind, int64_t seq) {
  if (p->item_suppressed > 0 && p->o.log) {
    char when[40];
    rs_time_format(p->now, when, sizeof when);
    fprintf(p->o.log,
            "{\"run_id\":%" PRId64 ",\"request\":%" PRId64 ",\"type\":\"%s\",\"time\":\"%s\","
            "\"error\":\"%s\",\"fault\":\"suppressed\",\"detail\":\"%" PRId64
            " more item faults in this reply (counted, not logged)\"}\n",
            p->o.run_id, seq, kind_name(kind), when, sim_agent_error_name(kind),
            p->item_suppressed);
  }
  p->item_logs = 0;
  p->item_suppressed = 0;
}

/* --------------------------------------------------------- JSON writer */

static int ob_reserve(sim_agent_proto_buf *b, size_t more) {
  return rs_vec_grow(b->data, b->cap, b->len + more) ? -1 : 0;
}

static void ob_raw(sim_agent_proto_buf *b, const char *s, size_t n) {
  memcpy(b->data + b->len, s, n);
  b->len += n;
}
#define OB_LIT(b, s) ob_raw((b), (s), sizeof(s) - 1)

static void ob_i64(sim_agent_proto_buf *b, int64_t v) {
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
static void ob_fix(sim_agent_proto_buf *b, double x, int dec) {
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
static void ob_str(sim_agent_proto_buf *b, const char *s) {
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

static void ob_point(sim_agent_proto_buf *b, double lng, double lat) {
  b->data[b->len++] = '[';
  ob_fix(b, lng, 9);
  b->data[b->len++] = ',';
  ob_fix(b, lat, 9);
  b->data[b->len++] = ']';
}

/* ------------------------------------------------------------ requests */

/* Takes a new stamp, then covers n_drivers drivers and n_rows rows (new
 * slots zeroed: stamp 0 is never a request's). On RS_ENOMEM the new stamp
 * stands all the same, so nothing is offered. */
static int begin_request(sim_agent_proto *p, int32_t n_drivers, int32_t n_rows) {
  if (++p->stamp == 0) {
    if (p->cap_drv) memset(p->drv, 0, p->cap_drv * sizeof *p->drv);
    if (p->cap_drvtext) memset(p->drvtext, 0, p->cap_drvtext * sizeof *p->drvtext);
    if (p->cap_rows) memset(p->row_used, 0, p->cap_rows * sizeof *p->row_used);
    p->stamp = 1;
  }
  size_t old = p->cap_drv;
  if (rs_vec_grow(p->drv, p->cap_drv, (size_t)n_drivers)) return RS_ENOMEM;
  if (p->cap_drv > old) memset(p->drv + old, 0, (p->cap_drv - old) * sizeof *p->drv);
  old = p->cap_drvtext;
  if (rs_vec_grow(p->drvtext, p->cap_drvtext, (size_t)n_drivers)) return RS_ENOMEM;
  if (p->cap_drvtext > old)
    memset(p->drvtext + old, 0, (p->cap_drvtext - old) * sizeof *p->drvtext);
  old = p->cap_rows;
  if (rs_vec_grow(p->row_used, p->cap_rows, (size_t)n_rows)) return RS_ENOMEM;
  if (p->cap_rows > old) memset(p->row_used + old, 0, (p->cap_rows - old) * sizeof *p->row_used);
  return 0;
}

static int cmp_id_row(const void *x, const void *y) {
  const struct sim_agent_proto_idrow *a = x, *b = y;
  if (a->id != b->id) return (a->id > b->id) - (a->id < b->id);
  return (a->row > b->row) - (a->row < b->row);
}

int sim_agent_proto_dispatch_observ(sim_agent_proto *p, const disp_tick *t) {
  int32_t n_edges = t->row_ptr[t->n_rows];
  p->now = t->now;
  p->n_obs = 0;
  p->n_ids = 0;
  if (begin_request(p, t->n_drivers, t->n_rows) ||
      rs_vec_grow(p->obs, p->cap_obs, (size_t)n_edges) ||
      rs_vec_grow(p->ids, p->cap_ids, (size_t)t->n_rows))
    return RS_ENOMEM;
  int64_t ts = unix_of(p, t->now);
  int32_t dow = rs_time_weekday(t->now);
  double ratio = sim_agent_proto_dist_ratio(p, t->travel);
  size_t n = 0;
  for (int32_t r = 0; r < t->n_rows; r++) {
    int32_t lo = t->row_ptr[r], hi = t->row_ptr[r + 1];
    if (lo == hi) continue;
    int32_t o = t->row_order[r];
    const disp_order *od = &t->orders[o];
    p->ids[p->n_ids].id = od->id;
    p->ids[p->n_ids++].row = r;
    for (int32_t k = lo; k < hi; k++) {
      int32_t d = t->edge_driver[k];
      const disp_driver *dv = &t->drivers[d];
      sim_agent_proto_rec *x = &p->obs[n++];
      x->order_id = od->id;
      x->driver_id = d;
      x->order = o;
      /* The engine's distance: with the great-circle model the great
       * circle on the city's sphere (chord-exact, candidates.h), which on
       * the KDD sphere scales by the ratio of radii; road metres as they
       * are. */
      x->dist = t->edge_dist[k] / ratio;
      x->slng = od->plng;
      x->slat = od->plat;
      x->flng = od->dlng;
      x->flat = od->dlat;
      x->dlng = dv->lng;
      x->dlat = dv->lat;
      x->ts = ts;
      x->finish_ts = unix_of(p, od->t_request + od->duration_s);
      x->dow = dow;
      x->reward = od->fare;
      x->eta = t->edge_eta[k];
      p->drv[d].offered = p->stamp;
    }
  }
  p->n_obs = n;
  if (p->n_ids > 1) qsort(p->ids, p->n_ids, sizeof *p->ids, cmp_id_row);
  p->counts.candidates += (int64_t)n;
  return 0;
}

/* Each candidate record is written as its own fields (driver, distance,
 * driver location, ETA) followed by its order's fields, which are the same
 * for every candidate of the order: those are formatted once per order into
 * `ofields` and copied. Formatting numbers is most of the cost of a request. */
int sim_agent_proto_write_dispatch(sim_agent_proto *p, sim_agent_proto_buf *b, int64_t seq) {
  b->len = 0;
  if (ob_reserve(b, 128)) return RS_ENOMEM;
  OB_LIT(b, "{\"type\":\"dispatch\",\"tick\":");
  ob_i64(b, seq);
  OB_LIT(b, ",\"observ\":[");
  sim_agent_proto_buf *of = &p->ofields;
  for (size_t i = 0; i < p->n_obs; i++) {
    const sim_agent_proto_rec *x = &p->obs[i];
    if (i == 0 || x->order_id != p->obs[i - 1].order_id) {
      of->len = 0;
      if (ob_reserve(of, RECORD_MAX)) return RS_ENOMEM;
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
    if (ob_reserve(b, RECORD_MAX + of->len)) return RS_ENOMEM;
    if (i) b->data[b->len++] = ',';
    /* a driver is offered to many orders: its id and location once */
    struct sim_agent_proto_drvtext *dt = &p->drvtext[x->driver_id];
    if (dt->at != p->stamp) {
      sim_agent_proto_buf t = {dt->text, 0, DRV_TEXT_MAX};
      OB_LIT(&t, "{\"driver_id\":");
      ob_i64(&t, x->driver_id);
      OB_LIT(&t, ",\"driver_location\":");
      ob_point(&t, x->dlng, x->dlat);
      dt->len = (uint8_t)t.len;
      dt->at = p->stamp;
    }
    ob_raw(b, dt->text, dt->len);
    OB_LIT(b, ",\"order_driver_distance\":");
    ob_fix(b, x->dist, 6);
    OB_LIT(b, ",\"pick_up_eta\":");
    ob_fix(b, x->eta, 6);
    ob_raw(b, of->data, of->len);
  }
  if (ob_reserve(b, 8)) return RS_ENOMEM;
  OB_LIT(b, "]}\n");
  return 0;
}

int sim_agent_proto_repo_observ(sim_agent_proto *p, const disp_repo *r) {
  p->now = r->now;
  int32_t nd = 0;
  for (int32_t i = 0; i < r->n_eligible; i++)
    if (r->eligible[i] + 1 > nd) nd = r->eligible[i] + 1;
  if (begin_request(p, nd, 0)) return RS_ENOMEM;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    p->drv[r->eligible[i]].offered = p->stamp;
    p->drv[r->eligible[i]].pos = i;
  }
  return 0;
}

void sim_agent_proto_grid_id(const sim_agent_proto *p, double lat, double lng, int32_t cell,
                             char *buf, size_t n) {
  if (p->o.kdd) {
    int32_t k = city_kdd_grid_nearest(p->o.kdd, lat, lng);
    snprintf(buf, n, "%s", city_kdd_grid_cell(p->o.kdd, k)->id);
  } else {
    snprintf(buf, n, "%" PRId32, cell);
  }
}

/* The engine cell a destination grid_id names, or -1. */
static int32_t cell_of_grid_id(const sim_agent_proto *p, const char *id) {
  if (p->o.kdd) {
    int32_t k = city_kdd_grid_find(p->o.kdd, id);
    if (k < 0) return -1;
    const city_kdd_cell *c = city_kdd_grid_cell(p->o.kdd, k);
    return city_grid_point_index(p->o.grid, c->lat, c->lng);
  }
  if (*id < '0' || *id > '9') return -1;
  char *end;
  long long v = strtoll(id, &end, 10);
  if (*end != '\0' || v < 0 || v >= p->o.grid->n_cells) return -1;
  return (int32_t)v;
}

int sim_agent_proto_write_repo(sim_agent_proto *p, sim_agent_proto_buf *b, const disp_repo *r,
                               int64_t seq) {
  b->len = 0;
  if (ob_reserve(b, 256)) return RS_ENOMEM;
  OB_LIT(b, "{\"type\":\"reposition\",\"tick\":");
  ob_i64(b, seq);
  OB_LIT(b, ",\"observ\":{\"timestamp\":");
  ob_i64(b, unix_of(p, r->now));
  OB_LIT(b, ",\"driver_info\":[");
  char gid[CITY_KDD_ID_MAX + 16];
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t d = r->eligible[i];
    const disp_driver *dv = &r->drivers[d];
    sim_agent_proto_grid_id(p, dv->lat, dv->lng, dv->cell, gid, sizeof gid);
    if (ob_reserve(b, RECORD_MAX)) return RS_ENOMEM;
    if (i) b->data[b->len++] = ',';
    OB_LIT(b, "{\"driver_id\":");
    ob_i64(b, d);
    OB_LIT(b, ",\"grid_id\":");
    ob_str(b, gid);
    b->data[b->len++] = '}';
  }
  if (ob_reserve(b, 64)) return RS_ENOMEM;
  OB_LIT(b, "],\"day_of_week\":");
  ob_i64(b, rs_time_weekday(r->now));
  OB_LIT(b, "}}\n");
  return 0;
}

int sim_agent_proto_write_init(sim_agent_proto_buf *b) {
  b->len = 0;
  if (ob_reserve(b, 64)) return RS_ENOMEM;
  OB_LIT(b, "{\"type\":\"init\",\"tick\":0}\n");
  return 0;
}

/* ------------------------------------------------------------- replies */

/* An integer-valued JSON number (booleans and strings are wrong types). */
static int json_int(const cJSON *x, int64_t *v) {
  if (!cJSON_IsNumber(x)) return -1;
  double d = x->valuedouble;
  if (d != floor(d) || fabs(d) > 9007199254740992.0) return -1;
  *v = (int64_t)d;
  return 0;
}

void sim_agent_proto_parse(sim_agent_proto_reply *r, const char *line, size_t len) {
  memset(r, 0, sizeof *r);
  r->too_long = line == NULL;
  if (r->too_long) return;
  r->root = cJSON_ParseWithLength(line, len);
  const cJSON *tk = cJSON_IsObject(r->root) ? cJSON_GetObjectItemCaseSensitive(r->root, "tick")
                                            : NULL;
  if (tk && json_int(tk, &r->tick) == 0) r->has_tick = 1;
}

void sim_agent_proto_reply_free(sim_agent_proto_reply *r) {
  cJSON_Delete(r->root);
  memset(r, 0, sizeof *r);
}

int sim_agent_proto_envelope(sim_agent_proto *p, int kind, int64_t seq, sim_agent_proto_reply *r) {
  r->result = NULL;
  if (r->too_long) {
    sim_agent_proto_fault(p, kind, seq, SIM_AGENT_F_TOO_LONG, 0, "reply line longer than %zu bytes",
                          p->o.line_max);
    return -1;
  }
  const cJSON *root = r->root;
  if (root == NULL) {
    sim_agent_proto_fault(p, kind, seq, SIM_AGENT_F_NOT_JSON, 0, "reply is not JSON");
    return -1;
  }
  const cJSON *ok = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "ok") : NULL;
  if (!cJSON_IsBool(ok)) {
    sim_agent_proto_fault(p, kind, seq, SIM_AGENT_F_BAD_REPLY, 0,
                          "reply is not an object with a boolean \"ok\"");
    return -1;
  }
  if (cJSON_IsFalse(ok)) {
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "message");
    sim_agent_proto_fault(p, kind, seq, SIM_AGENT_F_EXCEPTION, 0, "%s: %.400s",
                          cJSON_IsString(er) ? er->valuestring : sim_agent_error_name(kind),
                          cJSON_IsString(ms) ? ms->valuestring : "(no message)");
    return -1;
  }
  if (kind == SIM_AGENT_REQ_INIT) return 0;
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
  if (!cJSON_IsArray(res)) {
    sim_agent_proto_fault(p, kind, seq, SIM_AGENT_F_BAD_REPLY, 0, "\"result\" is not a list");
    return -1;
  }
  r->result = res;
  return 0;
}

void sim_agent_proto_init_error(const sim_agent_proto_reply *r, char *buf, size_t n) {
  const cJSON *root = r->root;
  const cJSON *er = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
  const cJSON *ms = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
  snprintf(buf, n, "%s: %.400s", cJSON_IsString(er) ? er->valuestring : "InitAgentError",
           cJSON_IsString(ms) ? ms->valuestring : "the init reply is not {\"ok\": true}");
}

/* The row of an offered order id, or -1. */
static int32_t find_row(const sim_agent_proto *p, int64_t id) {
  size_t lo = 0, hi = p->n_ids;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->ids[mid].id == id) return p->ids[mid].row;
    if (p->ids[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

int sim_agent_proto_accept_pair(sim_agent_proto *p, disp_tick *t, int64_t seq, int64_t oid,
                                int64_t did) {
  const int K = SIM_AGENT_REQ_DISPATCH;
  int32_t row = find_row(p, oid);
  if (row < 0) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_UNKNOWN_ORDER, 1,
                          "order_id %" PRId64 " was not offered", oid);
    p->counts.pairs_dropped++;
    return 0;
  }
  if (did < 0 || did >= t->n_drivers || p->drv[did].offered != p->stamp) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_UNKNOWN_DRIVER, 1,
                          "driver_id %" PRId64 " was not offered", did);
    p->counts.pairs_dropped++;
    return 0;
  }
  int32_t k = t->row_ptr[row], hi = t->row_ptr[row + 1];
  while (k < hi && t->edge_driver[k] != did) k++;
  if (k == hi) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_NOT_OFFERED, 1,
                          "pair (order_id %" PRId64 ", driver_id %" PRId64 ") is not a candidate",
                          oid, did);
    p->counts.pairs_dropped++;
    return 0;
  }
  if (p->row_used[row] == p->stamp) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_DUP_ORDER, 1,
                          "order_id %" PRId64 " assigned again (to driver_id %" PRId64
                          "): dropped",
                          oid, did);
    p->counts.pairs_dropped++;
    return 0;
  }
  if (p->drv[did].used == p->stamp) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_DUP_DRIVER, 1,
                          "driver_id %" PRId64 " assigned again (to order_id %" PRId64
                          "): dropped",
                          did, oid);
    p->counts.pairs_dropped++;
    return 0;
  }
  /* each row is used at most once: n_out stays <= n_rows, the room of out */
  p->row_used[row] = p->stamp;
  p->drv[did].used = p->stamp;
  t->out[t->n_out].order = t->row_order[row];
  t->out[t->n_out].driver = (int32_t)did;
  t->n_out++;
  p->counts.pairs_accepted++;
  return 1;
}

int sim_agent_proto_accept_move(sim_agent_proto *p, disp_repo *r, int64_t seq, int64_t did,
                                const char *dest) {
  const int K = SIM_AGENT_REQ_REPOSITION;
  if (did < 0 || (uint64_t)did >= p->cap_drv || p->drv[did].offered != p->stamp) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_UNKNOWN_DRIVER, 1,
                          "driver_id %" PRId64 " was not offered", did);
    return 0;
  }
  if (p->drv[did].used == p->stamp) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_DUP_DRIVER, 1,
                          "driver_id %" PRId64 " moved twice: dropped", did);
    return 0;
  }
  int32_t c = cell_of_grid_id(p, dest);
  if (c < 0) {
    sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_BAD_DEST, 1,
                          "destination '%.60s' of driver_id %" PRId64
                          " is not a grid_id of the city",
                          dest, did);
    return 0;
  }
  p->drv[did].used = p->stamp;
  r->dest_cell[p->drv[did].pos] = c;
  p->counts.moves_accepted++;
  return 1;
}

int32_t sim_agent_proto_dispatch_items(sim_agent_proto *p, disp_tick *t, int64_t seq,
                                       const sim_agent_proto_reply *r) {
  const int K = SIM_AGENT_REQ_DISPATCH;
  int32_t accepted = 0;
  int idx = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, r->result) {
    int64_t oid, did;
    if (!cJSON_IsObject(it) || json_int(cJSON_GetObjectItemCaseSensitive(it, "order_id"), &oid) ||
        json_int(cJSON_GetObjectItemCaseSensitive(it, "driver_id"), &did)) {
      sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_WRONG_TYPE, 1,
                            "item %d: expected {\"order_id\": int, \"driver_id\": int}", idx);
      p->counts.pairs_dropped++;
    } else {
      accepted += sim_agent_proto_accept_pair(p, t, seq, oid, did);
    }
    idx++;
  }
  return accepted;
}

int32_t sim_agent_proto_repo_items(sim_agent_proto *p, disp_repo *r, int64_t seq,
                                   const sim_agent_proto_reply *rp) {
  const int K = SIM_AGENT_REQ_REPOSITION;
  int32_t accepted = 0;
  int idx = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, rp->result) {
    int64_t did;
    const cJSON *dst = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "destination")
                                          : NULL;
    if (!cJSON_IsObject(it) || json_int(cJSON_GetObjectItemCaseSensitive(it, "driver_id"), &did) ||
        !cJSON_IsString(dst)) {
      sim_agent_proto_fault(p, K, seq, SIM_AGENT_F_WRONG_TYPE, 1,
                            "item %d: expected {\"driver_id\": int, \"destination\": grid_id string}",
                            idx);
    } else {
      accepted += sim_agent_proto_accept_move(p, r, seq, did, dst->valuestring);
    }
    idx++;
  }
  return accepted;
}
