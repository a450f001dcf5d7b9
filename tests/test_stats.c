/*
 * Tests of run/stats: the t quantile against the printed table and the
 * normal limit, intervals of small samples computed by hand, paired
 * differences, and the handling of empty, single and non-finite samples.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "run/stats.h"

START_TEST(test_t975_table) {
  ck_assert_double_eq_tol(run_stat_t975(1), 12.706205, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(2), 4.302653, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(4), 2.776445, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(10), 2.228139, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(30), 2.042272, 1e-6);
}
END_TEST

/* Beyond the table: values of the t quantile from numerical integration of
 * the density, and the normal limit. */
START_TEST(test_t975_tail) {
  ck_assert_double_eq_tol(run_stat_t975(31), 2.039513, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(40), 2.021075, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(60), 2.000298, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(100), 1.983972, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(0), 1.959964, 1e-6);
  ck_assert_double_eq_tol(run_stat_t975(1000000), 1.9599664, 1e-7); /* z + (z^3 + z) / 4e6 */
  ck_assert(isnan(run_stat_t975(-1)));
  /* decreasing in df across the table's edge */
  for (long d = 1; d < 200; d++) ck_assert(run_stat_t975(d + 1) < run_stat_t975(d));
}
END_TEST

/* {1, 2, 3, 4, 5}: mean 3, sd sqrt(2.5), half-width t_{.975,4} sd / sqrt 5
 * = 2.776445 x 0.7071068 = 1.963243. */
START_TEST(test_stat_of_five) {
  const double a[] = {1, 2, 3, 4, 5};
  run_stat s;
  run_stat_of(a, 5, &s);
  ck_assert_uint_eq(s.n, 5);
  ck_assert_double_eq_tol(s.mean, 3.0, 1e-12);
  ck_assert_double_eq_tol(s.sd, 1.5811388, 1e-7);
  ck_assert_double_eq_tol(s.half, 1.963243, 1e-6);
  ck_assert_double_eq_tol(s.lo, 1.036757, 1e-6);
  ck_assert_double_eq_tol(s.hi, 4.963243, 1e-6);
}
END_TEST

START_TEST(test_stat_of_degenerate) {
  run_stat s;
  run_stat_of(NULL, 0, &s);
  ck_assert_uint_eq(s.n, 0);
  ck_assert(isnan(s.mean) && isnan(s.half));
  const double one[] = {7.5};
  run_stat_of(one, 1, &s);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_double_eq(s.mean, 7.5);
  ck_assert(isnan(s.sd) && isnan(s.lo) && isnan(s.hi));
  /* non-finite values are left out: {2, NaN, 4, inf} is {2, 4} */
  const double some[] = {2, NAN, 4, INFINITY};
  run_stat_of(some, 4, &s);
  ck_assert_uint_eq(s.n, 2);
  ck_assert_double_eq_tol(s.mean, 3.0, 1e-12);
  ck_assert_double_eq_tol(s.half, 12.706205 * sqrt(2.0) / sqrt(2.0), 1e-6);
  /* constant samples: zero width */
  const double same[] = {4, 4, 4};
  run_stat_of(same, 3, &s);
  ck_assert_double_eq(s.half, 0.0);
}
END_TEST

/* b - a = {1, 2, 2}: mean 5/3, sd sqrt(1/3), half t_{.975,2} / sqrt 3 x
 * sqrt(1/3) = 4.302653 / 3 = 1.434218. */
START_TEST(test_paired) {
  const double a[] = {1, 2, 3}, b[] = {2, 4, 5};
  run_stat s;
  run_stat_paired(a, b, 3, &s);
  ck_assert_uint_eq(s.n, 3);
  ck_assert_double_eq_tol(s.mean, 5.0 / 3.0, 1e-12);
  ck_assert_double_eq_tol(s.sd, sqrt(1.0 / 3.0), 1e-12);
  ck_assert_double_eq_tol(s.half, 1.434218, 1e-6);
  /* pairing removes the shared level: the unpaired interval is far wider */
  run_stat ua, ub;
  run_stat_of(a, 3, &ua);
  run_stat_of(b, 3, &ub);
  ck_assert(s.half < ub.half);
  /* a pair with a missing side is dropped as a whole */
  const double a2[] = {1, NAN, 3}, b2[] = {2, 4, 5};
  run_stat_paired(a2, b2, 3, &s);
  ck_assert_uint_eq(s.n, 2);
  ck_assert_double_eq_tol(s.mean, 1.5, 1e-12);
}
END_TEST

START_TEST(test_rel_pct) {
  ck_assert_double_eq_tol(run_stat_rel_pct(5, 200), 2.5, 1e-12);
  ck_assert_double_eq_tol(run_stat_rel_pct(-5, 200), -2.5, 1e-12);
  ck_assert_double_eq_tol(run_stat_rel_pct(5, -200), 2.5, 1e-12);
  ck_assert(isnan(run_stat_rel_pct(1, 0)));
  ck_assert(isnan(run_stat_rel_pct(1, NAN)));
  ck_assert(isnan(run_stat_rel_pct(NAN, 1)));
}
END_TEST

static Suite *stats_suite(void) {
  Suite *s = suite_create("stats");
  TCase *tc = tcase_create("run_stat_t975");
  tcase_add_test(tc, test_t975_table);
  tcase_add_test(tc, test_t975_tail);
  suite_add_tcase(s, tc);
  tc = tcase_create("run_stat_of");
  tcase_add_test(tc, test_stat_of_five);
  tcase_add_test(tc, test_stat_of_degenerate);
  suite_add_tcase(s, tc);
  tc = tcase_create("run_stat_paired");
  tcase_add_test(tc, test_paired);
  suite_add_tcase(s, tc);
  tc = tcase_create("run_stat_rel_pct");
  tcase_add_test(tc, test_rel_pct);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(stats_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
