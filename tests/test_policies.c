/*
 * Tests of dispatch/policies' repositioning policies: random-walk sends a
 * driver to a neighbouring cell in service, uniformly among them (chi-square
 * against 1/k), and leaves it where it is when no neighbour is in service;
 * with no flags (NULL) every neighbour of the grid is a choice, as before
 * service areas; stay is inert and moves nobody. The random-walk draws are
 * checked against a reference written here on random service masks.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "city_data/city.h"
#include "dispatch/policy.h"
#include "tests/testutil.h"

#define QUICK_ASSERT(expr, ...)                                              \
  do {                                                                       \
    if (!(expr)) ck_abort_msg("'" #expr "' failed: " __VA_ARGS__);           \
  } while (0)

static city_def city;
static city_grid grid;

/* The neighbours of a cell that exist and are in service (the reference). */
static int neighbours_in_service(int32_t cell, const uint8_t *in, int32_t out[6]) {
  city_hex nb[6];
  city_hex_neighbors(city_grid_hex(&grid, cell), nb);
  int n = 0;
  for (int k = 0; k < 6; k++) {
    int32_t c = city_grid_index(&grid, nb[k]);
    if (c >= 0 && (in == NULL || in[c])) out[n++] = c;
  }
  return n;
}

/* Random masks (a share of the cells in service from 0 to 1), every cell
 * of the grid as a driver's: each destination is a neighbour in service,
 * or -1 exactly when there is none. _i == 3: no mask. */
START_TEST(walk_stays_in_service) {
  pcg32 r;
  pcg32_seed(&r, 50 + (uint64_t)_i, 1);
  disp_options o = {2000, 32, 3};
  disp_repolicy p;
  rs_err e;
  ck_assert_int_eq(disp_repolicy_new("random-walk", &o, &p, &e), 0);
  ck_assert_int_eq(p.inert, 0);
  int32_t n = grid.n_cells;
  uint8_t *in = malloc((size_t)n);
  disp_driver *drivers = calloc((size_t)n, sizeof *drivers);
  int32_t *eligible = malloc((size_t)n * sizeof *eligible), *dest = malloc((size_t)n * sizeof *dest);
  ck_assert(in && drivers && eligible && dest);
  double share = _i / 3.0;
  for (int32_t c = 0; c < n; c++) in[c] = pcg32_double(&r) < share;
  for (int32_t d = 0; d < n; d++) {
    city_grid_center(&grid, city_grid_hex(&grid, d), &drivers[d].lat, &drivers[d].lng);
    drivers[d].cell = d;
    drivers[d].state = DISP_IDLE;
    eligible[d] = d;
  }
  pcg32 rng;
  pcg32_stream(&rng, 9, PCG_STREAM_REPOSITION);
  disp_repo rep = {.now = 1454313600, .city = &city, .grid = &grid, .drivers = drivers,
                   .n_eligible = n, .eligible = eligible, .in_service = _i == 3 ? NULL : in,
                   .rng = &rng, .dest_cell = dest};
  int64_t moved = 0;
  for (int round = 0; round < 20; round++) {
    ck_assert_int_eq(p.reposition(p.ctx, &rep, &e), 0);
    for (int32_t d = 0; d < n; d++) {
      int32_t ok[6];
      int k = neighbours_in_service(d, rep.in_service, ok), found = 0;
      for (int j = 0; j < k; j++) found |= ok[j] == dest[d];
      QUICK_ASSERT(k == 0 ? dest[d] == -1 : found, "cell %d (%d neighbours in service) sent to %d",
                   d, k, dest[d]);
      moved += dest[d] >= 0;
    }
  }
  if (_i == 0) ck_assert_int_eq(moved, 0); /* nothing in service: nobody moves */
  else ck_assert_int_gt(moved, 0);
  free(in);
  free(drivers);
  free(eligible);
  free(dest);
  disp_repolicy_destroy(&p);
}
END_TEST

/* One driver, many rounds: its destinations are uniform over its
 * neighbours in service. */
START_TEST(walk_uniform) {
  disp_options o = {2000, 32, 3};
  disp_repolicy p;
  rs_err e;
  ck_assert_int_eq(disp_repolicy_new("random-walk", &o, &p, &e), 0);
  uint8_t *in = malloc((size_t)grid.n_cells);
  ck_assert_ptr_nonnull(in);
  memset(in, 1, (size_t)grid.n_cells);
  int32_t cell = grid.n_cells / 2, nb[6];
  city_hex h[6];
  city_hex_neighbors(city_grid_hex(&grid, cell), h);
  in[city_grid_index(&grid, h[1])] = 0; /* two of the six out */
  in[city_grid_index(&grid, h[4])] = 0;
  int k = neighbours_in_service(cell, in, nb);
  ck_assert_int_eq(k, 4);
  disp_driver dv = {.cell = cell, .state = DISP_IDLE};
  city_grid_center(&grid, city_grid_hex(&grid, cell), &dv.lat, &dv.lng);
  int32_t eligible = 0, dest = -2;
  pcg32 rng;
  pcg32_stream(&rng, 3, PCG_STREAM_REPOSITION);
  disp_repo rep = {.city = &city, .grid = &grid, .drivers = &dv, .n_eligible = 1,
                   .eligible = &eligible, .in_service = in, .rng = &rng, .dest_cell = &dest};
  long count[6] = {0};
  const long rounds = 40000;
  for (long i = 0; i < rounds; i++) {
    ck_assert_int_eq(p.reposition(p.ctx, &rep, &e), 0);
    int j = 0;
    while (j < k && nb[j] != dest) j++;
    QUICK_ASSERT(j < k, "sent to %d", dest);
    count[j]++;
  }
  double chi2 = 0, ex = (double)rounds / k;
  for (int j = 0; j < k; j++) chi2 += (count[j] - ex) * (count[j] - ex) / ex;
  ck_assert_msg(chi2 < 16.27, "chi-square %.2f over %d neighbours (0.999 quantile, 3 df: 16.27)",
                chi2, k);
  free(in);
  disp_repolicy_destroy(&p);
}
END_TEST

START_TEST(stay_is_inert) {
  disp_options o = {2000, 32, 3};
  disp_repolicy p;
  rs_err e;
  ck_assert_int_eq(disp_repolicy_new("stay", &o, &p, &e), 0);
  ck_assert_int_eq(p.inert, 1);
  int32_t eligible = 0, dest = -1;
  disp_driver dv = {.cell = 0, .state = DISP_IDLE};
  disp_repo rep = {.grid = &grid, .drivers = &dv, .n_eligible = 1, .eligible = &eligible,
                   .dest_cell = &dest};
  ck_assert_int_eq(p.reposition(p.ctx, &rep, &e), 0);
  ck_assert_int_eq(dest, -1);
  disp_repolicy_destroy(&p);
}
END_TEST

static Suite *policies_suite(void) {
  Suite *s = suite_create("policies");
  TCase *tc = tcase_create("disp_repolicy");
  tcase_add_loop_test(tc, walk_stays_in_service, 0, 4);
  tcase_add_test(tc, walk_uniform);
  tcase_add_test(tc, stay_is_inert);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  rs_err e;
  if (city_def_builtin("synthetic", &city, &e) != 0 || city_def_grid(&city, &grid, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    return EXIT_FAILURE;
  }
  return test_run_suite(policies_suite());
}
