/*
 * plan: a sweep's plan read from JSON; see plan.h.
 *
 * Each run's scenario is the base scenario with its overrides parsed on top
 * (sim_scenario_parse, so a plan says nothing a scenario file could not):
 * the variant's first, then the axes' values, each axis one scenario key
 * (trips, day, drivers, dispatch, reposition, seed). Building a run costs a
 * JSON print and parse of its overrides and one of its scenario (the key):
 * some 50 us, so a plan of 10,000 runs reads in half a second.
 *
 * Rejected: keys from the plan's own coordinates (axis indices). They would
 * change when an axis gains a value or the axes are reordered, and a DB's
 * completed runs would no longer be recognised.
 */
#include "run/plan.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"
#include "base/rs_vec.h"

#define FAIL(...) rs_err_set(e, RS_EFORMAT, __VA_ARGS__)

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

#define FNV_BASIS 14695981039346656037ULL

static void hex_key(uint64_t h, char key[RUN_PLAN_KEY]) {
  snprintf(key, RUN_PLAN_KEY, "%016llx", (unsigned long long)h);
}

void run_plan_key(const sim_scenario *sc, char key[RUN_PLAN_KEY]) {
  sim_scenario s = *sc;
  s.out[0] = '\0';
  char *j = sim_scenario_to_json(&s);
  hex_key(j != NULL ? fnv1a(FNV_BASIS, j) : 0, key);
  free(j);
}

/* The group of a scenario: its key with the policies, seed and day left
 * out. */
static void group_key(const sim_scenario *sc, char key[RUN_PLAN_KEY]) {
  sim_scenario s = *sc;
  s.dispatch[0] = s.reposition[0] = '\0';
  s.seed = 0;
  s.day = -1;
  run_plan_key(&s, key);
}

void run_plan_free(run_plan *p) {
  free(p->runs);
  free(p->groups);
  free(p->group_keys);
  memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------- the axes */

/* One axis: its scenario key and values (borrowed from the plan's JSON, or
 * owned by `own` for seed ranges). */
typedef struct {
  const char *key;        /* the scenario key */
  const cJSON **v;        /* values; NULL entries: no override */
  int n;
  const char **names;     /* variants: their names */
} axis;

/* "1-5", "1,3,7", "1-3,10" into numbers appended to own. */
static int seed_range(const char *s, cJSON *own, rs_err *e) {
  const char *p = s;
  for (;;) {
    char *end;
    unsigned long long lo = strtoull(p, &end, 10), hi = lo;
    if (end == p) return FAIL("plan: 'seeds': expected ranges like \"1-5\" or \"1,3,7\", got '%s'", s);
    p = end;
    if (*p == '-') {
      p++;
      hi = strtoull(p, &end, 10);
      if (end == p || hi < lo) return FAIL("plan: 'seeds': bad range in '%s'", s);
      p = end;
    }
    if (hi - lo >= RUN_PLAN_MAX_RUNS) return FAIL("plan: 'seeds': range too long in '%s'", s);
    for (unsigned long long v = lo;; v++) {
      char buf[32];
      snprintf(buf, sizeof buf, "%llu", v);
      cJSON_AddItemToArray(own, cJSON_CreateString(buf));
      if (v == hi) break;
    }
    if (*p == '\0') return 0;
    if (*p != ',') return FAIL("plan: 'seeds': unexpected '%c' in '%s'", *p, s);
    p++;
  }
}

static int axis_of(const cJSON *axes, const char *name, const char *key, cJSON *own, axis *a,
                   rs_err *e) {
  a->key = key;
  a->n = 0;
  a->v = NULL;
  a->names = NULL;
  const cJSON *it = axes ? cJSON_GetObjectItemCaseSensitive(axes, name) : NULL;
  if (it == NULL) {
    a->v = calloc(1, sizeof *a->v);
    if (a->v == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
    a->n = 1;
    return 0;
  }
  if (strcmp(name, "seeds") == 0 && cJSON_IsString(it)) {
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
    cJSON_AddItemToArray(own, arr);
    int rc = seed_range(it->valuestring, arr, e);
    if (rc != 0) return rc;
    it = arr;
  }
  if (strcmp(name, "variants") == 0) {
    if (!cJSON_IsObject(it)) return FAIL("plan: 'axes.variants' must be an object {\"NAME\": {...}}");
  } else if (!cJSON_IsArray(it)) {
    return FAIL("plan: 'axes.%s' must be an array", name);
  }
  int n = cJSON_GetArraySize(it);
  if (n == 0) return FAIL("plan: 'axes.%s' is empty", name);
  a->v = calloc((size_t)n, sizeof *a->v);
  a->names = calloc((size_t)n, sizeof *a->names);
  if (a->v == NULL || a->names == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
  const cJSON *v;
  cJSON_ArrayForEach(v, it) {
    if (strcmp(name, "variants") == 0 && !cJSON_IsObject(v))
      return FAIL("plan: variant '%s' must be an object of scenario options", v->string);
    a->names[a->n] = v->string;
    a->v[a->n++] = v;
  }
  return 0;
}

static void axis_free(axis *a) {
  free(a->v);
  free(a->names);
}

/* ------------------------------------------------------------- the runs */

/* Adds a run: the base with the overrides (an object, NULL for none)
 * parsed on top, validated, keyed. */
static int add_run(run_plan *p, size_t *cap, const sim_scenario *base, const cJSON *variant,
                   const cJSON *ov, const char *glabel, int i_run, rs_err *e) {
  if (p->n_runs >= RUN_PLAN_MAX_RUNS)
    return FAIL("plan: more than %d runs", RUN_PLAN_MAX_RUNS);
  if (rs_vec_grow(p->runs, *cap, (size_t)p->n_runs + 1))
    return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
  run_plan_run *r = &p->runs[p->n_runs];
  memset(r, 0, sizeof *r);
  r->sc = *base;
  char origin[64];
  snprintf(origin, sizeof origin, "plan run %d", i_run + 1);
  const cJSON *parts[2] = {variant, ov};
  for (int k = 0; k < 2; k++) {
    if (parts[k] == NULL) continue;
    char *txt = cJSON_PrintUnformatted(parts[k]);
    if (txt == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
    int rc = sim_scenario_parse(&r->sc, txt, origin, e);
    free(txt);
    if (rc != 0) return rc;
  }
  int rc = sim_scenario_validate(&r->sc, e);
  if (rc != 0) return rc;
  run_plan_key(&r->sc, r->key);
  r->index = p->n_runs;
  char day[32] = "";
  if (r->sc.day >= 0) rs_time_format_day(r->sc.day, day, sizeof day);
  snprintf(r->pair, sizeof r->pair, "seed %llu%s%s", (unsigned long long)r->sc.seed,
           day[0] ? ", " : "", day);
  /* the group: found by its key among those seen */
  char gk[RUN_PLAN_KEY];
  group_key(&r->sc, gk);
  int g = 0;
  while (g < p->n_groups && strcmp(p->group_keys[g], gk) != 0) g++;
  if (g == p->n_groups) {
    char(*ng)[RUN_PLAN_LABEL] = realloc(p->groups, (size_t)(g + 1) * sizeof *ng);
    if (ng != NULL) p->groups = ng;
    char(*nk)[RUN_PLAN_KEY] = realloc(p->group_keys, (size_t)(g + 1) * sizeof *nk);
    if (nk != NULL) p->group_keys = nk;
    if (ng == NULL || nk == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
    snprintf(p->groups[g], RUN_PLAN_LABEL, "%s", glabel);
    memcpy(p->group_keys[g], gk, RUN_PLAN_KEY);
    p->n_groups++;
  }
  r->group = g;
  snprintf(r->label, sizeof r->label, "%s/%s %s%s%s", r->sc.dispatch, r->sc.reposition, r->pair,
           glabel[0] ? " " : "", glabel);
  p->n_runs++;
  return 0;
}

/* "k=v" of a JSON value, appended to buf. */
static void label_add(char *buf, size_t n, const char *k, const cJSON *v) {
  size_t len = strlen(buf);
  if (len + 2 >= n) return;
  char *txt = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
  snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", k,
           cJSON_IsString(v) ? v->valuestring : txt ? txt : "?");
  free(txt);
}

/* The cross product of the axes, in plan.h's order. */
static int cross(run_plan *p, const sim_scenario *base, const cJSON *axes, rs_err *e) {
  static const char *const AX[][2] = {{"trips", "trips"},       {"days", "day"},
                                      {"variants", NULL},       {"drivers", "drivers"},
                                      {"dispatch", "dispatch"}, {"reposition", "reposition"},
                                      {"seeds", "seed"}};
  enum { N_AX = sizeof AX / sizeof AX[0], I_VARIANT = 2, I_SEEDS = 6 };
  const cJSON *it;
  cJSON_ArrayForEach(it, axes) {
    int known = 0;
    for (int a = 0; a < N_AX; a++) known |= strcmp(it->string, AX[a][0]) == 0;
    if (!known)
      return FAIL("plan: unknown axis '%s' (axes: trips, days, variants, drivers, dispatch, "
                  "reposition, seeds)", it->string);
  }
  cJSON *own = cJSON_CreateArray();
  axis ax[N_AX];
  memset(ax, 0, sizeof ax);
  int rc = own == NULL ? rs_err_set(e, RS_ENOMEM, "plan: out of memory") : 0;
  for (int a = 0; a < N_AX && rc == 0; a++) rc = axis_of(axes, AX[a][0], AX[a][1], own, &ax[a], e);
  int idx[N_AX] = {0};
  size_t cap = 0;
  while (rc == 0) {
    cJSON *ov = cJSON_CreateObject();
    char glabel[RUN_PLAN_LABEL] = "";
    if (ov == NULL) {
      rc = rs_err_set(e, RS_ENOMEM, "plan: out of memory");
      break;
    }
    const cJSON *variant = NULL;
    for (int a = 0; a < N_AX; a++) {
      const cJSON *v = ax[a].v[idx[a]];
      if (v == NULL) continue;
      if (a == I_VARIANT) {
        variant = v;
        if (ax[a].n > 1) {
          cJSON *nm = cJSON_CreateString(ax[a].names[idx[a]]);
          label_add(glabel, sizeof glabel, "variant", nm);
          cJSON_Delete(nm);
        }
        continue;
      }
      cJSON *dup = cJSON_Duplicate(v, 1);
      if (a == I_SEEDS && cJSON_IsNumber(dup)) {
        /* numbers as decimal strings: the scenario reads any 64-bit seed so */
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", dup->valuedouble);
        cJSON_Delete(dup);
        dup = cJSON_CreateString(buf);
      }
      cJSON_AddItemToObject(ov, ax[a].key, dup);
      if (ax[a].n > 1 && (a == 0 || a == 3)) label_add(glabel, sizeof glabel, ax[a].key, v);
    }
    rc = add_run(p, &cap, base, variant, ov, glabel, p->n_runs, e);
    cJSON_Delete(ov);
    /* the next combination: the last axis turns fastest */
    int a = N_AX - 1;
    while (a >= 0 && ++idx[a] == ax[a].n) idx[a--] = 0;
    if (a < 0) break;
  }
  for (int a = 0; a < N_AX; a++) axis_free(&ax[a]);
  cJSON_Delete(own);
  return rc;
}

/* The explicit list: each entry's overrides on the base. */
static int listed(run_plan *p, const sim_scenario *base, const cJSON *runs, rs_err *e) {
  if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0)
    return FAIL("plan: 'runs' must be a non-empty array of scenario overrides");
  size_t cap = 0;
  int rc = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, runs) {
    if (!cJSON_IsObject(r)) return FAIL("plan: run %d is not an object", p->n_runs + 1);
    char glabel[RUN_PLAN_LABEL] = "";
    const cJSON *it;
    cJSON_ArrayForEach(it, r) {
      const char *k = it->string;
      if (strcmp(k, "dispatch") && strcmp(k, "reposition") && strcmp(k, "seed") &&
          strcmp(k, "day"))
        label_add(glabel, sizeof glabel, k, it);
    }
    if ((rc = add_run(p, &cap, base, NULL, r, glabel, p->n_runs, e)) != 0) return rc;
  }
  return 0;
}

static int cmp_key(const void *a, const void *b) {
  return strcmp(((const run_plan_run *)a)->key, ((const run_plan_run *)b)->key);
}

/* No two runs of one scenario; the plan's id from the sorted keys. */
static int finish(run_plan *p, rs_err *e) {
  run_plan_run *s = malloc((size_t)p->n_runs * sizeof *s);
  if (s == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
  memcpy(s, p->runs, (size_t)p->n_runs * sizeof *s);
  qsort(s, (size_t)p->n_runs, sizeof *s, cmp_key);
  uint64_t h = FNV_BASIS;
  int rc = 0;
  for (int i = 0; i < p->n_runs; i++) {
    if (i > 0 && strcmp(s[i].key, s[i - 1].key) == 0) {
      rc = rs_err_set(e, RS_EINVAL, "plan: runs %d and %d are the same scenario",
                      s[i - 1].index + 1, s[i].index + 1);
      break;
    }
    h = fnv1a(fnv1a(h, s[i].key), "\n");
  }
  free(s);
  if (rc == 0) hex_key(h, p->id);
  /* one group: no label needed */
  if (p->n_groups == 1) p->groups[0][0] = '\0';
  return rc;
}

static int baseline(run_plan *p, const cJSON *b, rs_err *e) {
  snprintf(p->base_dispatch, sizeof p->base_dispatch, "%s", p->runs[0].sc.dispatch);
  snprintf(p->base_reposition, sizeof p->base_reposition, "%s", p->runs[0].sc.reposition);
  if (b == NULL) return 0;
  if (!cJSON_IsString(b)) return FAIL("plan: 'baseline' must be \"DISPATCH\" or \"DISPATCH/REPOSITION\"");
  char d[2 * SIM_NAME_MAX + 2];
  snprintf(d, sizeof d, "%s", b->valuestring);
  char *slash = strchr(d, '/');
  if (slash) *slash = '\0';
  if (strlen(d) >= SIM_NAME_MAX || (slash && strlen(slash + 1) >= SIM_NAME_MAX))
    return FAIL("plan: 'baseline': a policy name is too long");
  if (slash) snprintf(p->base_reposition, sizeof p->base_reposition, "%.*s", SIM_NAME_MAX - 1, slash + 1);
  snprintf(p->base_dispatch, sizeof p->base_dispatch, "%.*s", SIM_NAME_MAX - 1, d);
  for (int i = 0; i < p->n_runs; i++)
    if (strcmp(p->runs[i].sc.dispatch, p->base_dispatch) == 0 &&
        strcmp(p->runs[i].sc.reposition, p->base_reposition) == 0)
      return 0;
  return rs_err_set(e, RS_EINVAL, "plan: baseline '%s' is not one of the runs' policies",
                    b->valuestring);
}

int run_plan_parse(run_plan *p, const char *json, const char *origin, rs_err *e) {
  memset(p, 0, sizeof *p);
  cJSON *root = cJSON_Parse(json);
  if (root == NULL) return FAIL("%s: not valid JSON", origin);
  int rc = 0;
  if (!cJSON_IsObject(root)) rc = FAIL("%s: a plan must be a JSON object", origin);
  const cJSON *it;
  if (rc == 0)
    cJSON_ArrayForEach(it, root) {
      const char *k = it->string;
      if (strcmp(k, "name") && strcmp(k, "description") && strcmp(k, "scenario") &&
          strcmp(k, "axes") && strcmp(k, "runs") && strcmp(k, "baseline")) {
        rc = FAIL("%s: unknown key '%s' (name, description, scenario, axes, runs, baseline)",
                  origin, k);
        break;
      }
    }
  const cJSON *sc = cJSON_GetObjectItemCaseSensitive(root, "scenario");
  const cJSON *axes = cJSON_GetObjectItemCaseSensitive(root, "axes");
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
  sim_scenario base;
  sim_scenario_defaults(&base);
  if (rc == 0 && axes != NULL && runs != NULL)
    rc = FAIL("%s: 'axes' and 'runs' exclude each other", origin);
  if (rc == 0 && axes != NULL && !cJSON_IsObject(axes))
    rc = FAIL("%s: 'axes' must be an object", origin);
  if (rc == 0 && sc != NULL) {
    if (cJSON_IsString(sc)) {
      rc = sim_scenario_load(&base, sc->valuestring, e);
    } else if (cJSON_IsObject(sc)) {
      char *txt = cJSON_PrintUnformatted(sc);
      rc = txt ? sim_scenario_parse(&base, txt, origin, e)
               : rs_err_set(e, RS_ENOMEM, "plan: out of memory");
      free(txt);
    } else {
      rc = FAIL("%s: 'scenario' must be an object or a scenario file's path", origin);
    }
  }
  if (rc == 0) {
    p->city_given = strcmp(base.city, "synthetic") != 0;
    rc = runs != NULL ? listed(p, &base, runs, e) : cross(p, &base, axes, e);
  }
  if (rc == 0) rc = finish(p, e);
  if (rc == 0) rc = baseline(p, cJSON_GetObjectItemCaseSensitive(root, "baseline"), e);
  cJSON_Delete(root);
  if (rc != 0) run_plan_free(p);
  return rc;
}

int run_plan_load(run_plan *p, const char *path, rs_err *e) {
  memset(p, 0, sizeof *p);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return rs_err_set(e, RS_ENOENT, "%s: cannot open the plan", path);
  size_t cap = 0, n = 0;
  char *buf = NULL;
  size_t got;
  /* room for a byte more and the NUL before each read */
  while (rs_vec_grow(buf, cap, n + 2) == 0 && (got = fread(buf + n, 1, cap - n - 1, f)) > 0)
    n += got;
  if (cap < n + 2) { /* out of memory */
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf == NULL) return rs_err_set(e, RS_ENOMEM, "plan: out of memory");
  buf[n] = '\0';
  int rc = run_plan_parse(p, buf, path, e);
  free(buf);
  return rc;
}
