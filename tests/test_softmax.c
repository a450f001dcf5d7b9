/*
 * Tests of value/softmax: probabilities against exp(s / tau) / sum on hand
 * cases, sums of 1 on random scores, no overflow for huge scores, arg max
 * (first on ties) for tau <= 0; the sampler's frequencies against its
 * probabilities by chi-square at a fixed PCG32 seed, exactly one uniform
 * draw per sample, and determinism for a fixed seed.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "tests/testutil.h"
#include "value/softmax.h"

#define EPS 1e-14

/* --- val_softmax_probs ------------------------------------------------------- */

START_TEST(test_probs_hand) {
  /* exp(s) = 1, 2, 3 at tau 1. */
  double s[3] = {0, log(2), log(3)}, p[3];
  val_softmax_probs(s, 3, 1.0, p);
  ck_assert_double_eq_tol(p[0], 1.0 / 6, EPS);
  ck_assert_double_eq_tol(p[1], 2.0 / 6, EPS);
  ck_assert_double_eq_tol(p[2], 3.0 / 6, EPS);
  /* tau 2 halves the exponents: exp(2 ln 2 / 2) = 2 against 1. */
  double s2[2] = {0, 2 * log(2)}, p2[2];
  val_softmax_probs(s2, 2, 2.0, p2);
  ck_assert_double_eq_tol(p2[0], 1.0 / 3, EPS);
  ck_assert_double_eq_tol(p2[1], 2.0 / 3, EPS);
  /* Equal scores: uniform, whatever tau. */
  double s4[4] = {7, 7, 7, 7}, p4[4];
  val_softmax_probs(s4, 4, 0.01, p4);
  for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(p4[i], 0.25, EPS);
  /* One option: probability 1. */
  double one = -123.0, p1;
  val_softmax_probs(&one, 1, 1.0, &p1);
  ck_assert_double_eq(p1, 1.0);
  /* Against the textbook formula on small scores. */
  double s5[5] = {1.5, -0.25, 3.0, 0.0, 2.2}, p5[5], tau = 0.7, sum = 0;
  val_softmax_probs(s5, 5, tau, p5);
  for (int i = 0; i < 5; i++) sum += exp(s5[i] / tau);
  for (int i = 0; i < 5; i++) ck_assert_double_eq_tol(p5[i], exp(s5[i] / tau) / sum, EPS);
}
END_TEST

START_TEST(test_probs_sum_to_one) {
  pcg32 rng;
  pcg32_seed(&rng, 31337u, (uint64_t)_i);
  for (int round = 0; round < 200; round++) {
    int32_t n = 1 + (int32_t)pcg32_bounded(&rng, 40);
    double s[40], p[40], tau = 0.05 + pcg32_double(&rng) * 5, sum = 0;
    for (int32_t i = 0; i < n; i++) s[i] = (pcg32_double(&rng) - 0.5) * 200;
    val_softmax_probs(s, n, tau, p);
    for (int32_t i = 0; i < n; i++) {
      ck_assert(p[i] >= 0 && p[i] <= 1);
      sum += p[i];
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-12);
  }
}
END_TEST

START_TEST(test_probs_huge) {
  /* exp(1000) overflows a double; shifted by the maximum it never does. */
  double s[3] = {1000, 1001, 999}, t[3] = {0, 1, -1}, p[3], q[3];
  val_softmax_probs(s, 3, 1.0, p);
  val_softmax_probs(t, 3, 1.0, q);
  for (int i = 0; i < 3; i++) {
    ck_assert(isfinite(p[i]));
    ck_assert_double_eq_tol(p[i], q[i], 1e-12);
  }
  /* Scores at the ends of the double range and a tiny tau. */
  double big[3] = {1e308, -1e308, 1e308}, pb[3];
  val_softmax_probs(big, 3, 1e-300, pb);
  ck_assert_double_eq_tol(pb[0], 0.5, EPS);
  ck_assert_double_eq(pb[1], 0.0);
  ck_assert_double_eq_tol(pb[2], 0.5, EPS);
  double neg[2] = {-1e300, -1e300 + 1e285}, pn[2];
  val_softmax_probs(neg, 2, 1e-3, pn);
  ck_assert_double_eq(pn[0], 0.0);
  ck_assert_double_eq(pn[1], 1.0);
}
END_TEST

START_TEST(test_probs_argmax) {
  double s[5] = {1, 4, -2, 4, 3}, p[5];
  const double taus[] = {0.0, -1.0, -0.0};
  for (size_t k = 0; k < sizeof taus / sizeof taus[0]; k++) {
    val_softmax_probs(s, 5, taus[k], p);
    for (int i = 0; i < 5; i++) ck_assert_double_eq(p[i], i == 1 ? 1.0 : 0.0);
  }
  /* NaN tau is not a positive temperature either. */
  val_softmax_probs(s, 5, NAN, p);
  ck_assert_double_eq(p[1], 1.0);
}
END_TEST

/* --- val_softmax_sample ------------------------------------------------------ */

/* 5 options, 200,000 draws: chi-square with 4 degrees of freedom below the
 * 0.1 % critical value 18.47. */
START_TEST(test_sample_chi_square) {
  enum { K = 5, N = 200000 };
  const double s[K] = {0.5, 1.0, -0.3, 2.0, 1.2};
  const double taus[2] = {1.0, 0.6};
  double tau = taus[_i], p[K], scratch[K];
  val_softmax_probs(s, K, tau, p);
  pcg32 rng;
  pcg32_seed(&rng, 20240229u, PCG_STREAM_REPOSITION);
  long count[K] = {0};
  for (int i = 0; i < N; i++) {
    int32_t k = val_softmax_sample(s, K, tau, &rng, scratch);
    ck_assert(k >= 0 && k < K);
    count[k]++;
  }
  double chi = 0;
  for (int k = 0; k < K; k++) {
    double want = N * p[k], d = (double)count[k] - want;
    chi += d * d / want;
  }
  ck_assert_msg(chi < 18.47, "chi-square %g", chi);
}
END_TEST

START_TEST(test_sample_deterministic) {
  const double s[6] = {3, 1, 4, 1, 5, 9};
  double scratch[6];
  pcg32 a, b, c;
  pcg32_seed(&a, 42u, 54u);
  pcg32_seed(&b, 42u, 54u);
  pcg32_seed(&c, 42u, 55u);
  int differ = 0;
  for (int i = 0; i < 1000; i++) {
    int32_t x = val_softmax_sample(s, 6, 2.0, &a, scratch);
    int32_t y = val_softmax_sample(s, 6, 2.0, &b, scratch);
    ck_assert_int_eq(x, y);
    differ += x != val_softmax_sample(s, 6, 2.0, &c, scratch);
  }
  ck_assert_int_gt(differ, 100); /* another stream, other choices */
}
END_TEST

/* One uniform draw per sample, whatever tau: the stream stays in step. */
START_TEST(test_sample_one_draw) {
  const double s[4] = {0.1, 0.2, 0.3, 0.4};
  double scratch[4];
  const double taus[] = {1.0, 0.0, -2.0, 1e-9};
  for (size_t k = 0; k < sizeof taus / sizeof taus[0]; k++) {
    pcg32 rng, ref;
    pcg32_seed(&rng, 7u, 3u);
    pcg32_seed(&ref, 7u, 3u);
    for (int i = 0; i < 10; i++) {
      int32_t got = val_softmax_sample(s, 4, taus[k], &rng, scratch);
      pcg32_double(&ref);
      if (!(taus[k] > 0)) ck_assert_int_eq(got, 3); /* arg max */
    }
    ck_assert(rng.state == ref.state && rng.inc == ref.inc);
  }
  /* The choice is the first index whose cumulative probability exceeds u. */
  pcg32 rng, ref;
  pcg32_seed(&rng, 99u, 1u);
  pcg32_seed(&ref, 99u, 1u);
  double p[4];
  val_softmax_probs(s, 4, 0.5, p);
  for (int i = 0; i < 1000; i++) {
    int32_t got = val_softmax_sample(s, 4, 0.5, &rng, scratch);
    double u = pcg32_double(&ref), acc = 0;
    int32_t want = 3;
    for (int32_t j = 0; j < 4; j++) {
      acc += p[j];
      if (u < acc) {
        want = j;
        break;
      }
    }
    ck_assert_int_eq(got, want);
  }
}
END_TEST

START_TEST(test_sample_edges) {
  pcg32 rng;
  pcg32_seed(&rng, 1u, 1u);
  double scratch[2], s[2] = {1, 2};
  ck_assert_int_eq(val_softmax_sample(s, 0, 1.0, &rng, scratch), -1);
  ck_assert_int_eq(val_softmax_sample(s, -3, 1.0, &rng, scratch), -1);
  /* One option is always chosen; a probability 0 never is. */
  for (int i = 0; i < 100; i++) ck_assert_int_eq(val_softmax_sample(s, 1, 1.0, &rng, scratch), 0);
  double z[2] = {-1e308, 1e308};
  for (int i = 0; i < 1000; i++) ck_assert_int_eq(val_softmax_sample(z, 2, 1.0, &rng, scratch), 1);
}
END_TEST

static Suite *softmax_suite(void) {
  Suite *s = suite_create("softmax");
  TCase *tc = tcase_create("val_softmax_probs");
  tcase_add_test(tc, test_probs_hand);
  tcase_add_loop_test(tc, test_probs_sum_to_one, 0, 4);
  tcase_add_test(tc, test_probs_huge);
  tcase_add_test(tc, test_probs_argmax);
  suite_add_tcase(s, tc);
  tc = tcase_create("val_softmax_sample");
  tcase_add_loop_test(tc, test_sample_chi_square, 0, 2);
  tcase_add_test(tc, test_sample_deterministic);
  tcase_add_test(tc, test_sample_one_draw);
  tcase_add_test(tc, test_sample_edges);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(softmax_suite()); }
