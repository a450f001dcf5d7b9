/*
 * scenario: defaults, JSON in and out, validation; see scenario.h.
 *
 * The JSON keys are the field names below; the policies' options are the
 * registry's (dispatch/registry.h), read and printed by their schemas.
 * Times of day are written "HH:MM" (or seconds), the day "YYYY-MM-DD".
 * Parsing works on a copy and only replaces the caller's scenario when
 * every key was accepted.
 */
#include "sim/scenario.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"
#include "base/rs_vec.h"

_Static_assert(DISP_OPT_STR_SIZE == SIM_PATH_MAX,
               "a policy's path option holds any path a scenario holds");

/* KDD Cup 2020: monthly mean cancel probability at 200, 400, ..., 2000 m. */
static const double KDD_CANCEL_P[10] = {0.035, 0.039, 0.042, 0.050, 0.059,
                                        0.075, 0.086, 0.099, 0.112, 0.127};

void sim_scenario_defaults(sim_scenario *s) {
  memset(s, 0, sizeof *s);
  snprintf(s->city, sizeof s->city, "synthetic");
  s->synthetic_orders = 100000;
  s->day = -1;
  s->from_s = -1;
  s->days = 1;
  s->to_s = -1;
  s->warmup_s = 0;
  s->drain_s = SIM_DRAIN_ALL;
  s->drivers = -1;
  snprintf(s->dispatch, sizeof s->dispatch, "fcfs-nearest");
  snprintf(s->reposition, sizeof s->reposition, "stay");
  s->seed = 1;
  snprintf(s->out, sizeof s->out, "ridesim-results.db");
  s->speed = 0;
  s->tick_s = SIM_TICK_DEFAULT_S;
  s->patience_s = SIM_PATIENCE_DEFAULT_S;
  s->n_cancel = 10;
  for (int i = 0; i < 10; i++) {
    s->cancel_m[i] = 200.0 * (i + 1);
    s->cancel_p[i] = KDD_CANCEL_P[i];
  }
  s->cancel_delay_s = 30;
  snprintf(s->idle_model, sizeof s->idle_model, "stay");
  s->idle_step_s = SIM_IDLE_STEP_DEFAULT_S;
  s->repo_tick_s = SIM_REPO_TICK_DEFAULT_S;
  s->repo_idle_s = SIM_REPO_IDLE_DEFAULT_S;
  s->radius_m = 2000.0;
  s->top_k = 32;
  s->driver_top_k = 3;
  snprintf(s->placement, sizeof s->placement, "history");
  s->shift_hours = 0;
  s->repo_dispatchable = 0;
  disp_optvals_defaults(&s->policies);
}

int sim_scenario_parse_day(const char *str, int64_t *out) { return rs_time_parse_day(str, out); }

int sim_scenario_parse_tod(const char *str, int64_t *out) { return rs_time_parse_tod(str, out); }

#define FAIL(...) rs_err_set(e, RS_EFORMAT, __VA_ARGS__)

static int get_string(const cJSON *it, const char *origin, char *dst,
                      size_t size, rs_err *e) {
  if (!cJSON_IsString(it) || it->valuestring == NULL)
    return FAIL("%s: '%s' must be a string", origin, it->string);
  if (strlen(it->valuestring) >= size)
    return FAIL("%s: '%s' is too long", origin, it->string);
  snprintf(dst, size, "%s", it->valuestring);
  return 0;
}

static int get_number(const cJSON *it, const char *origin, double lo, double hi,
                      double *dst, rs_err *e) {
  if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
    return FAIL("%s: '%s' must be a number", origin, it->string);
  if (it->valuedouble < lo || it->valuedouble > hi)
    return FAIL("%s: '%s' must be between %g and %g", origin, it->string, lo, hi);
  *dst = it->valuedouble;
  return 0;
}

static int get_int(const cJSON *it, const char *origin, double lo, double hi,
                   int64_t *dst, rs_err *e) {
  double v = 0;
  int rc = get_number(it, origin, lo, hi, &v, e);
  if (rc) return rc;
  if (v != floor(v)) return FAIL("%s: '%s' must be an integer", origin, it->string);
  *dst = (int64_t)v;
  return 0;
}

static int get_tod(const cJSON *it, const char *origin, int64_t *dst, rs_err *e) {
  if (cJSON_IsNumber(it)) return get_int(it, origin, 0, 86400, dst, e);
  if (cJSON_IsNull(it)) {
    *dst = -1;
    return 0;
  }
  if (!cJSON_IsString(it) || sim_scenario_parse_tod(it->valuestring, dst) != 0)
    return FAIL("%s: '%s' must be a time of day \"HH:MM\"", origin, it->string);
  return 0;
}

static int read_array(const cJSON *arr, const char *origin, const char *key,
                      double *dst, int *n, rs_err *e) {
  if (!cJSON_IsArray(arr)) return FAIL("%s: 'cancel.%s' must be an array", origin, key);
  int count = cJSON_GetArraySize(arr);
  if (count < 1 || count > SIM_CANCEL_POINTS_MAX)
    return FAIL("%s: 'cancel.%s' must hold 1 to %d numbers", origin, key,
                SIM_CANCEL_POINTS_MAX);
  int i = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, arr) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
      return FAIL("%s: 'cancel.%s[%d]' must be a number", origin, key, i);
    dst[i++] = v->valuedouble;
  }
  *n = count;
  return 0;
}

/* "cancel": {"distance_m": [...], "p": [...], "delay_s": N}; the table is
 * given whole (both arrays, same length) or not at all. */
static int parse_cancel(sim_scenario *s, const cJSON *obj, const char *origin,
                        rs_err *e) {
  if (!cJSON_IsObject(obj)) return FAIL("%s: 'cancel' must be an object", origin);
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    if (strcmp(it->string, "delay_s") == 0) {
      int64_t v;
      int rc = get_int(it, origin, 0, 86400, &v, e);
      if (rc) return rc;
      s->cancel_delay_s = (int32_t)v;
    } else if (strcmp(it->string, "distance_m") != 0 && strcmp(it->string, "p") != 0) {
      return FAIL("%s: unknown key 'cancel.%s'", origin, it->string);
    }
  }
  const cJSON *dm = cJSON_GetObjectItemCaseSensitive(obj, "distance_m");
  const cJSON *pp = cJSON_GetObjectItemCaseSensitive(obj, "p");
  if (dm == NULL && pp == NULL) return 0;
  if (dm == NULL || pp == NULL)
    return FAIL("%s: 'cancel' needs both 'distance_m' and 'p'", origin);
  int nd, np, rc;
  if ((rc = read_array(dm, origin, "distance_m", s->cancel_m, &nd, e)) != 0) return rc;
  if ((rc = read_array(pp, origin, "p", s->cancel_p, &np, e)) != 0) return rc;
  if (nd != np)
    return FAIL("%s: 'cancel.distance_m' and 'cancel.p' differ in length", origin);
  s->n_cancel = nd;
  return 0;
}

/* One policy option: the JSON type checked against its schema, then its
 * range (dispatch/registry.h). name: the key as the file writes it. */
static int set_option(disp_optvals *v, const disp_registry_entry *ent, const disp_opt_spec *o,
                      const cJSON *it, const char *name, const char *origin, rs_err *e) {
  rs_err sub;
  rs_err_clear(&sub);
  int rc, typed;
  switch (o->type) {
  case DISP_OPT_NUMBER:
  case DISP_OPT_INTEGER:
    typed = cJSON_IsNumber(it);
    rc = typed ? disp_optvals_set_num(v, ent, o, it->valuedouble, name, &sub) : 0;
    break;
  case DISP_OPT_BOOL:
    typed = cJSON_IsBool(it);
    rc = typed ? disp_optvals_set_num(v, ent, o, cJSON_IsTrue(it) ? 1 : 0, name, &sub) : 0;
    break;
  case DISP_OPT_STRING:
  case DISP_OPT_PATH:
    typed = cJSON_IsNull(it) || (cJSON_IsString(it) && it->valuestring != NULL);
    rc = typed ? disp_optvals_set_str(v, ent, o, cJSON_IsNull(it) ? NULL : it->valuestring,
                                      name, &sub)
               : 0;
    break;
  default:
    typed = cJSON_IsString(it) && it->valuestring != NULL;
    rc = typed ? disp_optvals_set_str(v, ent, o, it->valuestring, name, &sub) : 0;
    break;
  }
  if (!typed) {
    char want[160];
    disp_opt_expect(o, want, sizeof want);
    return FAIL("%s: %s must be %s", origin, name, want);
  }
  return rc ? FAIL("%s: %s", origin, sub.msg) : 0;
}

/* "policies": {"NAME": {"KEY": value, ...}, ...}: the options of registered
 * policies, each checked against its schema. */
static int parse_policies(sim_scenario *s, const cJSON *obj, const char *origin, rs_err *e) {
  if (!cJSON_IsObject(obj)) return FAIL("%s: 'policies' must be an object", origin);
  const cJSON *pol;
  cJSON_ArrayForEach(pol, obj) {
    const disp_registry_entry *ent = disp_registry_find(pol->string);
    if (ent == NULL) {
      char known[256];
      disp_registry_names(DISP_REG_DISPATCH | DISP_REG_REPOSITION, 0, ", ", known, sizeof known);
      return FAIL("%s: unknown policy 'policies.%s' (known: %s)", origin, pol->string, known);
    }
    if (!cJSON_IsObject(pol))
      return FAIL("%s: 'policies.%s' must be an object", origin, pol->string);
    const cJSON *it;
    cJSON_ArrayForEach(it, pol) {
      const disp_opt_spec *o = disp_registry_opt(ent, it->string);
      if (o == NULL) {
        char keys[256] = "";
        for (int32_t k = 0; k < ent->n_opts; k++)
          snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", k ? ", " : "",
                   ent->opts[k].key);
        return FAIL("%s: unknown key 'policies.%s.%s' (%s takes %s)", origin, ent->name,
                    it->string, ent->name, ent->n_opts ? keys : "no options");
      }
      char name[SIM_NAME_MAX * 2 + 16];
      snprintf(name, sizeof name, "'policies.%s.%s'", ent->name, o->key);
      int rc = set_option(&s->policies, ent, o, it, name, origin, e);
      if (rc) return rc;
    }
  }
  return 0;
}

/* An object of the flat keys older scenario files used ("value": {"lr":
 * ...}): each key the alias "OBJECT.KEY" of a policy option, read with the
 * same checks. */
static int parse_aliases(sim_scenario *s, const cJSON *obj, const char *origin, rs_err *e) {
  if (!cJSON_IsObject(obj)) return FAIL("%s: '%s' must be an object", origin, obj->string);
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    const disp_registry_entry *ent;
    const disp_opt_spec *o = disp_registry_alias(obj->string, it->string, &ent);
    if (o == NULL) return FAIL("%s: unknown key '%s.%s'", origin, obj->string, it->string);
    char name[SIM_NAME_MAX * 2 + 16];
    snprintf(name, sizeof name, "'%s.%s'", obj->string, it->string);
    int rc = set_option(&s->policies, ent, o, it, name, origin, e);
    if (rc) return rc;
  }
  return 0;
}

/* 24 factors, each positive, into f. */
static int parse_24(const cJSON *a, const char *origin, const char *what, double *f, rs_err *e) {
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 24)
    return FAIL("%s: 'network_factors'%s must be an array of 24 numbers", origin, what);
  int h = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, a) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 100))
      return FAIL("%s: 'network_factors'%s[%d] must be a number in (0, 100]", origin, what, h);
    f[h++] = v->valuedouble;
  }
  return 0;
}

/* "network_factors": 24 numbers for every day, or {"weekday": [24],
 * "weekend": [24]}; null restores the derived defaults. */
static int parse_factors(sim_scenario *s, const cJSON *it, const char *origin, rs_err *e) {
  double f[2][24];
  int rc;
  if (cJSON_IsNull(it)) {
    s->network_have_factors = 0;
    return 0;
  }
  if (cJSON_IsArray(it)) {
    if ((rc = parse_24(it, origin, "", f[0], e)) != 0) return rc;
    memcpy(f[1], f[0], sizeof f[0]);
  } else if (cJSON_IsObject(it)) {
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(it, "weekday");
    const cJSON *we = cJSON_GetObjectItemCaseSensitive(it, "weekend");
    if (cJSON_GetArraySize(it) != 2 || wd == NULL || we == NULL)
      return FAIL("%s: 'network_factors' must hold exactly 'weekday' and 'weekend'", origin);
    if ((rc = parse_24(wd, origin, ".weekday", f[0], e)) != 0) return rc;
    if ((rc = parse_24(we, origin, ".weekend", f[1], e)) != 0) return rc;
  } else {
    return FAIL("%s: 'network_factors' must be 24 numbers or {\"weekday\", \"weekend\"}",
                origin);
  }
  memcpy(s->network_factors, f, sizeof f);
  s->network_have_factors = 1;
  return 0;
}

/* The first key that appears twice in one object of the tree, or NULL: cJSON
 * keeps both, and which one a reader takes would be an accident. */
static const char *duplicate_key(const cJSON *node) {
  const cJSON *a, *b;
  cJSON_ArrayForEach(a, node) {
    if (cJSON_IsObject(node))
      for (b = node->child; b != a; b = b->next)
        if (strcmp(a->string, b->string) == 0) return a->string;
    const char *d = duplicate_key(a);
    if (d != NULL) return d;
  }
  return NULL;
}

int sim_scenario_parse(sim_scenario *out, const char *json, const char *origin,
                       rs_err *e) {
  const char *stop = NULL;
  /* the whole text is one JSON value: anything after it is an error */
  cJSON *root = cJSON_ParseWithOpts(json, &stop, 1);
  if (root == NULL) {
    const char *where = cJSON_GetErrorPtr();
    int line = 1;
    for (const char *p = json; where && p < where && *p; p++) line += *p == '\n';
    cJSON *lenient = cJSON_Parse(json); /* valid up to trailing text? */
    int trailing = lenient != NULL;
    cJSON_Delete(lenient);
    return FAIL("%s:%d: not valid JSON%s", origin, line,
                trailing ? " (text after the scenario object)" : "");
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return FAIL("%s: a scenario must be a JSON object", origin);
  }
  const char *dup = duplicate_key(root);
  if (dup != NULL) {
    rs_err_set(e, RS_EFORMAT, "%s: key '%s' appears twice", origin, dup);
    cJSON_Delete(root);
    return RS_EFORMAT;
  }
  sim_scenario s = *out;
  int rc = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, root) {
    const char *k = it->string;
    int64_t iv;
    double dv = 0;
    if (strcmp(k, "city") == 0) rc = get_string(it, origin, s.city, sizeof s.city, e);
    else if (strcmp(k, "trips") == 0) {
      if (cJSON_IsNull(it)) s.trips[0] = '\0';
      else rc = get_string(it, origin, s.trips, sizeof s.trips, e);
    } else if (strcmp(k, "synthetic_orders") == 0) {
      rc = get_int(it, origin, 1, 1e8, &iv, e);
      if (!rc) s.synthetic_orders = iv;
    } else if (strcmp(k, "day") == 0) {
      if (cJSON_IsNull(it)) s.day = -1;
      else if (!cJSON_IsString(it) || sim_scenario_parse_day(it->valuestring, &s.day) != 0)
        rc = FAIL("%s: 'day' must be a date \"YYYY-MM-DD\"", origin);
    } else if (strcmp(k, "from") == 0) rc = get_tod(it, origin, &s.from_s, e);
    else if (strcmp(k, "to") == 0) rc = get_tod(it, origin, &s.to_s, e);
    else if (strcmp(k, "horizon_days") == 0) {
      rc = get_int(it, origin, 1, SIM_DAYS_MAX, &iv, e);
      if (!rc) s.days = (int32_t)iv;
    }
    else if (strcmp(k, "drivers") == 0) {
      if (cJSON_IsNull(it)) s.drivers = -1;
      else {
        rc = get_int(it, origin, 1, 10000000, &iv, e);
        if (!rc) s.drivers = (int32_t)iv;
      }
    } else if (strcmp(k, "dispatch") == 0) rc = get_string(it, origin, s.dispatch, sizeof s.dispatch, e);
    else if (strcmp(k, "reposition") == 0) rc = get_string(it, origin, s.reposition, sizeof s.reposition, e);
    else if (strcmp(k, "seed") == 0) {
      /* a number up to 2^53, or a decimal string for any seed below 2^63
       * (the results DB keeps seeds as SQLite's signed 64-bit integers) */
      if (cJSON_IsString(it)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(it->valuestring, &end, 10);
        if (errno != 0 || end == it->valuestring || *end != '\0' || it->valuestring[0] == '-' ||
            v > SIM_SEED_MAX)
          rc = FAIL("%s: 'seed' must be an integer from 0 to 9223372036854775807 (2^63 - 1)",
                    origin);
        else
          s.seed = (uint64_t)v;
      } else {
        rc = get_int(it, origin, 0, 9007199254740992.0, &iv, e);
        if (!rc) s.seed = (uint64_t)iv;
      }
    } else if (strcmp(k, "out") == 0) rc = get_string(it, origin, s.out, sizeof s.out, e);
    else if (strcmp(k, "speed") == 0) rc = get_number(it, origin, 0, 1e9, &s.speed, e);
    else if (strcmp(k, "tick_s") == 0) {
      rc = get_int(it, origin, 1, 3600, &iv, e);
      if (!rc) s.tick_s = (int32_t)iv;
    } else if (strcmp(k, "patience_s") == 0) {
      rc = get_int(it, origin, 0, 86400, &iv, e);
      if (!rc) s.patience_s = (int32_t)iv;
    } else if (strcmp(k, "cancel") == 0) rc = parse_cancel(&s, it, origin, e);
    else if (strcmp(k, "idle_model") == 0) rc = get_string(it, origin, s.idle_model, sizeof s.idle_model, e);
    else if (strcmp(k, "idle_step_s") == 0) {
      rc = get_int(it, origin, 1, 86400, &iv, e);
      if (!rc) s.idle_step_s = (int32_t)iv;
    } else if (strcmp(k, "repo_tick_s") == 0) {
      rc = get_int(it, origin, 1, 86400, &iv, e);
      if (!rc) s.repo_tick_s = (int32_t)iv;
    } else if (strcmp(k, "repo_idle_s") == 0) {
      rc = get_int(it, origin, 0, 86400, &iv, e);
      if (!rc) s.repo_idle_s = (int32_t)iv;
    } else if (strcmp(k, "radius_m") == 0) rc = get_number(it, origin, 1, 1e6, &s.radius_m, e);
    else if (strcmp(k, "top_k") == 0) {
      rc = get_int(it, origin, 1, 10000, &iv, e);
      if (!rc) s.top_k = (int32_t)iv;
    } else if (strcmp(k, "driver_top_k") == 0) {
      rc = get_int(it, origin, 0, 10000, &iv, e);
      if (!rc) s.driver_top_k = (int32_t)iv;
    } else if (strcmp(k, "warmup_s") == 0) {
      rc = get_int(it, origin, 0, SIM_WARMUP_MAX_S, &iv, e);
      if (!rc) s.warmup_s = (int32_t)iv;
    } else if (strcmp(k, "drain_s") == 0) {
      /* null: until the horizon's last order has ended (as -1) */
      if (cJSON_IsNull(it)) s.drain_s = SIM_DRAIN_ALL;
      else rc = get_int(it, origin, SIM_DRAIN_ALL, 1e9, &iv, e);
      if (!rc && !cJSON_IsNull(it)) s.drain_s = iv;
    } else if (strcmp(k, "placement") == 0) rc = get_string(it, origin, s.placement, sizeof s.placement, e);
    else if (strcmp(k, "shift_hours") == 0) {
      rc = get_number(it, origin, 0, 24, &dv, e);
      if (!rc) s.shift_hours = dv;
    } else if (strcmp(k, "repo_dispatchable") == 0) {
      if (!cJSON_IsBool(it)) rc = FAIL("%s: 'repo_dispatchable' must be true or false", origin);
      else s.repo_dispatchable = cJSON_IsTrue(it);
    } else if (strcmp(k, "policies") == 0) rc = parse_policies(&s, it, origin, e);
    else if (disp_registry_alias_object(k)) rc = parse_aliases(&s, it, origin, e);
    else if (strcmp(k, "network") == 0) {
      if (cJSON_IsNull(it)) s.network[0] = '\0';
      else rc = get_string(it, origin, s.network, sizeof s.network, e);
    } else if (strcmp(k, "network_factors") == 0) rc = parse_factors(&s, it, origin, e);
    else rc = FAIL("%s: unknown key '%s'", origin, k);
    if (rc) break;
  }
  cJSON_Delete(root);
  if (rc == 0) *out = s;
  return rc;
}

int sim_scenario_load(sim_scenario *s, const char *path, rs_err *e) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rs_err_set(e, errno == ENOENT ? RS_ENOENT : RS_EIO, "%s: %s", path,
                      strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > (16u << 20)) {
      free(buf);
      fclose(f);
      return rs_err_set(e, RS_EFORMAT, "%s: scenario file larger than 16 MiB", path);
    }
    if (rs_vec_grow(buf, cap, n + 4096 + 1)) {
      free(buf);
      fclose(f);
      return rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return rs_err_set(e, RS_EIO, "%s: read error", path);
  }
  buf[n] = '\0';
  if (strlen(buf) != n) {
    free(buf);
    return rs_err_set(e, RS_EFORMAT, "%s: contains a NUL byte: not a JSON scenario", path);
  }
  int rc = sim_scenario_parse(s, buf, path, e);
  free(buf);
  return rc;
}

int sim_scenario_set_minutes(sim_scenario *s, int drain, const char *text, rs_err *e) {
  if (drain && strcmp(text, "all") == 0) {
    s->drain_s = SIM_DRAIN_ALL;
    return 0;
  }
  char *end;
  double m = strtod(text, &end);
  if (end == text || *end != '\0' || !(m >= 0) || m * 60 > (drain ? 1e9 : SIM_WARMUP_MAX_S) ||
      m * 60 != floor(m * 60))
    return drain ? rs_err_set(e, RS_EINVAL, "--drain: expected 'all' or minutes (0: none), got '%s'",
                              text)
                 : rs_err_set(e, RS_EINVAL, "--warmup: expected minutes (0-%d, whole seconds), "
                                            "got '%s'", SIM_WARMUP_MAX_S / 60, text);
  if (drain) s->drain_s = (int64_t)(m * 60);
  else s->warmup_s = (int32_t)(m * 60);
  return 0;
}

int sim_scenario_validate(const sim_scenario *s, rs_err *e) {
  if (s->days < 1 || s->days > SIM_DAYS_MAX)
    return rs_err_set(e, RS_EINVAL, "scenario: 'horizon_days' must be 1 to %d", SIM_DAYS_MAX);
  if (s->days == 1 && s->from_s >= 0 && s->to_s >= 0 && s->to_s <= s->from_s)
    return rs_err_set(e, RS_EINVAL, "scenario: 'to' must be after 'from'");
  if (s->warmup_s < 0 || s->warmup_s > SIM_WARMUP_MAX_S)
    return rs_err_set(e, RS_EINVAL, "scenario: 'warmup_s' must be 0 to %d", SIM_WARMUP_MAX_S);
  if (s->drain_s < SIM_DRAIN_ALL)
    return rs_err_set(e, RS_EINVAL, "scenario: 'drain_s' must be -1 (until every order of the "
                                    "horizon has ended), 0 (none) or a number of seconds");
  if (s->drivers == 0 || s->drivers < -1)
    return rs_err_set(e, RS_EINVAL, "scenario: 'drivers' must be at least 1");
  if (s->out[0] == '\0')
    return rs_err_set(e, RS_EINVAL, "scenario: 'out' is empty: name the results DB");
  if (s->n_cancel < 1) return rs_err_set(e, RS_EINVAL, "scenario: empty cancellation table");
  if (s->n_cancel > SIM_CANCEL_POINTS_MAX)
    return rs_err_set(e, RS_EINVAL, "scenario: the cancellation table holds at most %d points",
                      SIM_CANCEL_POINTS_MAX);
  for (int i = 0; i < s->n_cancel; i++) {
    if (!isfinite(s->cancel_m[i]))
      return rs_err_set(e, RS_EINVAL, "scenario: 'cancel.distance_m[%d]' is not a number", i);
    if (!isfinite(s->cancel_p[i]))
      return rs_err_set(e, RS_EINVAL, "scenario: 'cancel.p[%d]' is not a number", i);
  }
  for (int i = 0; i < s->n_cancel; i++) {
    if (s->cancel_p[i] < 0 || s->cancel_p[i] > 1)
      return rs_err_set(e, RS_EINVAL, "scenario: 'cancel.p[%d]' must be a probability", i);
    if (i > 0 && s->cancel_m[i] <= s->cancel_m[i - 1])
      return rs_err_set(e, RS_EINVAL, "scenario: 'cancel.distance_m' must ascend");
  }
  if (strcmp(s->idle_model, "stay") != 0 && strcmp(s->idle_model, "random-walk") != 0)
    return rs_err_set(e, RS_EINVAL, "scenario: 'idle_model' must be \"stay\" or \"random-walk\", not '%s'",
                      s->idle_model);
  if (strcmp(s->placement, "history") != 0 && strcmp(s->placement, "demand") != 0 &&
      strcmp(s->placement, "uniform") != 0)
    return rs_err_set(e, RS_EINVAL,
                      "scenario: 'placement' must be \"history\", \"demand\" or \"uniform\", not '%s'",
                      s->placement);
  if (s->tick_s < 1 || s->tick_s > 3600)
    return rs_err_set(e, RS_EINVAL, "scenario: 'tick_s' must be 1 to 3600");
  if (s->patience_s < 0 || s->patience_s > 86400)
    return rs_err_set(e, RS_EINVAL, "scenario: 'patience_s' must be 0 to 86400");
  if (s->cancel_delay_s < 0 || s->cancel_delay_s > 86400)
    return rs_err_set(e, RS_EINVAL, "scenario: 'cancel.delay_s' must be 0 to 86400");
  if (s->idle_step_s < 1 || s->repo_tick_s < 1 || s->repo_idle_s < 0)
    return rs_err_set(e, RS_EINVAL, "scenario: 'idle_step_s' and 'repo_tick_s' must be at least 1 "
                                    "and 'repo_idle_s' at least 0");
  if (!(s->radius_m >= 1 && s->radius_m <= 1e6) || s->top_k < 1 || s->top_k > 10000 ||
      s->driver_top_k < 0 || s->driver_top_k > 10000)
    return rs_err_set(e, RS_EINVAL, "scenario: 'radius_m' must be 1 to 1e6 m, 'top_k' 1 to 10000 "
                                    "and 'driver_top_k' 0 to 10000");
  if (!(s->speed >= 0 && s->speed <= 1e9) || !(s->shift_hours >= 0 && s->shift_hours <= 24))
    return rs_err_set(e, RS_EINVAL, "scenario: 'speed' must be 0 to 1e9 and 'shift_hours' 0 to 24");
  if (s->synthetic_orders < 1 || s->synthetic_orders > 100000000)
    return rs_err_set(e, RS_EINVAL, "scenario: 'synthetic_orders' must be 1 to 1e8");
  rs_err sub;
  rs_err_clear(&sub);
  if (disp_optvals_check(&s->policies, &sub) != 0)
    return rs_err_set(e, RS_EINVAL, "scenario: %s", sub.msg);
  return 0;
}

/* Numbers are written so that they read back exactly: cJSON prints 15
 * significant digits when they come back "close enough", which loses bits
 * of a double and digits of large integers. */
/* The shortest decimal that reads back as v exactly: 0.035, not
 * 0.035000000000000003 (%.17g always round-trips, fewer digits often do). */
static cJSON *exact_number(double v) {
  char buf[40];
  if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    for (int digits = 1; digits <= 17; digits++) {
      snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (strtod(buf, NULL) == v) break;
    }
  }
  return cJSON_CreateRaw(buf);
}

static void add_exact(cJSON *o, const char *name, double v) {
  cJSON_AddItemToObject(o, name, exact_number(v));
}

static cJSON *exact_array(const double *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a != NULL && i < n; i++) cJSON_AddItemToArray(a, exact_number(v[i]));
  return a;
}

/* "policies": every registered policy with its options' values. */
static void add_policies(cJSON *o, const disp_optvals *v) {
  cJSON *all = cJSON_AddObjectToObject(o, "policies");
  for (int32_t i = 0; all != NULL && i < disp_registry_count(); i++) {
    const disp_registry_entry *ent = disp_registry_at(i);
    cJSON *p = cJSON_AddObjectToObject(all, ent->name);
    for (int32_t k = 0; p != NULL && k < ent->n_opts; k++) {
      const disp_opt_spec *opt = &ent->opts[k];
      const char *str = disp_optvals_str(v, ent, opt);
      switch (opt->type) {
      case DISP_OPT_NUMBER:
      case DISP_OPT_INTEGER: add_exact(p, opt->key, disp_optvals_num(v, ent, opt)); break;
      case DISP_OPT_BOOL:
        cJSON_AddBoolToObject(p, opt->key, disp_optvals_num(v, ent, opt) != 0);
        break;
      default:
        if (str != NULL) cJSON_AddStringToObject(p, opt->key, str);
        else cJSON_AddNullToObject(p, opt->key);
        break;
      }
    }
  }
}

char *sim_scenario_to_json(const sim_scenario *s) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  char buf[32];
  cJSON_AddStringToObject(o, "city", s->city);
  if (s->trips[0]) cJSON_AddStringToObject(o, "trips", s->trips);
  else cJSON_AddNullToObject(o, "trips");
  /* the network keys appear only when a run uses a network, so the
   * scenario of every great-circle run reads as it always has */
  if (s->network[0]) {
    cJSON_AddStringToObject(o, "network", s->network);
    if (s->network_have_factors) {
      cJSON *f = cJSON_CreateObject();
      cJSON_AddItemToObject(f, "weekday", exact_array(s->network_factors[0], 24));
      cJSON_AddItemToObject(f, "weekend", exact_array(s->network_factors[1], 24));
      cJSON_AddItemToObject(o, "network_factors", f);
    }
  }
  add_exact(o, "synthetic_orders", (double)s->synthetic_orders);
  if (s->day >= 0) {
    rs_time_format_day(s->day, buf, sizeof buf);
    cJSON_AddStringToObject(o, "day", buf);
  } else {
    cJSON_AddNullToObject(o, "day");
  }
  if (s->from_s >= 0) { rs_time_format_tod(s->from_s, buf, sizeof buf); cJSON_AddStringToObject(o, "from", buf); }
  else cJSON_AddNullToObject(o, "from");
  if (s->to_s >= 0) { rs_time_format_tod(s->to_s, buf, sizeof buf); cJSON_AddStringToObject(o, "to", buf); }
  else cJSON_AddNullToObject(o, "to");
  if (s->days != 1) add_exact(o, "horizon_days", s->days); /* one day: as before days existed */
  add_exact(o, "warmup_s", s->warmup_s);
  if (s->drain_s >= 0) add_exact(o, "drain_s", (double)s->drain_s);
  else cJSON_AddNullToObject(o, "drain_s");
  if (s->drivers > 0) add_exact(o, "drivers", s->drivers);
  else cJSON_AddNullToObject(o, "drivers");
  cJSON_AddStringToObject(o, "dispatch", s->dispatch);
  cJSON_AddStringToObject(o, "reposition", s->reposition);
  if (s->seed <= 9007199254740992ULL) {
    add_exact(o, "seed", (double)s->seed);
  } else {
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(o, "seed", seed);
  }
  cJSON_AddStringToObject(o, "out", s->out);
  add_exact(o, "speed", s->speed);
  add_exact(o, "tick_s", s->tick_s);
  add_exact(o, "patience_s", s->patience_s);
  cJSON *c = cJSON_AddObjectToObject(o, "cancel");
  if (c) {
    cJSON_AddItemToObject(c, "distance_m", exact_array(s->cancel_m, s->n_cancel));
    cJSON_AddItemToObject(c, "p", exact_array(s->cancel_p, s->n_cancel));
    add_exact(c, "delay_s", s->cancel_delay_s);
  }
  cJSON_AddStringToObject(o, "idle_model", s->idle_model);
  add_exact(o, "idle_step_s", s->idle_step_s);
  add_exact(o, "repo_tick_s", s->repo_tick_s);
  add_exact(o, "repo_idle_s", s->repo_idle_s);
  add_exact(o, "radius_m", s->radius_m);
  add_exact(o, "top_k", s->top_k);
  add_exact(o, "driver_top_k", s->driver_top_k);
  cJSON_AddStringToObject(o, "placement", s->placement);
  add_exact(o, "shift_hours", s->shift_hours);
  cJSON_AddBoolToObject(o, "repo_dispatchable", s->repo_dispatchable);
  add_policies(o, &s->policies);
  char *txt = cJSON_Print(o);
  cJSON_Delete(o);
  return txt;
}

double sim_scenario_cancel_p(const sim_scenario *s, double d) {
  int n = s->n_cancel;
  if (d <= s->cancel_m[0]) return s->cancel_p[0];
  if (d >= s->cancel_m[n - 1]) return s->cancel_p[n - 1];
  int i = 1;
  while (s->cancel_m[i] < d) i++;
  double f = (d - s->cancel_m[i - 1]) / (s->cancel_m[i] - s->cancel_m[i - 1]);
  return s->cancel_p[i - 1] + f * (s->cancel_p[i] - s->cancel_p[i - 1]);
}
