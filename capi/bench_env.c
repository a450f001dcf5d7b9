/*
 * bench_env: drives one episode through the C API with a fixed policy and
 * prints what it took, the reference for the Python binding's overhead
 * (python/bench.py runs the same episode from Python: the difference per
 * step is the binding's).
 *
 *   bench_env SCENARIO.json POLICY [OPTIONS_JSON]
 *
 * POLICY: "zeros" (every edge scores 0, solved serving first: a policy that
 * does no work), "distance" (minus the pickup distance: batch-distance's
 * run), "nearest" (the nearest free candidate of each row). Prints one JSON
 * line: steps, wall and CPU seconds (reset to done), J, G.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi/ridesim.h"

/* Seconds on the clock `id`: CLOCK_MONOTONIC (wall) or
 * CLOCK_PROCESS_CPUTIME_ID (this process's CPU time, which a loaded
 * machine's waiting for a core does not inflate). */
static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s != NULL) s[n] = '\0';
  fclose(f);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_env SCENARIO.json zeros|distance|nearest [OPTIONS_JSON]\n");
    return 2;
  }
  char *scenario = slurp(argv[1]);
  if (scenario == NULL) {
    fprintf(stderr, "bench_env: cannot read %s\n", argv[1]);
    return 1;
  }
  const char *policy = argv[2];
  char err[512];
  ridesim_env *env;
  if (ridesim_env_new(scenario, argc > 3 ? argv[3] : NULL, &env, err, sizeof err) != 0) {
    fprintf(stderr, "bench_env: %s\n", err);
    free(scenario);
    return 1;
  }
  free(scenario);
  const ridesim_state *st = ridesim_env_state(env);
  double *w = NULL;
  int32_t *ch = NULL, *used = calloc(1, 1);
  size_t cap_w = 0, cap_ch = 0;
  int rc = 0, k;
  int64_t steps = 0;
  double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  if ((rc = ridesim_env_reset(env, 0, 0)) != 0) goto fail;
  free(used);
  used = calloc((size_t)st->n_drivers, sizeof *used);
  while ((k = ridesim_env_advance(env)) == RIDESIM_DISPATCH) {
    steps++;
    ridesim_array d, rp, ed;
    ridesim_env_array(env, RIDESIM_A_EDGE_DIST, &d);
    if (strcmp(policy, "nearest") == 0) {
      ridesim_env_array(env, RIDESIM_A_ROW_PTR, &rp);
      ridesim_env_array(env, RIDESIM_A_EDGE_DRIVER, &ed);
      if ((size_t)st->n_rows > cap_ch) {
        cap_ch = (size_t)st->n_rows * 2;
        ch = realloc(ch, cap_ch * sizeof *ch);
      }
      const int32_t *ptr = rp.data, *drv = ed.data;
      for (int32_t r = 0; r < st->n_rows; r++) {
        ch[r] = -1;
        for (int32_t e = ptr[r]; e < ptr[r + 1]; e++)
          if (used[drv[e]] != (int32_t)steps) {
            used[drv[e]] = (int32_t)steps;
            ch[r] = e - ptr[r];
            break;
          }
      }
      rc = ridesim_env_answer_choices(env, ch, st->n_rows);
    } else {
      if ((size_t)d.n > cap_w) {
        cap_w = (size_t)d.n * 2;
        w = realloc(w, cap_w * sizeof *w);
      }
      const double *dist = d.data;
      int zeros = strcmp(policy, "zeros") == 0;
      for (int64_t i = 0; i < d.n; i++) w[i] = zeros ? 0.0 : -dist[i];
      rc = ridesim_env_answer_scores(env, w, d.n, RIDESIM_SERVE_FIRST);
    }
    if (rc) goto fail;
  }
  if (k < 0) {
    rc = k;
    goto fail;
  }
  double wall = clock_s(CLOCK_MONOTONIC) - t0;
  double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  int n = ridesim_kpi_count();
  double kp[64];
  ridesim_env_kpis(env, kp, n < 64 ? n : 64);
  double j = 0, g = 0;
  for (int i = 0; i < n && i < 64; i++) {
    if (strcmp(ridesim_kpi_name(i), "income") == 0) j = kp[i];
    if (strcmp(ridesim_kpi_name(i), "income_per_hour") == 0) g = kp[i];
  }
  printf("{\"steps\": %lld, \"wall_s\": %.6f, \"cpu_s\": %.6f, \"J\": %.17g, \"G\": %.17g}\n",
         (long long)steps, wall, cpu, j, g);
  free(w);
  free(ch);
  free(used);
  ridesim_env_free(env);
  return 0;
fail:
  fprintf(stderr, "bench_env: %s: %s\n", ridesim_status_name(rc), ridesim_env_error(env));
  free(w);
  free(ch);
  free(used);
  ridesim_env_free(env);
  return 1;
}
