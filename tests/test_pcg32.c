/*
 * Tests of base/pcg32: the published reference outputs, stream independence,
 * unbiased bounded draws, doubles in [0, 1), and jump-ahead against stepping.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "base/pcg32.h"

/* pcg32-demo from the PCG reference distribution: pcg32_srandom_r(&rng, 42u,
 * 54u), first six outputs of pcg32_random_r. */
START_TEST(test_reference_outputs) {
  static const uint32_t want[] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                  0x83d2f293, 0xbfa4784b, 0xcbed606e};
  pcg32 rng;
  pcg32_seed(&rng, 42u, 54u);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_uint_eq(pcg32_next(&rng), want[i]);
}
END_TEST

/* The demo's second round continues: these are the next outputs after the
 * first six, and the bounded "coin flips" / "rolls" use pcg32_boundedrand_r. */
START_TEST(test_reference_bounded) {
  pcg32 rng;
  pcg32_seed(&rng, 42u, 54u);
  for (int i = 0; i < 6; i++) pcg32_next(&rng);
  /* Demo: "Coins: HHTTTHTHHHTHTTTHHHHHTTTHHHTHTHTHTTHTTTHHHHHHTTTTHHTTTTTHTTTTTTTHT" */
  static const char coins[] =
      "HHTTTHTHHHTHTTTHHHHHTTTHHHTHTHTHTTHTTTHHHHHHTTTTHHTTTTTHTTTTTTTHT";
  for (size_t i = 0; coins[i]; i++)
    ck_assert_int_eq(pcg32_bounded(&rng, 2) ? 'H' : 'T', coins[i]);
  /* Demo: "Rolls: 3 4 1 1 2 2 3 2 4 3 2 4 3 3 5 2 3 1 3 1 5 1 4 1 5 6 4 6 6 2 6 3 3" */
  static const int rolls[] = {3, 4, 1, 1, 2, 2, 3, 2, 4, 3, 2, 4, 3, 3, 5, 2, 3,
                              1, 3, 1, 5, 1, 4, 1, 5, 6, 4, 6, 6, 2, 6, 3, 3};
  for (size_t i = 0; i < sizeof rolls / sizeof rolls[0]; i++)
    ck_assert_int_eq((int)pcg32_bounded(&rng, 6) + 1, rolls[i]);
}
END_TEST

START_TEST(test_streams_differ) {
  pcg32 a, b, c;
  pcg32_stream(&a, 7, PCG_STREAM_CANCEL);
  pcg32_stream(&b, 7, PCG_STREAM_IDLE);
  pcg32_stream(&c, 7, PCG_STREAM_CANCEL);
  int same_ab = 0;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = pcg32_next(&a), y = pcg32_next(&b), z = pcg32_next(&c);
    same_ab += x == y;
    ck_assert_uint_eq(x, z);
  }
  ck_assert_int_lt(same_ab, 3);
}
END_TEST

/* Bounded draws hit every value with frequencies consistent with uniform
 * (chi-square, 9 degrees of freedom, 0.1 % critical value 27.88), including a
 * bound just above 2^31 where a biased modulo would put 2/3 of draws below
 * 2^31 - 1. */
START_TEST(test_bounded_uniform) {
  pcg32 rng;
  pcg32_seed(&rng, 2024u, 1u);
  enum { K = 10, N = 100000 };
  long count[K] = {0};
  for (int i = 0; i < N; i++) {
    uint32_t v = pcg32_bounded(&rng, K);
    ck_assert_uint_lt(v, K);
    count[v]++;
  }
  double chi = 0;
  for (int k = 0; k < K; k++) {
    double d = (double)count[k] - N / (double)K;
    chi += d * d / (N / (double)K);
  }
  ck_assert_double_lt(chi, 27.88);

  uint32_t big = 0x80000001u, below = 0;
  for (int i = 0; i < 20000; i++) below += pcg32_bounded(&rng, big) < big / 2;
  ck_assert_uint_gt(below, 9500);
  ck_assert_uint_lt(below, 10500);
  ck_assert_uint_eq(pcg32_bounded(&rng, 0), 0);
  ck_assert_uint_eq(pcg32_bounded(&rng, 1), 0);
}
END_TEST

START_TEST(test_double_range) {
  pcg32 rng;
  pcg32_seed(&rng, 1u, 2u);
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    double d = pcg32_double(&rng);
    ck_assert(d >= 0.0 && d < 1.0);
    sum += d;
  }
  ck_assert_double_eq_tol(sum / 100000, 0.5, 0.005);
}
END_TEST

/* advance(k) equals k steps, for many k, and advance(-k) undoes them. */
START_TEST(test_advance) {
  pcg32 a, b;
  pcg32_seed(&a, 99u, (uint64_t)_i);
  for (uint64_t k = 0; k < 300; k += 1 + k / 7) {
    b = a;
    pcg32 c = a;
    for (uint64_t s = 0; s < k; s++) pcg32_next(&b);
    pcg32_advance(&c, k);
    ck_assert_uint_eq(b.state, c.state);
    ck_assert_uint_eq(pcg32_next(&b), pcg32_next(&c));
    pcg32_advance(&c, (uint64_t)0 - (k + 1));
    ck_assert_uint_eq(c.state, a.state);
  }
}
END_TEST

static Suite *pcg32_suite(void) {
  Suite *s = suite_create("pcg32");
  TCase *tc = tcase_create("pcg32_next");
  tcase_add_test(tc, test_reference_outputs);
  tcase_add_test(tc, test_streams_differ);
  suite_add_tcase(s, tc);
  tc = tcase_create("pcg32_bounded");
  tcase_add_test(tc, test_reference_bounded);
  tcase_add_test(tc, test_bounded_uniform);
  suite_add_tcase(s, tc);
  tc = tcase_create("pcg32_double");
  tcase_add_test(tc, test_double_range);
  suite_add_tcase(s, tc);
  tc = tcase_create("pcg32_advance");
  tcase_add_loop_test(tc, test_advance, 0, 8);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pcg32_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
