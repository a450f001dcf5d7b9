/*
 * Tests of sim/scenario: the defaults (KDD Cup 2020 cancellation means),
 * overlaying JSON onto a scenario, every malformed input rejected with
 * RS_EFORMAT naming its key while the caller's scenario stays as it was,
 * the policies' options ("policies": {"NAME": {...}}, the old "value" keys
 * as aliases meaning the same, unknown names and keys and wrong types
 * named, a scenario printed before "policies" still loading), the JSON
 * round trip (to_json then parse gives the same scenario), the
 * cancellation table's interpolation, loading from a file, and validation.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "tests/testutil.h"

#define DAY_2016_02_01 1454284800LL /* local-epoch midnight */

/* KDD Cup 2020 monthly means at 200, 400, ..., 2000 m (the defaults). */
static const double KDD_P[10] = {0.035, 0.039, 0.042, 0.050, 0.059,
                                 0.075, 0.086, 0.099, 0.112, 0.127};

/* Every registered option equal: numbers to the bit, strings as strings. */
static void assert_policies_eq(const disp_optvals *a, const disp_optvals *b) {
  for (int32_t i = 0; i < disp_registry_n_opts(); i++) {
    const disp_registry_entry *d;
    const disp_opt_spec *o = disp_registry_opt_at(i, &d);
    const char *sa = disp_optvals_str(a, d, o), *sb = disp_optvals_str(b, d, o);
    ck_assert_msg((sa == NULL) == (sb == NULL) && (sa == NULL || strcmp(sa, sb) == 0),
                  "policies.%s.%s: '%s' != '%s'", d->name, o->key, sa ? sa : "null",
                  sb ? sb : "null");
    double na = disp_optvals_num(a, d, o), nb = disp_optvals_num(b, d, o);
    ck_assert_msg(memcmp(&na, &nb, sizeof na) == 0, "policies.%s.%s: %.17g != %.17g", d->name,
                  o->key, na, nb);
  }
}

/* v1d3's option KEY in a scenario. */
static double v1d3_num(const sim_scenario *s, const char *key) {
  const disp_registry_entry *d = disp_registry_find("v1d3");
  return disp_optvals_num(&s->policies, d, disp_registry_opt(d, key));
}
static const char *v1d3_str(const sim_scenario *s, const char *key) {
  const disp_registry_entry *d = disp_registry_find("v1d3");
  return disp_optvals_str(&s->policies, d, disp_registry_opt(d, key));
}

/* Field-by-field equality; strings compare as strings (bytes after the NUL
 * may differ with the scenario's history), the cancel table up to n_cancel. */
static void assert_scenario_eq(const sim_scenario *a, const sim_scenario *b) {
  ck_assert_str_eq(a->city, b->city);
  ck_assert_str_eq(a->trips, b->trips);
  ck_assert_int_eq(a->synthetic_orders, b->synthetic_orders);
  ck_assert_int_eq(a->day, b->day);
  ck_assert_int_eq(a->from_s, b->from_s);
  ck_assert_int_eq(a->to_s, b->to_s);
  ck_assert_int_eq(a->drivers, b->drivers);
  ck_assert_str_eq(a->dispatch, b->dispatch);
  ck_assert_str_eq(a->reposition, b->reposition);
  ck_assert_uint_eq(a->seed, b->seed);
  ck_assert_str_eq(a->out, b->out);
  ck_assert(a->speed == b->speed);
  ck_assert_int_eq(a->tick_s, b->tick_s);
  ck_assert_int_eq(a->patience_s, b->patience_s);
  ck_assert_int_eq(a->n_cancel, b->n_cancel);
  for (int i = 0; i < a->n_cancel; i++) {
    ck_assert_msg(a->cancel_m[i] == b->cancel_m[i], "cancel_m[%d]: %.17g != %.17g", i,
                  a->cancel_m[i], b->cancel_m[i]);
    ck_assert_msg(a->cancel_p[i] == b->cancel_p[i], "cancel_p[%d]: %.17g != %.17g", i,
                  a->cancel_p[i], b->cancel_p[i]);
  }
  ck_assert_int_eq(a->cancel_delay_s, b->cancel_delay_s);
  ck_assert_str_eq(a->idle_model, b->idle_model);
  ck_assert_int_eq(a->idle_step_s, b->idle_step_s);
  ck_assert_int_eq(a->repo_tick_s, b->repo_tick_s);
  ck_assert_int_eq(a->repo_idle_s, b->repo_idle_s);
  ck_assert(a->radius_m == b->radius_m);
  ck_assert_int_eq(a->top_k, b->top_k);
  ck_assert_str_eq(a->placement, b->placement);
  ck_assert(a->shift_hours == b->shift_hours);
  assert_policies_eq(&a->policies, &b->policies);
}

/* ---- sim_scenario_defaults ---- */

START_TEST(defaults) {
  sim_scenario s;
  memset(&s, 0x5a, sizeof s);
  sim_scenario_defaults(&s);
  ck_assert_str_eq(s.city, "synthetic");
  ck_assert_str_eq(s.trips, "");
  ck_assert_int_eq(s.synthetic_orders, 100000);
  ck_assert_int_eq(s.day, -1);
  ck_assert_int_eq(s.from_s, -1);
  ck_assert_int_eq(s.to_s, -1);
  ck_assert_int_eq(s.drivers, -1);
  ck_assert_str_eq(s.dispatch, "fcfs-nearest");
  ck_assert_str_eq(s.reposition, "stay");
  ck_assert_uint_eq(s.seed, 1);
  ck_assert(s.speed == 0);
  ck_assert_int_eq(s.tick_s, SIM_TICK_DEFAULT_S);
  ck_assert_int_eq(s.tick_s, 2);
  ck_assert_int_eq(s.patience_s, SIM_PATIENCE_DEFAULT_S);
  ck_assert_int_eq(s.n_cancel, 10);
  for (int i = 0; i < 10; i++) {
    ck_assert(s.cancel_m[i] == 200.0 * (i + 1));
    ck_assert(s.cancel_p[i] == KDD_P[i]);
  }
  ck_assert(s.cancel_p[0] == 0.035);
  ck_assert(s.cancel_p[9] == 0.127);
  ck_assert_str_eq(s.idle_model, "stay");
  ck_assert_int_eq(s.idle_step_s, SIM_IDLE_STEP_DEFAULT_S);
  ck_assert_int_eq(s.repo_tick_s, SIM_REPO_TICK_DEFAULT_S);
  ck_assert_int_eq(s.repo_idle_s, SIM_REPO_IDLE_DEFAULT_S);
  ck_assert(s.radius_m == 2000.0);
  ck_assert_int_eq(s.top_k, 32);
  ck_assert_str_eq(s.placement, "history");
  ck_assert(s.shift_hours == 0);
  rs_err e = {0};
  ck_assert_msg(sim_scenario_validate(&s, &e) == 0, "%s", e.msg);
}
END_TEST

/* ---- sim_scenario_parse ---- */

START_TEST(parse_overrides) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  const char *json =
      "{\"city\": \"manhattan\", \"trips\": \"/tmp/t.db\", \"synthetic_orders\": 5000,"
      " \"day\": \"2016-02-01\", \"from\": \"08:00\", \"to\": 43200, \"drivers\": 3000,"
      " \"dispatch\": \"batch-distance\", \"reposition\": \"random-walk\", \"seed\": 42,"
      " \"out\": \"r.db\", \"speed\": 2.5, \"tick_s\": 4, \"patience_s\": 0,"
      " \"cancel\": {\"distance_m\": [100, 1000, 3000], \"p\": [0, 0.5, 1], \"delay_s\": 7},"
      " \"idle_model\": \"random-walk\", \"idle_step_s\": 120, \"repo_tick_s\": 30,"
      " \"repo_idle_s\": 0, \"radius_m\": 1500.5, \"top_k\": 8, \"placement\": \"uniform\","
      " \"shift_hours\": 3.5, \"warmup_s\": 1800, \"drain_s\": 600}";
  rs_err e = {0};
  ck_assert_msg(sim_scenario_parse(&s, json, "t.json", &e) == 0, "%s", e.msg);
  ck_assert_int_eq(s.warmup_s, 1800);
  ck_assert_int_eq(s.drain_s, 600);
  ck_assert_str_eq(s.city, "manhattan");
  ck_assert_str_eq(s.trips, "/tmp/t.db");
  ck_assert_int_eq(s.synthetic_orders, 5000);
  ck_assert_int_eq(s.day, DAY_2016_02_01);
  ck_assert_int_eq(s.from_s, 8 * 3600);
  ck_assert_int_eq(s.to_s, 12 * 3600);
  ck_assert_int_eq(s.drivers, 3000);
  ck_assert_str_eq(s.dispatch, "batch-distance");
  ck_assert_str_eq(s.reposition, "random-walk");
  ck_assert_uint_eq(s.seed, 42);
  ck_assert_str_eq(s.out, "r.db");
  ck_assert(s.speed == 2.5);
  ck_assert_int_eq(s.tick_s, 4);
  ck_assert_int_eq(s.patience_s, 0);
  ck_assert_int_eq(s.n_cancel, 3);
  ck_assert(s.cancel_m[0] == 100 && s.cancel_m[1] == 1000 && s.cancel_m[2] == 3000);
  ck_assert(s.cancel_p[0] == 0 && s.cancel_p[1] == 0.5 && s.cancel_p[2] == 1);
  ck_assert_int_eq(s.cancel_delay_s, 7);
  ck_assert_str_eq(s.idle_model, "random-walk");
  ck_assert_int_eq(s.idle_step_s, 120);
  ck_assert_int_eq(s.repo_tick_s, 30);
  ck_assert_int_eq(s.repo_idle_s, 0);
  ck_assert(s.radius_m == 1500.5);
  ck_assert_int_eq(s.top_k, 8);
  ck_assert_str_eq(s.placement, "uniform");
  ck_assert(s.shift_hours == 3.5);
  ck_assert_msg(sim_scenario_validate(&s, &e) == 0, "%s", e.msg);

  /* A second overlay changes only what it names; null restores "unset". */
  ck_assert_msg(sim_scenario_parse(&s, "{\"trips\": null, \"day\": null, \"from\": null,"
                                       " \"drivers\": null, \"seed\": 7, \"drain_s\": null}",
                                  "o2", &e) == 0,
                "%s", e.msg);
  ck_assert_int_eq(s.drain_s, SIM_DRAIN_ALL);
  ck_assert_int_eq(s.warmup_s, 1800);
  ck_assert_str_eq(s.trips, "");
  ck_assert_int_eq(s.day, -1);
  ck_assert_int_eq(s.from_s, -1);
  ck_assert_int_eq(s.to_s, 12 * 3600);
  ck_assert_int_eq(s.drivers, -1);
  ck_assert_uint_eq(s.seed, 7);
  ck_assert_str_eq(s.city, "manhattan");
  /* Only delay_s in "cancel": the table stays. */
  ck_assert_msg(sim_scenario_parse(&s, "{\"cancel\": {\"delay_s\": 0}}", "o3", &e) == 0,
                "%s", e.msg);
  ck_assert_int_eq(s.cancel_delay_s, 0);
  ck_assert_int_eq(s.n_cancel, 3);
  /* An empty object changes nothing. */
  sim_scenario before = s;
  ck_assert_int_eq(sim_scenario_parse(&s, "{}", "o4", &e), 0);
  ck_assert_mem_eq(&s, &before, sizeof s);
  /* "24:00" is the end of the day. */
  ck_assert_int_eq(sim_scenario_parse(&s, "{\"to\": \"24:00\"}", "o5", &e), 0);
  ck_assert_int_eq(s.to_s, 86400);
}
END_TEST

typedef struct {
  const char *json;
  const char *key;   /* what the message must name */
} bad_case;

static const bad_case BAD[] = {
    {"{\"colour\": \"red\"}", "'colour'"},
    {"{\"seed\": 1, \"bogus_key\": 2}", "'bogus_key'"},
    {"{\"drivers\": \"many\"}", "'drivers'"},
    {"{\"drivers\": 0}", "'drivers'"},
    {"{\"drivers\": 2.5}", "'drivers'"},
    {"{\"seed\": \"x\"}", "'seed'"},
    {"{\"seed\": -1}", "'seed'"},
    {"{\"tick_s\": 1.5}", "'tick_s'"},
    {"{\"tick_s\": 0}", "'tick_s'"},
    {"{\"tick_s\": true}", "'tick_s'"},
    {"{\"patience_s\": -5}", "'patience_s'"},
    {"{\"city\": 3}", "'city'"},
    {"{\"dispatch\": null}", "'dispatch'"},
    {"{\"reposition\": [\"stay\"]}", "'reposition'"},
    {"{\"speed\": \"fast\"}", "'speed'"},
    {"{\"speed\": -1}", "'speed'"},
    {"{\"radius_m\": 0}", "'radius_m'"},
    {"{\"top_k\": 0}", "'top_k'"},
    {"{\"shift_hours\": 25}", "'shift_hours'"},
    {"{\"synthetic_orders\": 0}", "'synthetic_orders'"},
    {"{\"idle_model\": 1}", "'idle_model'"},
    {"{\"placement\": {}}", "'placement'"},
    {"{\"warmup_s\": -60}", "'warmup_s'"},
    {"{\"warmup_s\": 90000}", "'warmup_s'"},
    {"{\"warmup_s\": 1.5}", "'warmup_s'"},
    {"{\"drain_s\": -2}", "'drain_s'"},
    {"{\"drain_s\": \"all\"}", "'drain_s'"},
    {"{\"from\": \"8h\"}", "'from'"},
    {"{\"from\": \"25:00\"}", "'from'"},
    {"{\"from\": \"08:60\"}", "'from'"},
    {"{\"from\": \"08:00x\"}", "'from'"},
    {"{\"to\": \"\"}", "'to'"},
    {"{\"to\": \"24:01\"}", "'to'"},
    {"{\"to\": 90000}", "'to'"},
    {"{\"to\": true}", "'to'"},
    {"{\"day\": \"yesterday\"}", "'day'"},
    {"{\"day\": \"2016-02-30\"}", "'day'"},
    {"{\"day\": \"2016-13-01\"}", "'day'"},
    {"{\"day\": \"2016-02-01x\"}", "'day'"},
    {"{\"day\": 20160201}", "'day'"},
    {"{\"cancel\": 5}", "'cancel'"},
    {"{\"cancel\": {\"distance_m\": [200, 400], \"p\": [0.1]}}", "'cancel.distance_m'"},
    {"{\"cancel\": {\"distance_m\": [200], \"p\": [0.1, 0.2]}}", "'cancel.p'"},
    {"{\"cancel\": {\"distance_m\": [200, 400]}}", "'cancel'"},
    {"{\"cancel\": {\"p\": [0.1]}}", "'cancel'"},
    {"{\"cancel\": {\"distance_m\": \"x\", \"p\": [0.1]}}", "'cancel.distance_m'"},
    {"{\"cancel\": {\"distance_m\": [], \"p\": []}}", "'cancel.distance_m'"},
    {"{\"cancel\": {\"distance_m\": [1, \"b\"], \"p\": [0.1, 0.2]}}", "'cancel.distance_m[1]'"},
    {"{\"cancel\": {\"distance_m\": [1, 2], \"p\": [0.1, null]}}", "'cancel.p[1]'"},
    {"{\"cancel\": {\"when\": 3}}", "'cancel.when'"},
    {"{\"cancel\": {\"delay_s\": -1}}", "'delay_s'"},
    /* A valid key before the bad one must not be applied either. */
    {"{\"seed\": 99, \"drivers\": 10, \"nope\": 1}", "'nope'"},
    /* The policies' options: unknown names and keys, wrong types and
     * ranges, under "policies" and under the old "value" alike. */
    {"{\"policies\": 3}", "'policies'"},
    {"{\"policies\": {\"teleport\": {}}}", "'policies.teleport'"},
    {"{\"policies\": {\"v1d3\": 1}}", "'policies.v1d3'"},
    {"{\"policies\": {\"v1d3\": {\"nope\": 1}}}", "'policies.v1d3.nope'"},
    {"{\"policies\": {\"fcfs-nearest\": {\"lr\": 0.1}}}", "'policies.fcfs-nearest.lr'"},
    {"{\"policies\": {\"v1d3\": {\"lr\": 0.1, \"gamma\": 2}}}", "'policies.v1d3.gamma'"},
    {"{\"value\": 3}", "'value'"},
    {"{\"value\": {\"nope\": 1}}", "'value.nope'"},
    {"{\"value\": {\"lr\": 1.5}}", "'value.lr'"},
    {"{\"value\": {\"gamma\": 0}}", "'value.gamma'"},
    {"{\"value\": {\"slot_s\": 0.5}}", "'value.slot_s'"},
    {"{\"value\": {\"ensemble_period_s\": 604801}}", "'value.ensemble_period_s'"},
    {"{\"value\": {\"tau\": -1}}", "'value.tau'"},
    {"{\"value\": {\"repo_radius_m\": 1e7}}", "'value.repo_radius_m'"},
    {"{\"value\": {\"serve_first\": 1}}", "'value.serve_first'"},
    {"{\"value\": {\"mode\": \"sometimes\"}}", "'value.mode'"},
    {"{\"value\": {\"mode\": null}}", "'value.mode'"},
    {"{\"value\": {\"table\": 7}}", "'value.table'"},
    {"{\"value\": {\"lr\": 0.5}, \"policies\": {\"v1d3\": {\"tau\": \"hot\"}}}",
     "'policies.v1d3.tau'"},
};

/* A value of the wrong type names the key and the expected type. */
static const struct {
  const char *json;
  const char *want; /* the key and what it must be */
} TYPED[] = {
    {"{\"policies\": {\"v1d3\": {\"lr\": \"fast\"}}}", "'policies.v1d3.lr' must be a number from 0 to 1"},
    {"{\"value\": {\"lr\": true}}", "'value.lr' must be a number from 0 to 1"},
    {"{\"policies\": {\"v1d3\": {\"slot_s\": 1.5}}}", "'policies.v1d3.slot_s' must be an integer from 1 to 86400"},
    {"{\"policies\": {\"v1d3\": {\"split_daytype\": \"yes\"}}}", "'policies.v1d3.split_daytype' must be true or false"},
    {"{\"policies\": {\"v1d3\": {\"mode\": 1}}}", "'policies.v1d3.mode' must be one of \"online\", \"offline\", \"ensemble\""},
    {"{\"value\": {\"table\": []}}", "'value.table' must be a path (a string) or null"},
    {"{\"policies\": {\"v1d3\": {\"nope\": 1}}}", "v1d3 takes mode, table, lr"},
    {"{\"policies\": {\"stay\": {\"tau\": 1}}}", "stay takes no options"},
    {"{\"policies\": {\"teleport\": {}}}", "known: fcfs-nearest, random, batch-distance, stay, random-walk, v1d3"},
};

START_TEST(parse_typed) {
  sim_scenario s, before;
  sim_scenario_defaults(&s);
  before = s;
  rs_err e = {0};
  ck_assert_int_eq(sim_scenario_parse(&s, TYPED[_i].json, "t.json", &e), RS_EFORMAT);
  ck_assert_msg(strstr(e.msg, TYPED[_i].want) != NULL, "'%s' lacks '%s'", e.msg, TYPED[_i].want);
  ck_assert_ptr_nonnull(strstr(e.msg, "t.json"));
  ck_assert_mem_eq(&s, &before, sizeof s);
}
END_TEST

/* "policies": {"v1d3": {...}} sets v1d3's options; an overlay changes
 * only the keys it names; policies without options take an empty object. */
START_TEST(parse_policies) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  rs_err e = {0};
  const char *json =
      "{\"dispatch\": \"v1d3\", \"placement\": \"demand\", \"policies\": {\"v1d3\": {\"mode\": \"ensemble\","
      " \"table\": \"t.db\", \"lr\": 0.125, \"gamma\": 0.5, \"slot_s\": 900,"
      " \"split_daytype\": true, \"ensemble_period_s\": 1800, \"ensemble_w\": 0.75,"
      " \"tau\": 3, \"repo_radius_m\": 1500, \"serve_first\": false},"
      " \"fcfs-nearest\": {}, \"stay\": {}}}";
  ck_assert_msg(sim_scenario_parse(&s, json, "p.json", &e) == 0, "%s", e.msg);
  ck_assert_str_eq(v1d3_str(&s, "mode"), "ensemble");
  ck_assert_str_eq(v1d3_str(&s, "table"), "t.db");
  ck_assert(v1d3_num(&s, "lr") == 0.125);
  ck_assert(v1d3_num(&s, "gamma") == 0.5);
  ck_assert(v1d3_num(&s, "slot_s") == 900);
  ck_assert(v1d3_num(&s, "split_daytype") == 1);
  ck_assert(v1d3_num(&s, "ensemble_period_s") == 1800);
  ck_assert(v1d3_num(&s, "ensemble_w") == 0.75);
  ck_assert(v1d3_num(&s, "tau") == 3);
  ck_assert(v1d3_num(&s, "repo_radius_m") == 1500);
  ck_assert(v1d3_num(&s, "serve_first") == 0);
  ck_assert_msg(sim_scenario_validate(&s, &e) == 0, "%s", e.msg);
  ck_assert_msg(sim_scenario_parse(&s, "{\"policies\": {\"v1d3\": {\"tau\": 0.5,"
                                       " \"table\": null}}}", "o", &e) == 0, "%s", e.msg);
  ck_assert(v1d3_num(&s, "tau") == 0.5);
  ck_assert(v1d3_num(&s, "lr") == 0.125);
  ck_assert_ptr_null(v1d3_str(&s, "table"));
  /* ensemble without its table: a validation error naming the key */
  ck_assert_int_eq(sim_scenario_validate(&s, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'policies.v1d3.table'"));
  ck_assert_ptr_nonnull(strstr(e.msg, "scenario: "));
}
END_TEST

/* The old "value" keys are aliases: each, set to any value, gives the same
 * scenario byte for byte as its "policies" key, and is refused alike. */
START_TEST(aliases_mean_the_same) {
  static const char *const VALS[] = {"0", "1", "0.5", "2", "-1", "600", "1e-9", "86400",
                                     "604800", "1e9", "true", "false", "null", "\"online\"",
                                     "\"offline\"", "\"ensemble\"", "\"x.db\"", "[]", "{}"};
  const disp_registry_entry *d;
  int32_t n_alias = 0;
  for (int32_t i = 0; i < disp_registry_n_opts(); i++) {
    const disp_opt_spec *o = disp_registry_opt_at(i, &d);
    if (o->alias == NULL) continue;
    n_alias++;
    const char *dot = strchr(o->alias, '.');
    for (size_t k = 0; k < sizeof VALS / sizeof VALS[0]; k++) {
      char ja[256], jb[256];
      snprintf(ja, sizeof ja, "{\"%.*s\": {\"%s\": %s}}", (int)(dot - o->alias), o->alias,
               dot + 1, VALS[k]);
      snprintf(jb, sizeof jb, "{\"policies\": {\"%s\": {\"%s\": %s}}}", d->name, o->key,
               VALS[k]);
      sim_scenario a, b;
      sim_scenario_defaults(&a);
      sim_scenario_defaults(&b);
      rs_err ea = {0}, eb = {0};
      int ra = sim_scenario_parse(&a, ja, "a", &ea), rb = sim_scenario_parse(&b, jb, "b", &eb);
      ck_assert_msg(ra == rb, "%s -> %d (%s), %s -> %d (%s)", ja, ra, ea.msg, jb, rb, eb.msg);
      ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s and %s differ", ja, jb);
      if (ra != 0) {
        ck_assert_ptr_nonnull(strstr(ea.msg, o->alias));
        ck_assert_ptr_nonnull(strstr(eb.msg, o->key));
      }
    }
  }
  ck_assert_int_eq(n_alias, 11);
}
END_TEST

/* A scenario as `ridesim run --print-scenario` wrote it before "policies"
 * (v1d3's options in "value"): it loads, and means what the same options
 * given in "policies" mean. */
static const char OLD_PRINTED[] =
    "{\n\t\"city\":\t\"synthetic\",\n\t\"trips\":\tnull,\n\t\"synthetic_orders\":\t100000,\n"
    "\t\"day\":\tnull,\n\t\"from\":\tnull,\n\t\"to\":\tnull,\n\t\"drivers\":\tnull,\n"
    "\t\"dispatch\":\t\"v1d3\",\n\t\"reposition\":\t\"stay\",\n\t\"seed\":\t1,\n"
    "\t\"out\":\t\"ridesim-results.db\",\n\t\"speed\":\t0,\n\t\"tick_s\":\t2,\n"
    "\t\"patience_s\":\t600,\n\t\"cancel\":\t{\n"
    "\t\t\"distance_m\":\t[200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000],\n"
    "\t\t\"p\":\t[0.035000000000000003, 0.039, 0.042000000000000003, 0.050000000000000003, "
    "0.058999999999999997, 0.074999999999999997, 0.085999999999999993, 0.099000000000000005, "
    "0.112, 0.127],\n\t\t\"delay_s\":\t30\n\t},\n\t\"idle_model\":\t\"stay\",\n"
    "\t\"idle_step_s\":\t300,\n\t\"repo_tick_s\":\t60,\n\t\"repo_idle_s\":\t300,\n"
    "\t\"radius_m\":\t2000,\n\t\"top_k\":\t32,\n\t\"driver_top_k\":\t3,\n"
    "\t\"placement\":\t\"demand\",\n\t\"shift_hours\":\t0,\n\t\"repo_dispatchable\":\tfalse,\n"
    "\t\"value\":\t{\n\t\t\"mode\":\t\"ensemble\",\n\t\t\"table\":\t\"/tmp/x.db\",\n"
    "\t\t\"lr\":\t0.5,\n\t\t\"gamma\":\t0.80000000000000004,\n\t\t\"slot_s\":\t600,\n"
    "\t\t\"split_daytype\":\tfalse,\n\t\t\"ensemble_period_s\":\t1800,\n"
    "\t\t\"ensemble_w\":\t0.29999999999999999,\n\t\t\"tau\":\t2.5,\n"
    "\t\t\"repo_radius_m\":\t3000,\n\t\t\"serve_first\":\tfalse\n\t}\n}";

START_TEST(old_printed_scenario) {
  sim_scenario old, now;
  sim_scenario_defaults(&old);
  rs_err e = {0};
  ck_assert_msg(sim_scenario_parse(&old, OLD_PRINTED, "old.json", &e) == 0, "%s", e.msg);
  ck_assert_msg(sim_scenario_validate(&old, &e) == 0, "%s", e.msg);
  sim_scenario_defaults(&now);
  ck_assert_msg(sim_scenario_parse(&now,
      "{\"dispatch\": \"v1d3\", \"placement\": \"demand\", \"policies\": {\"v1d3\": {\"mode\": \"ensemble\","
      " \"table\": \"/tmp/x.db\", \"lr\": 0.5, \"gamma\": 0.8, \"ensemble_period_s\": 1800,"
      " \"ensemble_w\": 0.3, \"tau\": 2.5, \"serve_first\": false}}}", "now", &e) == 0,
      "%s", e.msg);
  ck_assert_mem_eq(&old, &now, sizeof old);
  /* and it prints in today's form, "policies" and no "value" */
  char *j = sim_scenario_to_json(&old);
  ck_assert_ptr_nonnull(j);
  ck_assert_ptr_null(strstr(j, "\"value\""));
  ck_assert_ptr_nonnull(strstr(j, "\"policies\""));
  for (int32_t i = 0; i < disp_registry_count(); i++) {
    char key[80];
    snprintf(key, sizeof key, "\"%s\":", disp_registry_at(i)->name);
    ck_assert_msg(strstr(j, key) != NULL, "%s missing", key);
  }
  free(j);
}
END_TEST

START_TEST(parse_bad) {
  const bad_case *c = &BAD[_i];
  sim_scenario s, before;
  sim_scenario_defaults(&s);
  /* Start from a non-default scenario, so "unchanged" is not "defaults". */
  rs_err e = {0};
  ck_assert_int_eq(sim_scenario_parse(&s, "{\"seed\": 5, \"drivers\": 77, \"from\": \"07:00\","
                                          " \"cancel\": {\"distance_m\": [1, 2], \"p\": [0.2, 0.3]}}",
                                      "base", &e), 0);
  before = s;
  rs_err_clear(&e);
  int rc = sim_scenario_parse(&s, c->json, "bad.json", &e);
  ck_assert_msg(rc == RS_EFORMAT, "case %d %s: rc %d (%s)", _i, c->json, rc, e.msg);
  ck_assert_msg(strstr(e.msg, c->key) != NULL, "case %d %s: message '%s' does not name %s",
                _i, c->json, e.msg, c->key);
  ck_assert_msg(strstr(e.msg, "bad.json") != NULL, "case %d: message '%s' lacks the origin",
                _i, e.msg);
  ck_assert_msg(memcmp(&s, &before, sizeof s) == 0, "case %d %s: scenario changed", _i,
                c->json);
}
END_TEST

START_TEST(parse_not_json) {
  const char *bad[] = {"", "{", "[1, 2]", "\"seed\"", "42", "{\"seed\": 1,}", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sim_scenario s, before;
    sim_scenario_defaults(&s);
    before = s;
    rs_err e = {0};
    ck_assert_msg(sim_scenario_parse(&s, bad[i], "x.json", &e) == RS_EFORMAT, "'%s'", bad[i]);
    ck_assert_ptr_nonnull(strstr(e.msg, "x.json"));
    ck_assert_mem_eq(&s, &before, sizeof s);
  }
  /* The line of a syntax error is reported. */
  sim_scenario s;
  sim_scenario_defaults(&s);
  rs_err e = {0};
  ck_assert_int_eq(sim_scenario_parse(&s, "{\n\"seed\": 1,\n\"drivers\": }\n", "l.json", &e),
                   RS_EFORMAT);
  ck_assert_msg(strstr(e.msg, "l.json:3") != NULL, "%s", e.msg);
}
END_TEST

/* ---- sim_scenario_load ---- */

START_TEST(load_file) {
  char dir[256], path[512];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/s.json", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("{\"drivers\": 123, \"dispatch\": \"random\"}\n", f);
  fclose(f);
  sim_scenario s;
  sim_scenario_defaults(&s);
  rs_err e = {0};
  ck_assert_msg(sim_scenario_load(&s, path, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(s.drivers, 123);
  ck_assert_str_eq(s.dispatch, "random");
  /* Missing file: RS_ENOENT naming it; a bad key names the file. */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/missing.json", dir);
  ck_assert_int_eq(sim_scenario_load(&s, missing, &e), RS_ENOENT);
  ck_assert_ptr_nonnull(strstr(e.msg, "missing.json"));
  f = fopen(path, "w");
  fputs("{\"drivers\": 1, \"wat\": 0}", f);
  fclose(f);
  ck_assert_int_eq(sim_scenario_load(&s, path, &e), RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "s.json"));
  ck_assert_ptr_nonnull(strstr(e.msg, "'wat'"));
  ck_assert_int_eq(s.drivers, 123);
  /* A binary file (NUL byte) is refused. */
  f = fopen(path, "wb");
  fwrite("{\"a\0\": 1}", 1, 9, f);
  fclose(f);
  ck_assert_int_eq(sim_scenario_load(&s, path, &e), RS_EFORMAT);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* ---- sim_scenario_to_json ---- */

static void round_trip(const sim_scenario *a) {
  char *j = sim_scenario_to_json(a);
  ck_assert_ptr_nonnull(j);
  sim_scenario b;
  sim_scenario_defaults(&b);
  /* Overlay onto a scenario that differs everywhere, so that a key missing
   * from the JSON shows. */
  rs_err e = {0};
  ck_assert_int_eq(sim_scenario_parse(&b, "{\"city\": \"zzz\", \"seed\": 999999, \"drivers\": 1,"
                                          " \"speed\": 9, \"tick_s\": 9, \"patience_s\": 9,"
                                          " \"top_k\": 9, \"radius_m\": 9, \"shift_hours\": 9,"
                                          " \"placement\": \"uniform\", \"out\": \"zz\","
                                          " \"cancel\": {\"distance_m\": [9], \"p\": [0.9],"
                                          " \"delay_s\": 9}, \"policies\": {\"v1d3\": {"
                                          "\"mode\": \"ensemble\", \"table\": \"zz\","
                                          " \"lr\": 0.99, \"gamma\": 0.09, \"slot_s\": 9,"
                                          " \"split_daytype\": true, \"ensemble_period_s\": 9,"
                                          " \"ensemble_w\": 0.99, \"tau\": 9,"
                                          " \"repo_radius_m\": 9, \"serve_first\": false}}}",
                                      "pre", &e), 0);
  ck_assert_msg(sim_scenario_parse(&b, j, "roundtrip", &e) == 0, "%s\n%s", e.msg, j);
  assert_scenario_eq(a, &b);
  /* And the JSON of the result is the same text. */
  char *j2 = sim_scenario_to_json(&b);
  ck_assert_ptr_nonnull(j2);
  ck_assert_str_eq(j, j2);
  free(j);
  free(j2);
}

START_TEST(to_json_round_trip) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  round_trip(&s);
  rs_err e = {0};
  ck_assert_int_eq(sim_scenario_parse(&s,
      "{\"city\": \"manhattan\", \"trips\": \"/data/trips.db\", \"synthetic_orders\": 12345,"
      " \"day\": \"2016-02-14\", \"from\": \"06:30\", \"to\": \"24:00\", \"drivers\": 4321,"
      " \"dispatch\": \"batch-distance\", \"reposition\": \"random-walk\", \"seed\": 123456789012345,"
      " \"out\": \"out dir/r.db\", \"speed\": 0.1, \"tick_s\": 3, \"patience_s\": 0,"
      " \"cancel\": {\"distance_m\": [0.1, 333.3333333333333, 2000], \"p\": [0.1, 0.2, 0.3],"
      " \"delay_s\": 11}, \"idle_model\": \"random-walk\", \"idle_step_s\": 61,"
      " \"repo_tick_s\": 59, \"repo_idle_s\": 1, \"radius_m\": 1234.5678, \"top_k\": 5,"
      " \"placement\": \"uniform\", \"shift_hours\": 0.3}", "src", &e), 0);
  round_trip(&s);
  /* Every v1d3 option away from its default, through both spellings. */
  ck_assert_int_eq(sim_scenario_parse(&s,
      "{\"value\": {\"mode\": \"offline\", \"lr\": 0.3333333333333333, \"split_daytype\": true},"
      " \"policies\": {\"v1d3\": {\"table\": \"dir with space/v.db\", \"gamma\": 0.95,"
      " \"slot_s\": 300, \"ensemble_period_s\": 7200, \"ensemble_w\": 0.01, \"tau\": 1e-3,"
      " \"repo_radius_m\": 1234.5, \"serve_first\": false}}}", "src2", &e), 0);
  ck_assert_str_eq(v1d3_str(&s, "mode"), "offline");
  ck_assert(v1d3_num(&s, "lr") == 0.3333333333333333);
  round_trip(&s);
  /* The most points a table may hold. */
  s.n_cancel = SIM_CANCEL_POINTS_MAX;
  for (int i = 0; i < SIM_CANCEL_POINTS_MAX; i++) {
    s.cancel_m[i] = 100.0 * i + 0.25;
    s.cancel_p[i] = 0.03125 * i;
  }
  round_trip(&s);
}
END_TEST

/* The effective scenario of a run is stored so that the run can be repeated
 * from its row alone; the command line accepts "HH:MM:SS" horizons
 * (cli_parse_hhmm), so a horizon with seconds must survive the trip. */
START_TEST(to_json_round_trip_seconds) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  s.from_s = 8 * 3600 + 30;
  s.to_s = 9 * 3600 + 59;
  round_trip(&s);
}
END_TEST

/* Every seed the reader accepts (up to 2^53) must survive the trip too:
 * the seed picks every random stream of the run. And a double one unit in
 * the last place away from a round number must not be printed as that
 * number (cJSON_Print keeps 15 digits when they read back "close enough"). */
START_TEST(to_json_round_trip_precision) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  s.seed = 1000000000000001ULL; /* 16 digits */
  round_trip(&s);
  s.seed = 9007199254740992ULL; /* 2^53, the reader's maximum */
  round_trip(&s);
  /* Values computed in C rather than typed: all 17 digits matter. */
  sim_scenario_defaults(&s);
  s.speed = 1.0 / 3.0;
  s.shift_hours = nextafter(24.0, 0.0);
  for (int i = 0; i < 10; i++) s.cancel_m[i] = 100.0 * (i + 1) + 1.0 / 7.0;
  round_trip(&s);
  /* the policies' numbers too */
  const disp_registry_entry *d = disp_registry_find("v1d3");
  rs_err e = {0};
  ck_assert_int_eq(disp_optvals_set_num(&s.policies, d, disp_registry_opt(d, "lr"), 1.0 / 3.0,
                                        "lr", &e), 0);
  ck_assert_int_eq(disp_optvals_set_num(&s.policies, d, disp_registry_opt(d, "gamma"),
                                        nextafter(1.0, 0.0), "gamma", &e), 0);
  ck_assert_int_eq(disp_optvals_set_num(&s.policies, d, disp_registry_opt(d, "tau"),
                                        nextafter(1e9, 0.0), "tau", &e), 0);
  round_trip(&s);
}
END_TEST

START_TEST(to_json_is_an_object) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  char *j = sim_scenario_to_json(&s);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(j[0], '{');
  /* Unset values are written as null, not as -1. */
  ck_assert_ptr_nonnull(strstr(j, "\"day\":\tnull"));
  ck_assert_ptr_nonnull(strstr(j, "\"drivers\":\tnull"));
  ck_assert_ptr_null(strstr(j, "-1"));
  free(j);
}
END_TEST

/* ---- sim_scenario_cancel_p ---- */

START_TEST(cancel_p_interpolation) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  const double eps = 1e-12;
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 300), (0.035 + 0.039) / 2, eps);
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 300), 0.037, eps);
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 250), 0.035 + 0.25 * 0.004, eps);
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 1900), (0.112 + 0.127) / 2, eps);
  /* Table points exactly. */
  for (int i = 0; i < 10; i++)
    ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 200.0 * (i + 1)), KDD_P[i], eps);
  /* Flat below the first point and above the last. */
  const double below[] = {-100, 0, 1, 100, 199.999};
  for (size_t i = 0; i < sizeof below / sizeof below[0]; i++)
    ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, below[i]), 0.035, eps);
  const double above[] = {2000.001, 2500, 1e6, INFINITY};
  for (size_t i = 0; i < sizeof above / sizeof above[0]; i++)
    ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, above[i]), 0.127, eps);
  /* Monotone and continuous along the whole table (the table ascends). */
  double prev = sim_scenario_cancel_p(&s, 0);
  for (double d = 0.5; d <= 2500; d += 0.5) {
    double p = sim_scenario_cancel_p(&s, d);
    ck_assert_msg(p >= prev - eps, "p(%g) = %g < p(%g) = %g", d, p, d - 0.5, prev);
    ck_assert_msg(p - prev < 0.0001, "jump at %g", d);
    prev = p;
  }
  /* A one-point table is constant; a two-point one is a straight line. */
  s.n_cancel = 1;
  s.cancel_m[0] = 500;
  s.cancel_p[0] = 0.25;
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 0), 0.25, eps);
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 500), 0.25, eps);
  ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, 9000), 0.25, eps);
  s.n_cancel = 2;
  s.cancel_m[0] = 0;
  s.cancel_p[0] = 0;
  s.cancel_m[1] = 1000;
  s.cancel_p[1] = 1;
  for (double d = 0; d <= 1000; d += 10)
    ck_assert_double_eq_tol(sim_scenario_cancel_p(&s, d), d / 1000, eps);
}
END_TEST

/* ---- sim_scenario_validate ---- */

typedef struct {
  const char *what;
  void (*spoil)(sim_scenario *s);
  const char *key;
} invalid_case;

static void sp_to_before_from(sim_scenario *s) { s->from_s = 36000; s->to_s = 36000; }
static void sp_to_lt_from(sim_scenario *s) { s->from_s = 36000; s->to_s = 3600; }
static void sp_drivers0(sim_scenario *s) { s->drivers = 0; }
static void sp_drivers_neg(sim_scenario *s) { s->drivers = -2; }
static void sp_no_cancel(sim_scenario *s) { s->n_cancel = 0; }
static void sp_p_high(sim_scenario *s) { s->cancel_p[3] = 1.5; }
static void sp_p_neg(sim_scenario *s) { s->cancel_p[0] = -0.1; }
static void sp_p_nan(sim_scenario *s) { s->cancel_p[2] = NAN; }
static void sp_m_equal(sim_scenario *s) { s->cancel_m[5] = s->cancel_m[4]; }
static void sp_m_desc(sim_scenario *s) { s->cancel_m[9] = 100; }
static void sp_idle(sim_scenario *s) { snprintf(s->idle_model, sizeof s->idle_model, "drift"); }
static void sp_place(sim_scenario *s) { snprintf(s->placement, sizeof s->placement, "airport"); }
static void sp_tick0(sim_scenario *s) { s->tick_s = 0; }
static void sp_tick_neg(sim_scenario *s) { s->tick_s = -2; }

static const invalid_case INVALID[] = {
    {"to == from", sp_to_before_from, "'to'"},
    {"to < from", sp_to_lt_from, "'to'"},
    {"drivers 0", sp_drivers0, "'drivers'"},
    {"drivers -2", sp_drivers_neg, "'drivers'"},
    {"empty cancel table", sp_no_cancel, "cancel"},
    {"p > 1", sp_p_high, "'cancel.p[3]'"},
    {"p < 0", sp_p_neg, "'cancel.p[0]'"},
    {"distance repeated", sp_m_equal, "'cancel.distance_m'"},
    {"distance descends", sp_m_desc, "'cancel.distance_m'"},
    {"idle model", sp_idle, "'idle_model'"},
    {"placement", sp_place, "'placement'"},
    {"tick 0", sp_tick0, "'tick_s'"},
    {"tick < 0", sp_tick_neg, "'tick_s'"},
};

START_TEST(validate_errors) {
  const invalid_case *c = &INVALID[_i];
  sim_scenario s;
  sim_scenario_defaults(&s);
  c->spoil(&s);
  rs_err e = {0};
  int rc = sim_scenario_validate(&s, &e);
  ck_assert_msg(rc == RS_EINVAL, "%s: rc %d", c->what, rc);
  ck_assert_msg(strstr(e.msg, c->key) != NULL, "%s: '%s' does not name %s", c->what, e.msg,
                c->key);
}
END_TEST

START_TEST(validate_accepts) {
  sim_scenario s;
  sim_scenario_defaults(&s);
  rs_err e = {0};
  s.from_s = 0;
  s.to_s = 86400;
  s.drivers = 1;
  s.n_cancel = 1;
  s.cancel_m[0] = 0;
  s.cancel_p[0] = 1;
  s.tick_s = 1;
  snprintf(s.idle_model, sizeof s.idle_model, "random-walk");
  snprintf(s.placement, sizeof s.placement, "uniform");
  ck_assert_msg(sim_scenario_validate(&s, &e) == 0, "%s", e.msg);
  /* Only one end of the horizon given: nothing to compare. */
  s.from_s = 50000;
  s.to_s = -1;
  ck_assert_msg(sim_scenario_validate(&s, &e) == 0, "%s", e.msg);
}
END_TEST

/* Fields the JSON reader range-checks but a scenario built in C can still
 * hold: each would make the engine loop at one instant (a zero period),
 * read past the cancellation table, or never match. validate() must refuse
 * them, since it is the only gate before sim_engine_new. */
static void sp_repo_tick0(sim_scenario *s) { s->repo_tick_s = 0; }
static void sp_idle_step0(sim_scenario *s) { s->idle_step_s = 0; }
static void sp_too_many_points(sim_scenario *s) { s->n_cancel = SIM_CANCEL_POINTS_MAX + 1; }
static void sp_top_k0(sim_scenario *s) { s->top_k = 0; }
static void sp_radius0(sim_scenario *s) { s->radius_m = 0; }
static void sp_patience_neg(sim_scenario *s) { s->patience_s = -1; }
static void sp_delay_neg(sim_scenario *s) { s->cancel_delay_s = -30; }
/* a policy option written around the setters */
static void sp_policy_nan(sim_scenario *s) {
  const disp_registry_entry *d = disp_registry_find("v1d3");
  disp_optvals before = s->policies;
  rs_err e = {0};
  ck_assert_int_eq(disp_optvals_set_num(&s->policies, d, disp_registry_opt(d, "lr"), 0.5, "lr",
                                        &e), 0);
  for (int i = 0; i < DISP_OPTVALS_NUM_MAX; i++)
    if (s->policies.num[i] != before.num[i]) s->policies.num[i] = NAN;
}
static void sp_slot_7(sim_scenario *s) {
  const disp_registry_entry *d = disp_registry_find("v1d3");
  rs_err e = {0};
  ck_assert_int_eq(disp_optvals_set_num(&s->policies, d, disp_registry_opt(d, "slot_s"), 7, "s",
                                        &e), 0);
}

static const invalid_case INVALID_API[] = {
    {"p NaN", sp_p_nan, "'cancel.p[2]'"},
    {"repo_tick_s 0", sp_repo_tick0, "'repo_tick_s'"},
    {"idle_step_s 0", sp_idle_step0, "'idle_step_s'"},
    {"n_cancel > max", sp_too_many_points, "cancel"},
    {"top_k 0", sp_top_k0, "'top_k'"},
    {"radius 0", sp_radius0, "'radius_m'"},
    {"patience < 0", sp_patience_neg, "'patience_s'"},
    {"cancel delay < 0", sp_delay_neg, "delay_s"},
    {"v1d3 lr NaN", sp_policy_nan, "'policies.v1d3.lr'"},
    {"v1d3 slot of 7 s", sp_slot_7, "'policies.v1d3.slot_s'"},
};

START_TEST(validate_api_ranges) {
  const invalid_case *c = &INVALID_API[_i];
  sim_scenario s;
  sim_scenario_defaults(&s);
  c->spoil(&s);
  rs_err e = {0};
  int rc = sim_scenario_validate(&s, &e);
  ck_assert_msg(rc == RS_EINVAL, "%s: accepted (rc %d)", c->what, rc);
  ck_assert_msg(strstr(e.msg, c->key) != NULL, "%s: '%s' does not name %s", c->what, e.msg,
                c->key);
}
END_TEST

static Suite *scenario_suite(void) {
  Suite *s = suite_create("scenario");
  TCase *tc = tcase_create("defaults");
  tcase_add_test(tc, defaults);
  suite_add_tcase(s, tc);
  tc = tcase_create("parse");
  tcase_add_test(tc, parse_overrides);
  tcase_add_loop_test(tc, parse_bad, 0, (int)(sizeof BAD / sizeof BAD[0]));
  tcase_add_test(tc, parse_not_json);
  suite_add_tcase(s, tc);
  tc = tcase_create("policies");
  tcase_add_test(tc, parse_policies);
  tcase_add_loop_test(tc, parse_typed, 0, (int)(sizeof TYPED / sizeof TYPED[0]));
  tcase_add_test(tc, aliases_mean_the_same);
  tcase_add_test(tc, old_printed_scenario);
  suite_add_tcase(s, tc);
  tc = tcase_create("load");
  tcase_add_test(tc, load_file);
  suite_add_tcase(s, tc);
  tc = tcase_create("to_json");
  tcase_add_test(tc, to_json_round_trip);
  tcase_add_test(tc, to_json_round_trip_seconds);
  tcase_add_test(tc, to_json_round_trip_precision);
  tcase_add_test(tc, to_json_is_an_object);
  suite_add_tcase(s, tc);
  tc = tcase_create("cancel_p");
  tcase_add_test(tc, cancel_p_interpolation);
  suite_add_tcase(s, tc);
  tc = tcase_create("validate");
  tcase_add_loop_test(tc, validate_errors, 0, (int)(sizeof INVALID / sizeof INVALID[0]));
  tcase_add_test(tc, validate_accepts);
  tcase_add_loop_test(tc, validate_api_ranges, 0,
                      (int)(sizeof INVALID_API / sizeof INVALID_API[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(scenario_suite()); }
