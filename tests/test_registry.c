/*
 * Tests of dispatch/registry: the table's invariants (disp_registry_check),
 * finding entries by name and kind, the names lists, the schema walk and
 * the aliases, every option's default, setting values against a naive
 * reference of each type and range (thousands of random values, the table
 * unchanged on a refusal), the rules between v1d3's options, and the builds:
 * every dispatch x repositioning pair on the synthetic city, one model
 * shared by v1d3's two policies, the options reaching the policies, the
 * value table read in the offline mode, and policies that cannot stand
 * alone refused by disp_policy_new.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "city_data/city.h"
#include "dispatch/registry.h"
#include "dispatch/v1d3.h"
#include "tests/testutil.h"
#include "value/vstore.h"

static city_def city;       /* the synthetic city */
static city_grid grid;
static city_travel travel;

static const disp_registry_entry *entry(const char *name) {
  const disp_registry_entry *d = disp_registry_find(name);
  ck_assert_msg(d != NULL, "'%s' is not registered", name);
  return d;
}

static const disp_opt_spec *opt(const char *name, const char *key) {
  const disp_opt_spec *o = disp_registry_opt(entry(name), key);
  ck_assert_msg(o != NULL, "'%s' has no option '%s'", name, key);
  return o;
}

/* ---- disp_registry_check ---- */

START_TEST(table_invariants) {
  rs_err e = {0};
  ck_assert_msg(disp_registry_check(&e) == 0, "%s", e.msg);
}
END_TEST

/* ---- disp_registry_find, _at, _count, _lookup, _names ---- */

START_TEST(find_and_lookup) {
  static const struct {
    const char *name;
    unsigned kind;
  } want[] = {
      {"fcfs-nearest", DISP_REG_DISPATCH}, {"random", DISP_REG_DISPATCH},
      {"batch-distance", DISP_REG_DISPATCH}, {"stay", DISP_REG_REPOSITION},
      {"random-walk", DISP_REG_REPOSITION},
      {"v1d3", DISP_REG_DISPATCH | DISP_REG_REPOSITION},
  };
  ck_assert_int_eq(disp_registry_count(), (int)(sizeof want / sizeof want[0]));
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const disp_registry_entry *d = disp_registry_at((int32_t)i);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, want[i].name);
    ck_assert_uint_eq(d->kind, want[i].kind);
    ck_assert_ptr_eq(disp_registry_find(want[i].name), d);
    rs_err e = {0};
    const disp_registry_entry *got = NULL;
    for (unsigned k = DISP_REG_DISPATCH; k <= DISP_REG_REPOSITION; k <<= 1) {
      int rc = disp_registry_lookup(want[i].name, k, &got, &e);
      if (want[i].kind & k) {
        ck_assert_msg(rc == 0 && got == d, "%s: %s", want[i].name, e.msg);
      } else {
        ck_assert_int_eq(rc, RS_EINVAL);
        ck_assert_ptr_null(got);
        ck_assert_ptr_nonnull(strstr(e.msg, want[i].name));
      }
    }
  }
  ck_assert_ptr_null(disp_registry_at(-1));
  ck_assert_ptr_null(disp_registry_at(disp_registry_count()));
  ck_assert_ptr_null(disp_registry_find("nosuch"));
  ck_assert_ptr_null(disp_registry_find(NULL));
  /* An unknown name: the message names it and every known one of its kind. */
  rs_err e = {0};
  const disp_registry_entry *got;
  ck_assert_int_eq(disp_registry_lookup("nosuch", DISP_REG_DISPATCH, &got, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'nosuch'"));
  ck_assert_ptr_nonnull(strstr(e.msg, "fcfs-nearest, random, batch-distance, v1d3"));
  ck_assert_int_eq(disp_registry_lookup("nosuch", DISP_REG_REPOSITION, &got, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "stay, random-walk, v1d3"));
}
END_TEST

START_TEST(names) {
  char buf[256];
  disp_registry_names(DISP_REG_DISPATCH, 0, ", ", buf, sizeof buf);
  ck_assert_str_eq(buf, "fcfs-nearest, random, batch-distance, v1d3");
  disp_registry_names(DISP_REG_REPOSITION, 0, " | ", buf, sizeof buf);
  ck_assert_str_eq(buf, "stay | random-walk | v1d3");
  disp_registry_names(DISP_REG_DISPATCH, DISP_REG_NEEDS_MODEL, ", ", buf, sizeof buf);
  ck_assert_str_eq(buf, "fcfs-nearest, random, batch-distance");
  disp_registry_names(DISP_REG_DISPATCH | DISP_REG_REPOSITION, 0, ",", buf, sizeof buf);
  ck_assert_str_eq(buf, "fcfs-nearest,random,batch-distance,stay,random-walk,v1d3");
  /* A short buffer holds whole names only, and stays terminated. */
  char small[20];
  memset(small, 'x', sizeof small);
  disp_registry_names(DISP_REG_DISPATCH, 0, ", ", small, sizeof small);
  ck_assert_str_eq(small, "fcfs-nearest");
}
END_TEST

/* ---- the schema: disp_registry_opt, _n_opts, _opt_at, _alias ---- */

START_TEST(schema_walk) {
  int32_t n = disp_registry_n_opts(), seen = 0;
  for (int32_t i = 0; i < disp_registry_count(); i++) seen += disp_registry_at(i)->n_opts;
  ck_assert_int_eq(n, seen);
  ck_assert_int_eq(entry("v1d3")->n_opts, 14);
  for (int32_t i = 0; i < n; i++) {
    const disp_registry_entry *d = NULL;
    const disp_opt_spec *o = disp_registry_opt_at(i, &d);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(disp_registry_opt(d, o->key), o);
    if (o->alias != NULL) {
      const char *dot = strchr(o->alias, '.');
      char object[64];
      snprintf(object, sizeof object, "%.*s", (int)(dot - o->alias), o->alias);
      const disp_registry_entry *ad = NULL;
      ck_assert_ptr_eq(disp_registry_alias(object, dot + 1, &ad), o);
      ck_assert_ptr_eq(ad, d);
      ck_assert(disp_registry_alias_object(object));
    }
  }
  const disp_registry_entry *d = (const disp_registry_entry *)1;
  ck_assert_ptr_null(disp_registry_opt_at(n, &d));
  ck_assert_ptr_null(d);
  ck_assert_ptr_null(disp_registry_opt_at(-1, NULL));
  ck_assert_ptr_null(disp_registry_opt(entry("v1d3"), "nope"));
  ck_assert_ptr_null(disp_registry_opt(entry("stay"), "lr"));
  /* v1d3's old flat keys, each the alias of the option of that name */
  static const char *const V1D3_KEYS[] = {"mode", "table", "lr", "gamma", "slot_s",
                                          "split_daytype", "ensemble_period_s", "ensemble_w",
                                          "tau", "repo_radius_m", "serve_first"};
  for (size_t i = 0; i < sizeof V1D3_KEYS / sizeof V1D3_KEYS[0]; i++)
    ck_assert_ptr_eq(disp_registry_alias("value", V1D3_KEYS[i], NULL), opt("v1d3", V1D3_KEYS[i]));
  ck_assert_ptr_null(disp_registry_alias("value", "nope", NULL));
  ck_assert_ptr_null(disp_registry_alias("valu", "lr", NULL));
  ck_assert(!disp_registry_alias_object("policies"));
  ck_assert(!disp_registry_alias_object("val"));
}
END_TEST

START_TEST(expect_texts) {
  char buf[160];
  disp_opt_expect(opt("v1d3", "lr"), buf, sizeof buf);
  ck_assert_str_eq(buf, "a number from 0 to 1");
  disp_opt_expect(opt("v1d3", "slot_s"), buf, sizeof buf);
  ck_assert_str_eq(buf, "an integer from 1 to 86400");
  disp_opt_expect(opt("v1d3", "serve_first"), buf, sizeof buf);
  ck_assert_str_eq(buf, "true or false");
  disp_opt_expect(opt("v1d3", "mode"), buf, sizeof buf);
  ck_assert_str_eq(buf, "one of \"online\", \"offline\", \"ensemble\"");
  disp_opt_expect(opt("v1d3", "table"), buf, sizeof buf);
  ck_assert_str_eq(buf, "a path (a string) or null");
  ck_assert_str_eq(disp_opt_type_name(DISP_OPT_INTEGER), "integer");
  ck_assert_str_eq(disp_opt_type_name(DISP_OPT_ENUM), "enum");
}
END_TEST

/* ---- the values ---- */

/* Every option at its schema's default, and v1d3's as v1d3.h's and
 * value/'s defaults (a scenario without options runs as before). */
START_TEST(defaults) {
  disp_optvals v;
  memset(&v, 0x5a, sizeof v);
  disp_optvals_defaults(&v);
  for (int32_t i = 0; i < disp_registry_n_opts(); i++) {
    const disp_registry_entry *d;
    const disp_opt_spec *o = disp_registry_opt_at(i, &d);
    if (o->type == DISP_OPT_STRING || o->type == DISP_OPT_PATH) {
      const char *s = disp_optvals_str(&v, d, o);
      if (o->def_str == NULL || o->def_str[0] == '\0') ck_assert_ptr_null(s);
      else ck_assert_str_eq(s, o->def_str);
    } else {
      ck_assert(disp_optvals_num(&v, d, o) == o->def);
    }
  }
  const disp_registry_entry *d = entry("v1d3");
  disp_v1d3_opts vo;
  disp_v1d3_defaults(&vo);
  ck_assert_str_eq(disp_optvals_str(&v, d, opt("v1d3", "mode")), "online");
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "mode")) == vo.mode);
  ck_assert_ptr_null(disp_optvals_str(&v, d, opt("v1d3", "table")));
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "lr")) == vo.lr);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "lr")) == 0.25);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "gamma")) == vo.cfg.gamma);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "slot_s")) == vo.cfg.slot_s);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "split_daytype")) == 0);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "ensemble_period_s")) == 3600);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "ensemble_w")) == vo.ensemble_w);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "tau")) == vo.tau);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "repo_radius_m")) == vo.repo_radius_m);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "serve_first")) == 1);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "repo_min_gain")) == vo.repo_min_gain);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "learn_free")) == vo.learn_free);
  ck_assert(disp_optvals_num(&v, d, opt("v1d3", "flatten")) == vo.flatten);
  rs_err e = {0};
  ck_assert_msg(disp_optvals_check(&v, &e) == 0, "%s", e.msg);
}
END_TEST

/* The naive reference of a numeric option's domain. */
static int accepts(const disp_opt_spec *o, double x) {
  switch (o->type) {
  case DISP_OPT_NUMBER: return !isnan(x) && !isinf(x) && o->lo <= x && x <= o->hi;
  case DISP_OPT_INTEGER:
    return !isnan(x) && !isinf(x) && o->lo <= x && x <= o->hi && (double)(int64_t)x == x;
  case DISP_OPT_BOOL: return x == 0.0 || x == 1.0;
  default: return 0;
  }
}

/* A value near the interesting points of an option's domain. */
static double draw(pcg32 *r, const disp_opt_spec *o) {
  double lo = o->type == DISP_OPT_BOOL ? 0 : o->lo, hi = o->type == DISP_OPT_BOOL ? 1 : o->hi;
  double u = pcg32_double(r);
  switch (pcg32_bounded(r, 9)) {
  case 0: return lo;
  case 1: return hi;
  case 2: return nextafter(lo, -INFINITY);
  case 3: return nextafter(hi, INFINITY);
  case 4: return lo + u * (hi - lo);
  case 5: return floor(lo + u * (hi - lo));
  case 6: return (u - 0.5) * 4 * (fabs(hi) + 1);
  case 7: return pcg32_bounded(r, 2) ? NAN : (pcg32_bounded(r, 2) ? INFINITY : -INFINITY);
  default: return (double)pcg32_bounded(r, 3);
  }
}

START_TEST(set_num_against_reference) {
  pcg32 r;
  pcg32_seed(&r, 0x5eed + (uint64_t)_i, 1);
  disp_optvals v, before;
  disp_optvals_defaults(&v);
  for (int iter = 0; iter < 4000; iter++) {
    const disp_registry_entry *d;
    const disp_opt_spec *o =
        disp_registry_opt_at((int32_t)pcg32_bounded(&r, (uint32_t)disp_registry_n_opts()), &d);
    double x = draw(&r, o);
    before = v;
    rs_err e = {0};
    int rc = disp_optvals_set_num(&v, d, o, x, "'k'", &e);
    if (accepts(o, x)) {
      ck_assert_msg(rc == 0, "%s.%s = %.17g refused: %s", d->name, o->key, x, e.msg);
      ck_assert(disp_optvals_num(&v, d, o) == x);
      /* only its slot changed */
      ck_assert(disp_optvals_set_num(&before, d, o, x, "'k'", &e) == 0);
      ck_assert_mem_eq(&v, &before, sizeof v);
    } else {
      ck_assert_msg(rc == RS_EFORMAT, "%s.%s = %.17g accepted", d->name, o->key, x);
      ck_assert_ptr_nonnull(strstr(e.msg, "'k' must be "));
      ck_assert_mem_eq(&v, &before, sizeof v);
    }
  }
  rs_err e = {0};
  ck_assert_msg(disp_optvals_check(&v, &e) == 0 || strstr(e.msg, "slot_s") != NULL ||
                    strstr(e.msg, "table") != NULL,
                "%s", e.msg);
}
END_TEST

START_TEST(set_str) {
  const disp_registry_entry *d = entry("v1d3");
  const disp_opt_spec *mode = opt("v1d3", "mode"), *table = opt("v1d3", "table");
  disp_optvals v, before;
  disp_optvals_defaults(&v);
  rs_err e = {0};
  for (int32_t i = 0; mode->choices[i] != NULL; i++) {
    ck_assert_int_eq(disp_optvals_set_str(&v, d, mode, mode->choices[i], "m", &e), 0);
    ck_assert_str_eq(disp_optvals_str(&v, d, mode), mode->choices[i]);
    ck_assert(disp_optvals_num(&v, d, mode) == i);
    int32_t m;
    ck_assert_int_eq(disp_v1d3_mode_parse(mode->choices[i], &m), 0);
    ck_assert_int_eq(m, i); /* the index is v1d3.h's mode */
  }
  before = v;
  static const char *const BAD[] = {"Online", "", "online ", "sometimes"};
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    ck_assert_int_eq(disp_optvals_set_str(&v, d, mode, BAD[i], "'value.mode'", &e), RS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "'value.mode' must be one of \"online\""));
  }
  ck_assert_int_eq(disp_optvals_set_str(&v, d, mode, NULL, "m", &e), RS_EFORMAT);
  /* a number is not an enum, nor text a number */
  ck_assert_int_eq(disp_optvals_set_num(&v, d, mode, 1, "m", &e), RS_EFORMAT);
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "lr"), "0.5", "l", &e), RS_EFORMAT);
  ck_assert_int_eq(disp_optvals_set_num(&v, d, table, 1, "t", &e), RS_EFORMAT);
  ck_assert_mem_eq(&v, &before, sizeof v);
  /* a path: set, replaced by a shorter one, unset; too long refused */
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, "/a/long/path/table.db", "t", &e), 0);
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, "t.db", "t", &e), 0);
  ck_assert_str_eq(disp_optvals_str(&v, d, table), "t.db");
  char longp[DISP_OPT_STR_SIZE + 1];
  memset(longp, 'p', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  before = v;
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, longp, "t", &e), RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "too long"));
  ck_assert_mem_eq(&v, &before, sizeof v);
  longp[DISP_OPT_STR_SIZE - 1] = '\0'; /* the longest that fits */
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, longp, "t", &e), 0);
  ck_assert_str_eq(disp_optvals_str(&v, d, table), longp);
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, NULL, "t", &e), 0);
  ck_assert_ptr_null(disp_optvals_str(&v, d, table));
  ck_assert_int_eq(disp_optvals_set_str(&v, d, table, "", "t", &e), 0);
  ck_assert_ptr_null(disp_optvals_str(&v, d, table));
}
END_TEST

/* ---- disp_optvals_check ---- */

START_TEST(check_rules) {
  const disp_registry_entry *d = entry("v1d3");
  disp_optvals v;
  disp_optvals_defaults(&v);
  rs_err e = {0};
  /* a trained table is needed by the offline and ensemble modes only */
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "mode"), "ensemble", "m", &e), 0);
  ck_assert_int_eq(disp_optvals_check(&v, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'policies.v1d3.table'"));
  ck_assert_ptr_nonnull(strstr(e.msg, "ensemble"));
  ck_assert_ptr_null(disp_registry_reads_file(d, &v));
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "table"), "t.db", "t", &e), 0);
  ck_assert_msg(disp_optvals_check(&v, &e) == 0, "%s", e.msg);
  ck_assert_str_eq(disp_registry_reads_file(d, &v), "t.db");
  /* online reads a given table too: it starts from it (warm start) */
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "mode"), "online", "m", &e), 0);
  ck_assert_str_eq(disp_registry_reads_file(d, &v), "t.db");
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "table"), NULL, "t", &e), 0);
  ck_assert_ptr_null(disp_registry_reads_file(d, &v));
  ck_assert_ptr_null(disp_registry_reads_file(entry("fcfs-nearest"), &v));
  ck_assert_ptr_null(disp_registry_reads_file(NULL, &v));
  /* the slot divides the day */
  for (int slot = 1; slot <= 7200; slot++) {
    ck_assert_int_eq(disp_optvals_set_num(&v, d, opt("v1d3", "slot_s"), slot, "s", &e), 0);
    int rc = disp_optvals_check(&v, &e);
    if (86400 % slot == 0) {
      ck_assert_msg(rc == 0, "slot %d: %s", slot, e.msg);
    } else {
      ck_assert_msg(rc == RS_EINVAL, "slot %d accepted", slot);
      ck_assert_ptr_nonnull(strstr(e.msg, "'policies.v1d3.slot_s'"));
    }
  }
  /* values written around the setters (a scenario built in C) */
  disp_optvals_defaults(&v);
  for (int32_t i = 0; i < DISP_OPTVALS_NUM_MAX; i++) {
    disp_optvals w = v;
    w.num[i] = NAN;
    int rc = disp_optvals_check(&w, &e);
    if (rc == 0) continue; /* a slot no option uses */
    ck_assert_int_eq(rc, RS_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "'policies."));
    ck_assert_ptr_nonnull(strstr(e.msg, " must be "));
  }
  disp_optvals w = v;
  memset(w.str[0], 'x', sizeof w.str[0]); /* unterminated */
  ck_assert_int_eq(disp_optvals_check(&w, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'policies.v1d3.table'"));
}
END_TEST

/* ---- the builds ---- */

static double cancel_half(const void *ctx, double m) {
  (void)ctx;
  return m > 1000 ? 0.5 : 0.0;
}

static disp_build city_build(const disp_options *o, const disp_optvals *v) {
  disp_build b = {o, v, &travel, &grid, cancel_half, NULL};
  return b;
}

START_TEST(build_every_pair) {
  disp_optvals v;
  disp_optvals_defaults(&v);
  disp_options dopt = {2000, 32, 3};
  disp_build b = city_build(&dopt, &v);
  for (int32_t i = 0; i < disp_registry_count(); i++) {
    const disp_registry_entry *dd = disp_registry_at(i);
    if (!(dd->kind & DISP_REG_DISPATCH)) continue;
    for (int32_t j = 0; j < disp_registry_count(); j++) {
      const disp_registry_entry *rr = disp_registry_at(j);
      if (!(rr->kind & DISP_REG_REPOSITION)) continue;
      disp_models m;
      disp_policy dp;
      disp_repolicy rp;
      rs_err e = {0};
      ck_assert_msg(disp_registry_build(dd->name, rr->name, &b, &m, &dp, &rp, &e) == 0,
                    "%s/%s: %s", dd->name, rr->name, e.msg);
      ck_assert_str_eq(dp.name, dd->name);
      ck_assert_str_eq(rp.name, rr->name);
      ck_assert(dp.dispatch != NULL);
      ck_assert(rp.reposition != NULL);
      int learns = dd->model_new != NULL || rr->model_new != NULL;
      ck_assert_int_eq(disp_models_observer(&m).observe != NULL, learns);
      ck_assert_int_eq(disp_models_table(&m) != NULL, learns);
      /* one model for an entry of both kinds */
      if (dd == rr && dd->model_new != NULL) {
        ck_assert_ptr_eq(m.ent[0], dd);
        ck_assert_ptr_null(m.ent[1]);
        ck_assert_ptr_eq(dp.ctx, m.model[0]);
        ck_assert_ptr_eq(rp.ctx, m.model[0]);
      }
      if (strcmp(dd->name, "batch-distance") == 0 || strcmp(dd->name, "v1d3") == 0)
        ck_assert_int_eq(dp.driver_top_k, 3);
      disp_policy_destroy(&dp);
      disp_repolicy_destroy(&rp);
      disp_models_free(&m);
    }
  }
}
END_TEST

/* The options reach the policies: serve_first and the shared driver_top_k
 * (dispatch's maximal and driver_top_k say so). */
START_TEST(build_options) {
  const disp_registry_entry *d = entry("v1d3");
  disp_optvals v;
  disp_optvals_defaults(&v);
  rs_err e = {0};
  ck_assert_int_eq(disp_optvals_set_num(&v, d, opt("v1d3", "serve_first"), 0, "s", &e), 0);
  disp_options dopt = {2000, 32, 7};
  disp_build b = city_build(&dopt, &v);
  disp_models m;
  disp_policy dp;
  disp_repolicy rp;
  ck_assert_msg(disp_registry_build("v1d3", "stay", &b, &m, &dp, &rp, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(dp.maximal, 0);
  ck_assert_int_eq(dp.driver_top_k, 7);
  ck_assert_int_eq(rp.inert, 1);
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
  disp_models_free(&m);
  /* policies without a model leave none */
  ck_assert_int_eq(disp_registry_build("batch-distance", "random-walk", &b, &m, &dp, &rp, &e), 0);
  ck_assert_int_eq(dp.maximal, 1);
  ck_assert_ptr_null(m.ent[0]);
  ck_assert_ptr_null(m.ent[1]);
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
  disp_models_free(&m);
}
END_TEST

START_TEST(build_offline_table) {
  char dir[256], path[512];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/v.db", dir);
  rs_err e = {0};
  val_config cfg;
  val_config_defaults(&cfg);
  val_table *t;
  ck_assert_int_eq(val_table_new(&grid, &cfg, &t, &e), 0);
  int32_t cell = grid.n_cells / 2;
  val_table_update(t, cell, 8 * 3600, 42.0, 1.0);
  val_meta meta;
  memset(&meta, 0, sizeof meta);
  snprintf(meta.city, sizeof meta.city, "%s", city.name);
  ck_assert_msg(val_store_save(path, t, &city, &meta, &e) == 0, "%s", e.msg);
  const disp_registry_entry *d = entry("v1d3");
  disp_optvals v;
  disp_optvals_defaults(&v);
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "mode"), "offline", "m", &e), 0);
  disp_options dopt = {2000, 32, 3};
  disp_build b = city_build(&dopt, &v);
  disp_models m;
  disp_policy dp;
  disp_repolicy rp;
  /* no table named: refused, nothing left built */
  ck_assert_int_eq(disp_registry_build("v1d3", "v1d3", &b, &m, &dp, &rp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "table"));
  ck_assert_ptr_null(m.model[0]);
  ck_assert_ptr_null(dp.ctx);
  /* a table that is not there */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/missing.db", dir);
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "table"), missing, "t", &e), 0);
  ck_assert_int_ne(disp_registry_build("v1d3", "stay", &b, &m, &dp, &rp, &e), 0);
  ck_assert_ptr_nonnull(strstr(e.msg, "missing.db"));
  ck_assert_ptr_null(m.model[0]);
  /* the table: the policies read it as it was saved */
  ck_assert_int_eq(disp_optvals_set_str(&v, d, opt("v1d3", "table"), path, "t", &e), 0);
  ck_assert_msg(disp_registry_build("random", "v1d3", &b, &m, &dp, &rp, &e) == 0, "%s", e.msg);
  const val_table *got = disp_models_table(&m);
  ck_assert_ptr_nonnull(got);
  ck_assert(val_table_get(got, cell, 8 * 3600) == val_table_get(t, cell, 8 * 3600));
  ck_assert(val_table_get(got, cell, 8 * 3600) != 0);
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
  disp_models_free(&m);
  val_table_free(t);
  unlink(path);
  rmdir(dir);
}
END_TEST

START_TEST(build_refusals) {
  disp_optvals v;
  disp_optvals_defaults(&v);
  disp_options dopt = {2000, 32, 3};
  disp_build b = city_build(&dopt, &v);
  disp_models m;
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  ck_assert_int_eq(disp_registry_build("stay", "stay", &b, &m, &dp, &rp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'stay' is not a dispatch policy"));
  ck_assert_int_eq(disp_registry_build("random", "batch-distance", &b, &m, &dp, &rp, &e),
                   RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "batch-distance"));
  ck_assert_int_eq(disp_registry_build("nosuch", "stay", &b, &m, &dp, &rp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "unknown dispatch policy 'nosuch'"));
  /* a model needs a city */
  disp_build nocity = {&dopt, &v, NULL, NULL, NULL, NULL};
  ck_assert_int_eq(disp_registry_build("v1d3", "stay", &nocity, &m, &dp, &rp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "v1d3"));
  ck_assert_int_eq(disp_registry_build("fcfs-nearest", "random-walk", &nocity, &m, &dp, &rp, &e),
                   0);
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
  disp_models_free(&m);
}
END_TEST

/* ---- disp_policy_new, disp_repolicy_new (policy.h) ---- */

START_TEST(standalone) {
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  disp_options dopt = {2000, 32, 5};
  for (int32_t i = 0; i < disp_registry_count(); i++) {
    const disp_registry_entry *d = disp_registry_at(i);
    int alone = !(d->needs & DISP_REG_NEEDS_MODEL);
    if (d->kind & DISP_REG_DISPATCH) {
      int rc = disp_policy_new(d->name, &dopt, &dp, &e);
      ck_assert_int_eq(rc, alone ? 0 : RS_EINVAL);
      if (alone) ck_assert_str_eq(dp.name, d->name);
      else ck_assert_ptr_nonnull(strstr(e.msg, "cannot stand alone"));
      disp_policy_destroy(&dp);
    }
    if (d->kind & DISP_REG_REPOSITION) {
      int rc = disp_repolicy_new(d->name, NULL, &rp, &e);
      ck_assert_int_eq(rc, alone ? 0 : RS_EINVAL);
      if (alone) ck_assert_str_eq(rp.name, d->name);
      disp_repolicy_destroy(&rp);
    }
  }
  ck_assert_int_eq(disp_policy_new("batch-distance", &dopt, &dp, &e), 0);
  ck_assert_int_eq(dp.driver_top_k, 5);
  disp_policy_destroy(&dp);
  ck_assert_int_eq(disp_policy_new("batch-distance", NULL, &dp, &e), 0);
  ck_assert_int_eq(dp.driver_top_k, 0);
  disp_policy_destroy(&dp);
  ck_assert_int_eq(disp_policy_new("teleport", &dopt, &dp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "known: fcfs-nearest"));
  ck_assert_int_eq(disp_repolicy_new("teleport", &dopt, &rp, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "known: stay"));
}
END_TEST

static Suite *registry_suite(void) {
  Suite *s = suite_create("registry");
  struct {
    const char *name;
    const TTest *t;
  } cases[] = {
      {"check", table_invariants},   {"lookup", find_and_lookup},
      {"names", names},              {"schema", schema_walk},
      {"expect", expect_texts},      {"defaults", defaults},
      {"set_str", set_str},          {"check_rules", check_rules},
      {"build", build_every_pair},   {"build_options", build_options},
      {"build_offline", build_offline_table}, {"build_refusals", build_refusals},
      {"standalone", standalone},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].t);
    suite_add_tcase(s, tc);
  }
  TCase *tc = tcase_create("set_num");
  tcase_add_loop_test(tc, set_num_against_reference, 0, 8);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  rs_err e = {0};
  if (city_def_builtin("synthetic", &city, &e) != 0 || city_def_grid(&city, &grid, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    return EXIT_FAILURE;
  }
  city_travel_gc(&city, &travel);
  int rc = test_run_suite(registry_suite());
  city_travel_free(&travel);
  return rc;
}
