/*
 * Tests of the KPI catalogue of sim/kpi: its invariants (sim_kpi_check),
 * each id's value read from its own field (random values in every field,
 * read back through sim_kpi_value), which KPIs go to runs.kpis, and every view's
 * order pinned as the outputs print it: the JSON keys (sim_kpis_to_json),
 * run's and evaluate's tables, a comparison's columns and the report's bars.
 * A change to this list changes what people and scripts read: these pins
 * say so. The README's table of the KPIs is the catalogue's, line for
 * line (KPI_README_UPDATE=1 rewrites it from the catalogue).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "sim/kpi.h"
#include "sim/results.h"
#include "tests/testutil.h"

/* A sim_kpis with a distinct random value in every field; solve_ticks as
 * given. */
static void random_kpis(pcg32 *r, sim_kpis *k, int64_t solve_ticks) {
  memset(k, 0, sizeof *k);
#define FILL_ENGINE(ctype, field) k->field = (ctype)(pcg32_double(r) * 1e6 + 1);
#define FILL_SOLVER(ctype, field) FILL_ENGINE(ctype, field)
#define FILL_RUN(ctype, field)
#define FILL_(ID, src, ctype, field, ...) FILL_##src(ctype, field)
  SIM_KPI_LIST(FILL_)
#undef FILL_
  k->solve_ticks = solve_ticks;
}

/* ---- sim_kpi_check ---- */

START_TEST(catalogue_invariants) {
  rs_err e = {0};
  ck_assert_msg(sim_kpi_check(&e) == 0, "%s", e.msg);
  ck_assert_int_eq(SIM_KPI_N, 33);
  ck_assert_ptr_null(sim_kpi_def_of(-1));
  ck_assert_ptr_null(sim_kpi_def_of(SIM_KPI_N));
  ck_assert_int_eq(sim_kpi_view_n(-1), 0);
  ck_assert_int_eq(sim_kpi_view_id(SIM_KPI_N_VIEWS, 0), -1);
}
END_TEST

/* ---- sim_kpi_value ---- */

START_TEST(value_reads_its_field) {
  pcg32 r;
  pcg32_seed(&r, 42 + (uint64_t)_i, 7);
  sim_kpis k;
  random_kpis(&r, &k, 1 + _i);
  double wall = pcg32_double(&r) * 100;
#define CHECK_ENGINE(ID, field) \
  ck_assert_msg(sim_kpi_value(&k, wall, SIM_KPI_##ID) == (double)k.field, #ID);
#define CHECK_SOLVER(ID, field) CHECK_ENGINE(ID, field)
#define CHECK_RUN(ID, field) ck_assert(sim_kpi_value(&k, wall, SIM_KPI_##ID) == wall);
#define CHECK_(ID, src, ctype, field, ...) CHECK_##src(ID, field)
  SIM_KPI_LIST(CHECK_)
#undef CHECK_
  ck_assert(isnan(sim_kpi_value(&k, wall, -1)));
  ck_assert(isnan(sim_kpi_value(&k, wall, SIM_KPI_N)));
  /* counts are integers, and only counts */
  for (int id = 0; id < SIM_KPI_N; id++) {
    const sim_kpi_def *d = sim_kpi_def_of(id);
    if (d->is_int) ck_assert_int_eq(d->dec, 0);
  }
  ck_assert(sim_kpi_def_of(SIM_KPI_ORDERS)->is_int);
  ck_assert(!sim_kpi_def_of(SIM_KPI_ANSWER_RATE)->is_int);
}
END_TEST

/* ---- sim_kpi_in_json, and sim_kpis_to_json (sim/results.h) ---- */

/* runs.kpis as every results DB has held them: these keys, in this order. */
static const char *const JSON_KEYS[] = {
    "orders", "matched", "completed", "cancelled", "expired", "open", "answer_rate",
    "completion_rate", "cancellation_rate", "wait_to_match_mean_s", "wait_to_match_p95_s",
    "wait_to_pickup_mean_s", "wait_to_pickup_p50_s", "wait_to_pickup_p90_s",
    "pickup_distance_mean_m", "pickup_eta_mean_s", "total_driver_income",
    "income_per_online_hour", "utilisation", "empty_km", "drivers", "events", "horizon_s",
    "modelled_trip_durations", "modelled_fares", "solver_ticks", "solver_orders_mean",
    "solver_drivers_mean", "solver_edges_mean", "solve_p50_us", "solve_p99_us", "solve_max_us"};
#define N_JSON_ALWAYS 25 /* the solver's seven only when it solved ticks */

START_TEST(json_keys_pinned) {
  pcg32 r;
  pcg32_seed(&r, 9 + (uint64_t)_i, 3);
  sim_kpis k;
  random_kpis(&r, &k, _i ? 17 : 0);
  size_t want = _i ? sizeof JSON_KEYS / sizeof JSON_KEYS[0] : N_JSON_ALWAYS;
  char *txt = sim_kpis_to_json(&k, _i);
  ck_assert_ptr_nonnull(txt);
  cJSON *o = cJSON_Parse(txt);
  ck_assert_ptr_nonnull(o);
  size_t n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, o) {
    ck_assert_msg(n < want, "extra key '%s'", it->string);
    ck_assert_str_eq(it->string, JSON_KEYS[n]);
    /* the value is the field's, through the catalogue's line of that key */
    int id = -1;
    for (int j = 0; j < SIM_KPI_N; j++)
      if (strcmp(sim_kpi_def_of(j)->key, it->string) == 0) id = j;
    ck_assert_int_ge(id, 0);
    ck_assert(sim_kpi_in_json(&k, id));
    ck_assert(cJSON_IsNumber(it));
    /* cJSON prints 15 significant digits when they read back "close
     * enough" (cJSON 1.7's print_number) */
    double want_v = sim_kpi_value(&k, 0, id);
    ck_assert_msg(fabs(it->valuedouble - want_v) <= 1e-14 * fabs(want_v), "%s: %.17g != %.17g",
                  it->string, it->valuedouble, want_v);
    n++;
  }
  ck_assert_int_eq(n, want);
  ck_assert(!sim_kpi_in_json(&k, SIM_KPI_WALL));
  ck_assert_int_eq(sim_kpi_in_json(&k, SIM_KPI_SOLVE_P99), _i != 0);
  cJSON_Delete(o);
  free(txt);
}
END_TEST

/* ---- the views: sim_kpi_view_n, _id, _index ---- */

static void assert_view(int view, const char *const *want, int n, int by_label) {
  ck_assert_int_eq(sim_kpi_view_n(view), n);
  for (int i = 0; i < n; i++) {
    int id = sim_kpi_view_id(view, i);
    ck_assert_int_ge(id, 0);
    const sim_kpi_def *d = sim_kpi_def_of(id);
    ck_assert_str_eq(by_label ? d->label : d->field, want[i]);
    ck_assert_int_eq(sim_kpi_view_index(view, id), i);
  }
  ck_assert_int_eq(sim_kpi_view_id(view, n), -1);
  for (int id = 0; id < SIM_KPI_N; id++) {
    int i = sim_kpi_view_index(view, id);
    ck_assert(i == -1 || sim_kpi_view_id(view, i) == id);
  }
}

START_TEST(views_pinned) {
  static const char *const RUN[] = {
      "orders", "answer rate", "completion rate", "cancellation rate", "expired",
      "open at the end", "wait to match, mean", "wait to match, p95", "wait to pickup, mean",
      "wait to pickup, p50", "wait to pickup, p90", "pickup distance, mean",
      "pickup ETA, mean", "total driver income (J)", "income per online hour (G)",
      "utilisation", "empty distance", "solver ticks", "events", "wall time"};
  assert_view(SIM_KPI_VIEW_RUN, RUN, (int)(sizeof RUN / sizeof RUN[0]), 1);
  static const char *const EVAL[] = {
      "orders", "completed", "answer rate", "completion rate", "cancellation rate", "expired",
      "open at the end", "wait to match, mean", "wait to pickup, mean", "pickup distance, mean",
      "pickup ETA, mean",
      "utilisation", "empty distance", "events", "wall time"};
  assert_view(SIM_KPI_VIEW_EVAL, EVAL, (int)(sizeof EVAL / sizeof EVAL[0]), 1);
  /* a comparison's CSV and JSON name them so */
  static const char *const CMP[] = {"answer_rate", "completion_rate", "cancellation_rate",
                                    "wait_mean_s", "pickup_wait_mean_s", "pickup_wait_p90_s",
                                    "pickup_m_mean", "income", "income_per_hour",
                                    "utilisation", "empty_km", "wall_seconds"};
  assert_view(SIM_KPI_VIEW_COMPARE, CMP, (int)(sizeof CMP / sizeof CMP[0]), 0);
  ck_assert_int_eq(SIM_KPI_N_COMPARE, 12);
  static const char *const BARS[] = {"income",         "answer_rate",        "income_per_hour",
                                     "wait_mean_s",    "pickup_wait_mean_s", "pickup_m_mean",
                                     "completion_rate"};
  assert_view(SIM_KPI_VIEW_BARS, BARS, (int)(sizeof BARS / sizeof BARS[0]), 0);
  /* a comparison's formats and directions */
  static const struct {
    int cdec, dir;
    double scale;
    const char *unit;
  } FMT[] = {{2, 1, 100, "%"}, {2, 1, 100, "%"}, {2, -1, 100, "%"}, {1, -1, 1, "s"},
             {1, -1, 1, "s"},  {1, -1, 1, "s"},   {1, -1, 1, "m"},  {2, 1, 1, ""},     {3, 1, 1, ""},     {2, 0, 100, "%"},
             {1, -1, 1, "km"}, {3, -1, 1, "s"}};
  for (int i = 0; i < SIM_KPI_N_COMPARE; i++) {
    const sim_kpi_def *d = sim_kpi_def_of(sim_kpi_view_id(SIM_KPI_VIEW_COMPARE, i));
    ck_assert_int_eq(d->cdec, FMT[i].cdec);
    ck_assert_int_eq(d->dir, FMT[i].dir);
    ck_assert(d->scale == FMT[i].scale);
    ck_assert_str_eq(d->unit, FMT[i].unit);
  }
}
END_TEST

/* ---- the README's table of the KPIs ---- */

#define README_BEGIN "<!-- kpi table: made from sim/kpi.h by tests/test_kpi.c; " \
                     "KPI_README_UPDATE=1 meson test -C build kpi rewrites it -->\n"
#define README_END "<!-- end of kpi table -->\n"

/* The table as the README holds it: every line of the catalogue, in its
 * order, with its label, key, unit and definition. */
static char *kpi_markdown(void) {
  size_t cap = 1 << 16, n = 0;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  n += (size_t)snprintf(out + n, cap - n,
                        "| KPI | key | unit | definition (numerator / denominator) |\n"
                        "| --- | --- | --- | --- |\n");
  for (int id = 0; id < SIM_KPI_N; id++) {
    const sim_kpi_def *d = sim_kpi_def_of(id);
    char key[128];
    if (d->src == SIM_KPI_SRC_RUN)
      snprintf(key, sizeof key, "`%s` (runs.wall_seconds)", d->key);
    else if (d->src == SIM_KPI_SRC_SOLVER)
      snprintf(key, sizeof key, "`%s` (batch policies)", d->key);
    else
      snprintf(key, sizeof key, "`%s`", d->key);
    n += (size_t)snprintf(out + n, cap - n, "| %s | %s | %s | %s |\n", d->label, key,
                          d->unit[0] ? d->unit : d->is_int ? "count" : "", d->definition);
    ck_assert_uint_lt(n, cap);
  }
  return out;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0) n += got;
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

START_TEST(readme_table_in_sync) {
  size_t len;
  char *doc = read_all(README_PATH, &len);
  char *begin = strstr(doc, README_BEGIN);
  ck_assert_msg(begin != NULL, "README.md has no KPI table marker");
  char *body = begin + strlen(README_BEGIN);
  char *end = strstr(body, README_END);
  ck_assert_msg(end != NULL, "README.md's KPI table has no end marker");
  char *want = kpi_markdown();
  size_t have_n = (size_t)(end - body);
  int same = have_n == strlen(want) && memcmp(body, want, have_n) == 0;
  const char *update = getenv("KPI_README_UPDATE");
  if (!same && update != NULL && strcmp(update, "1") == 0) {
    FILE *f = fopen(README_PATH, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(doc, 1, (size_t)(body - doc), f);
    fputs(want, f);
    fputs(end, f);
    ck_assert_int_eq(fclose(f), 0);
    same = 1;
  }
  ck_assert_msg(same, "README.md's KPI table differs from sim/kpi.h's catalogue; "
                      "KPI_README_UPDATE=1 meson test -C build kpi rewrites it");
  free(want);
  free(doc);
}
END_TEST

static Suite *kpi_suite(void) {
  Suite *s = suite_create("kpi");
  TCase *tc = tcase_create("check");
  tcase_add_test(tc, catalogue_invariants);
  suite_add_tcase(s, tc);
  tc = tcase_create("value");
  tcase_add_loop_test(tc, value_reads_its_field, 0, 16);
  suite_add_tcase(s, tc);
  tc = tcase_create("json");
  tcase_add_loop_test(tc, json_keys_pinned, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("views");
  tcase_add_test(tc, views_pinned);
  suite_add_tcase(s, tc);
  tc = tcase_create("readme");
  tcase_add_test(tc, readme_table_in_sync);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(kpi_suite()); }
