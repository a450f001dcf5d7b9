/*
 * travel_net: the road-network travel model; see travel_net.h.
 *
 * Costs: snap O(log n) (kd-tree); leg and pickup one table read (O(1), the
 * row of the destination) or one hub-label merge; position a walk over the
 * drive's links (hub labels, no search). Access legs measure straight
 * metres in the network's equirectangular frame (one cosine, taken at the
 * network's centre): over the few hundred metres of an access leg its
 * error is far below a metre, and it costs no trigonometry per call.
 *
 * reach_m: every drive obeys secs >= gc / vmax - slack, where vmax(t) is
 * the larger of the fastest link's great-circle speed divided by f(t) and
 * the access speed v(t) (a path covers no more ground than its links'
 * chords, and the access legs are straight), and slack is half a table
 * unit times f(t) (the table rounds to nearest). A 0.1 % margin covers the
 * frame's distortion.
 */
#include "city_data/travel_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/rs_time.h"

typedef struct {
  const city_def *city;
  city_net *base;           /* owned: the network as loaded */
  city_net *net;            /* the network driven: base, or base retimed by cell
                               factors (then owned too) */
  city_field field;         /* the cell factors applied (n 0: none) */
  char *cache_dir;          /* owned copy of the options' (NULL: the default) */
  int threads;              /* the options' */
  int table_mode;           /* the options' table (CITY_NET_TABLE_*) */
  city_net_table *tab;      /* owned; NULL: hub labels answer drives */
  city_net_hubs *hubs;      /* owned */
  double factor[2][24];     /* [weekend][hour] */
  int source;               /* CITY_NET_FACTORS_*: where factor came from */
  double kx, ky;            /* metres per degree of longitude, latitude */
} tn_ctx;

void city_net_model_defaults(city_net_model_opts *o) {
  memset(o, 0, sizeof *o);
  o->table = CITY_NET_TABLE_AUTO;
}

static double factor_at(const tn_ctx *c, int64_t t) {
  return c->factor[rs_time_weekend(t)][rs_time_hour(t)];
}

/* Straight metres between a point and node v. */
static double access_m(const tn_ctx *c, double lat, double lng, int32_t v) {
  double dx = (lng - c->net->lng[v]) * c->kx, dy = (lat - c->net->lat[v]) * c->ky;
  return sqrt(dx * dx + dy * dy);
}

static int32_t tn_snap(void *ctx, double lat, double lng) {
  const tn_ctx *c = ctx;
  return city_net_snap(c->net, lat, lng, NULL);
}

static int32_t node_of(const tn_ctx *c, const city_loc *p) {
  return p->node >= 0 && p->node < c->net->n_nodes ? p->node
                                                   : city_net_snap(c->net, p->lat, p->lng, NULL);
}

/* The free-flow network drive na -> nb: seconds and metres. */
static void net_drive(const tn_ctx *c, int32_t na, int32_t nb, double *secs, double *metres) {
  if (c->tab != NULL) {
    uint32_t cell = city_net_table_cell(c->tab, na, nb);
    *secs = city_net_table_secs(c->tab, cell);
    *metres = city_net_table_metres(c->tab, cell);
  } else {
    uint64_t w = city_net_hubs_query(c->hubs, na, nb);
    *secs = city_net_secs(c->net, w);
    *metres = city_net_metres(c->net, w);
  }
}

static void drive(const tn_ctx *c, const city_loc *a, const city_loc *b, int64_t t,
                  city_leg *out) {
  int32_t na = node_of(c, a), nb = node_of(c, b);
  double am = access_m(c, a->lat, a->lng, na), bm = access_m(c, b->lat, b->lng, nb);
  double s, m;
  net_drive(c, na, nb, &s, &m);
  out->secs = (am + bm) / city_def_speed(c->city, t) + s * factor_at(c, t);
  out->metres = am + m + bm;
}

static void tn_leg(void *ctx, const city_loc *a, const city_loc *b, int64_t t, double known_m,
                   city_leg *out) {
  const tn_ctx *c = ctx;
  drive(c, a, b, t, out);
  if (known_m > 0) {
    /* the recorded length at this drive's pace (the city's speed when the
     * drive has no length: both ends at one point) */
    out->secs = out->metres > 0 ? out->secs * (known_m / out->metres)
                                : known_m / city_def_speed(c->city, t);
    out->metres = known_m;
  }
}

static void tn_pickup(void *ctx, const city_loc *drv, const city_loc *pu, double gc_m, int64_t t,
                      city_leg *out) {
  (void)gc_m;
  drive(ctx, drv, pu, t, out);
}

static double tn_reach_m(void *ctx, double secs, int64_t t) {
  const tn_ctx *c = ctx;
  double f = factor_at(c, t), v = city_def_speed(c->city, t);
  double vmax = c->net->max_geo_mps / f;
  if (v > vmax) vmax = v;
  double slack = c->tab != NULL ? 0.5 * c->tab->q_t * f : 0.0;
  return (secs + slack) * vmax * 1.001;
}

/* The position walk: the first link whose end is past `target` seconds. */
typedef struct {
  const tn_ctx *c;
  double f;             /* speed factor of the drive */
  double target;        /* seconds into the network part */
  double secs, metres;  /* so far, at the current link's tail */
  int32_t link;         /* the link the target falls in, -1 */
  double frac;          /* ... and how far along it */
} pos_walk;

static int pos_visit(void *ctx, int32_t link) {
  pos_walk *p = ctx;
  const city_net *net = p->c->net;
  double s = city_net_secs(net, net->w[link]) * p->f;
  double m = city_net_metres(net, net->w[link]);
  if (p->secs + s >= p->target) {
    p->link = link;
    p->frac = s > 0 ? (p->target - p->secs) / s : 1.0;
    return 1;
  }
  p->secs += s;
  p->metres += m;
  return 0;
}

/* The tail node of forward link i. */
static int32_t link_tail(const city_net *net, int32_t i) {
  int32_t lo = 0, hi = net->n_nodes - 1;
  while (lo < hi) { /* the last v with first[v] <= i */
    int32_t mid = lo + (hi - lo + 1) / 2;
    if (net->first[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static void tn_position(void *ctx, const city_loc *a, const city_loc *b, int64_t t0, int64_t t1,
                        int64_t t, city_loc *at, double *driven_m) {
  const tn_ctx *c = ctx;
  const city_net *net = c->net;
  double span = (double)(t1 - t0);
  double fr = span > 0 ? (double)(t - t0) / span : 1.0;
  if (fr < 0) fr = 0;
  if (fr > 1) fr = 1;
  int32_t na = node_of(c, a), nb = node_of(c, b);
  double v = city_def_speed(c->city, t0), f = factor_at(c, t0);
  double am = access_m(c, a->lat, a->lng, na), bm = access_m(c, b->lat, b->lng, nb);
  uint64_t w = city_net_hubs_query(c->hubs, na, nb);
  double ns = city_net_secs(net, w) * f, nm = city_net_metres(net, w);
  double total = am / v + ns + bm / v;
  double target = fr * total;
  if (target <= am / v || total <= 0) {
    /* on the access leg to a's node */
    double g = am > 0 ? target * v / am : 0;
    if (g > 1) g = 1;
    at->lat = a->lat + g * (net->lat[na] - a->lat);
    at->lng = a->lng + g * (net->lng[na] - a->lng);
    at->node = na;
    *driven_m = g * am;
    return;
  }
  target -= am / v;
  if (target < ns) {
    pos_walk p = {c, f, target, 0, 0, -1, 0};
    city_net_hubs_walk(c->hubs, na, nb, pos_visit, &p);
    if (p.link >= 0) {
      int32_t x = link_tail(net, p.link), y = net->head[p.link];
      at->lat = net->lat[x] + p.frac * (net->lat[y] - net->lat[x]);
      at->lng = net->lng[x] + p.frac * (net->lng[y] - net->lng[x]);
      at->node = y;
      *driven_m = am + p.metres + p.frac * city_net_metres(net, net->w[p.link]);
      return;
    }
    target = ns; /* cannot happen: the walk covers the drive */
  }
  /* on the access leg from b's node to b */
  double g = bm > 0 ? (target - ns) * v / bm : 1;
  if (g > 1) g = 1;
  at->lat = net->lat[nb] + g * (b->lat - net->lat[nb]);
  at->lng = net->lng[nb] + g * (b->lng - net->lng[nb]);
  at->node = nb;
  *driven_m = am + nm + g * bm;
}

static void tn_prefetch(void *ctx, const city_loc *from, const city_loc *to) {
  const tn_ctx *c = ctx;
  if (c->tab == NULL || from->node < 0 || to->node < 0) return;
#if defined(__GNUC__)
  __builtin_prefetch(&c->tab->cell[(size_t)to->node * (size_t)c->tab->n + (size_t)from->node]);
#endif
}

static void tn_free(void *ctx) {
  tn_ctx *c = ctx;
  if (c == NULL) return;
  city_net_table_free(c->tab);
  city_net_hubs_free(c->hubs);
  if (c->net != c->base) city_net_free(c->net);
  city_net_free(c->base);
  free(c->cache_dir);
  free(c);
}

/* The factor of each link of net under field f: the mean along its
 * straight segment, N points by its length (field.h). Returns a new array
 * of net->n_links factors, NULL when out of memory. */
static double *link_factors(const city_net *net, const city_field *f) {
  double *k = malloc((size_t)(net->n_links > 0 ? net->n_links : 1) * sizeof *k);
  if (k == NULL) return NULL;
  for (int32_t v = 0; v < net->n_nodes; v++)
    for (int32_t i = net->first[v]; i < net->first[v + 1]; i++) {
      int32_t u = net->head[i];
      k[i] = city_field_line(f, net->lat[v], net->lng[v], net->lat[u], net->lng[u],
                             net->length_m[i], NULL, NULL);
    }
  return k;
}

/* Drives the network under field f (NULL or empty: free flow): retimes the
 * base network and builds its labels (and table), through the model's
 * cache when `cache`, else without one. On failure c is as it was. */
static int apply_field(tn_ctx *c, const city_field *f, int cache, rs_err *e) {
  const char *dir = cache ? c->cache_dir : "";
  city_net *net = c->base;
  int rc = 0;
  if (f != NULL && f->n > 0) {
    double *k = link_factors(c->base, f);
    if (k == NULL) return rs_err_set(e, RS_ENOMEM, "road network model: out of memory");
    rc = city_net_retime(c->base, k, &net, e);
    free(k);
    if (rc) return rc;
  }
  city_net_hubs *hubs = NULL;
  city_net_table *tab = NULL;
  rc = city_net_hubs_open(net, dir, c->threads, &hubs, e);
  int want = c->table_mode == CITY_NET_TABLE_ALWAYS ||
             (c->table_mode == CITY_NET_TABLE_AUTO && net->n_nodes <= CITY_NET_TABLE_MAX_NODES);
  if (rc == 0 && want) {
    city_net_table_opts to = {dir, c->threads, hubs};
    rc = city_net_table_open(net, &to, &tab, e);
  }
  if (rc) {
    city_net_hubs_free(hubs);
    if (net != c->base) city_net_free(net);
    return rc;
  }
  city_net_table_free(c->tab);
  city_net_hubs_free(c->hubs);
  if (c->net != c->base) city_net_free(c->net);
  c->net = net;
  c->hubs = hubs;
  c->tab = tab;
  if (f != NULL && f->n > 0) c->field = *f;
  else c->field.n = 0;
  return 0;
}

static const city_travel_ops tn_ops = {
    .name = "road-network",
    .nodes = 1,
    .gc_monotone = 0,
    .road_pickup_m = 1,
    .snap = tn_snap,
    .leg = tn_leg,
    .pickup = tn_pickup,
    .position = tn_position,
    .reach_m = tn_reach_m,
    .prefetch = tn_prefetch,
    .free = tn_free,
};

int city_travel_net(const city_def *city, city_net *net, const city_net_model_opts *o,
                    city_travel *out, rs_err *e) {
  memset(out, 0, sizeof *out);
  city_net_model_opts dflt;
  if (o == NULL) {
    city_net_model_defaults(&dflt);
    o = &dflt;
  }
  tn_ctx *c = calloc(1, sizeof *c);
  if (c == NULL) {
    city_net_free(net);
    return rs_err_set(e, RS_ENOMEM, "road network model: out of memory");
  }
  c->city = city;
  c->base = c->net = net;
  c->threads = o->threads;
  c->table_mode = o->table;
  if (o->cache_dir != NULL && (c->cache_dir = strdup(o->cache_dir)) == NULL) {
    tn_free(c);
    return rs_err_set(e, RS_ENOMEM, "road network model: out of memory");
  }
  int from_city = !o->have_factors && city->net_have_factors;
  if (from_city && city->net_factors_hash != 0 && city->net_factors_hash != net->hash) {
    uint64_t h = net->hash;
    tn_free(c);
    return rs_err_set(e, RS_EINVAL, "city %s: its network_factors were fitted to the network of "
                      "content hash %016llx, not to this one (%016llx): calibrate it on this "
                      "network (ridesim calibrate --network) or give factors in the scenario",
                      city->name, (unsigned long long)city->net_factors_hash,
                      (unsigned long long)h);
  }
  c->source = o->have_factors ? CITY_NET_FACTORS_GIVEN
                              : from_city ? CITY_NET_FACTORS_CITY : CITY_NET_FACTORS_DERIVED;
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) {
      double f = o->have_factors ? o->factors[d][h]
                 : from_city     ? city->net_factors[d][h]
                                 : net->st.median_kmh / 3.6 / city->speed_mps[h];
      if (!(isfinite(f) && f > 0)) {
        tn_free(c);
        return rs_err_set(e, RS_EINVAL, "road network: speed factor of %s hour %d: %g is not a "
                          "positive number", d ? "weekend" : "weekday", h, f);
      }
      c->factor[d][h] = f;
    }
  double lat0 = 0.5 * (net->min_lat + net->max_lat);
  const double k = 3.14159265358979323846 / 180.0;
  c->ky = city->earth_radius_m * k;
  c->kx = c->ky * cos(lat0 * k);
  int rc = apply_field(c, from_city && !o->no_field ? &city->net_field : NULL, 1, e);
  if (rc) {
    tn_free(c);
    return rc;
  }
  out->ops = &tn_ops;
  out->ctx = c;
  out->city = city;
  return 0;
}

int city_travel_net_open(const city_def *city, const char *path, const city_net_model_opts *o,
                         city_travel *out, rs_err *e) {
  memset(out, 0, sizeof *out);
  city_net *net;
  int rc = city_net_load(path, &net, e);
  if (rc) return rc;
  return city_travel_net(city, net, o, out, e);
}

static const tn_ctx *ctx_of(const city_travel *tm) {
  return tm->ops == &tn_ops ? tm->ctx : NULL;
}

const city_net *city_travel_net_network(const city_travel *tm) {
  const tn_ctx *c = ctx_of(tm);
  return c ? c->net : NULL;
}

const city_net *city_travel_net_base(const city_travel *tm) {
  const tn_ctx *c = ctx_of(tm);
  return c ? c->base : NULL;
}

const city_field *city_travel_net_field(const city_travel *tm) {
  const tn_ctx *c = ctx_of(tm);
  return c ? &c->field : NULL;
}

double city_travel_net_access_m(const city_travel *tm, const city_loc *p) {
  const tn_ctx *c = ctx_of(tm);
  if (c == NULL) return 0;
  return access_m(c, p->lat, p->lng, node_of(c, p));
}

int city_travel_net_set_field(city_travel *tm, const city_field *f, int cache, rs_err *e) {
  tn_ctx *c = tm->ops == &tn_ops ? tm->ctx : NULL;
  if (c == NULL) return rs_err_set(e, RS_EINVAL, "cell factors: not a road-network model");
  if (f != NULL && city_field_check(f) != 0)
    return rs_err_set(e, RS_EINVAL, "cell factors: not a valid field");
  return apply_field(c, f, cache, e);
}

const city_net_table *city_travel_net_table(const city_travel *tm) {
  const tn_ctx *c = ctx_of(tm);
  return c ? c->tab : NULL;
}

const city_net_hubs *city_travel_net_hubs(const city_travel *tm) {
  const tn_ctx *c = ctx_of(tm);
  return c ? c->hubs : NULL;
}

double city_travel_net_factor(const city_travel *tm, int64_t t) {
  const tn_ctx *c = ctx_of(tm);
  return c ? factor_at(c, t) : 1.0;
}

int64_t city_travel_net_offnet(const city_travel *tm, const city_trip *trips, size_t n) {
  const tn_ctx *c = ctx_of(tm);
  if (c == NULL) return 0;
  int64_t k = 0;
  for (size_t i = 0; i < n; i++) {
    double d;
    city_net_snap(c->net, trips[i].plat, trips[i].plng, &d);
    k += d > CITY_NET_SNAP_LIMIT_M;
    city_net_snap(c->net, trips[i].dlat, trips[i].dlng, &d);
    k += d > CITY_NET_SNAP_LIMIT_M;
  }
  return k;
}

int city_travel_net_factors(const city_travel *tm, double out[2][24]) {
  const tn_ctx *c = ctx_of(tm);
  if (c == NULL) return -1;
  memcpy(out, c->factor, sizeof c->factor);
  return c->source;
}

int city_travel_net_set_factors(city_travel *tm, double f[2][24], rs_err *e) {
  tn_ctx *c = tm->ops == &tn_ops ? tm->ctx : NULL;
  if (c == NULL) return rs_err_set(e, RS_EINVAL, "speed factors: not a road-network model");
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++)
      if (!(isfinite(f[d][h]) && f[d][h] > 0))
        return rs_err_set(e, RS_EINVAL, "road network: speed factor of %s hour %d: %g is not a "
                          "positive number", d ? "weekend" : "weekday", h, f[d][h]);
  memcpy(c->factor, f, sizeof c->factor);
  c->source = CITY_NET_FACTORS_GIVEN;
  return 0;
}
