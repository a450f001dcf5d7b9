/*
 * fuzz_scenario: the scenario reader (sim/scenario) on arbitrary text.
 *
 * For every input: sim_scenario_parse onto the defaults either succeeds or
 * fails with a one-line message and the scenario untouched (byte for byte,
 * as its header promises). Whatever it parsed goes through
 * sim_scenario_validate; a valid scenario is printed with
 * sim_scenario_to_json, and that text must parse back onto fresh defaults,
 * validate again and print the very same text (the results DB stores this
 * text so that a run can be repeated from its row alone).
 *
 * Links sim/scenario.c, sim/rs_error.c and cJSON; see tools/fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_error.h"
#include "sim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 16)) return 0;
  char *json = malloc(size + 1);
  if (json == NULL) return 0;
  memcpy(json, data, size);
  json[size] = '\0';

  static sim_scenario s, before, back;  /* large (paths): keep off the stack */
  rs_err e;
  rs_err_clear(&e);
  sim_scenario_defaults(&s);
  memcpy(&before, &s, sizeof s);
  int rc = sim_scenario_parse(&s, json, "fuzz.json", &e);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
    FUZZ_CHECK(memcmp(&s, &before, sizeof s) == 0);
    free(json);
    return 0;
  }
  /* Strings stay terminated within their arrays. */
  FUZZ_CHECK(memchr(s.city, '\0', sizeof s.city) != NULL);
  FUZZ_CHECK(memchr(s.trips, '\0', sizeof s.trips) != NULL);
  FUZZ_CHECK(memchr(s.out, '\0', sizeof s.out) != NULL);
  FUZZ_CHECK(memchr(s.dispatch, '\0', sizeof s.dispatch) != NULL);
  FUZZ_CHECK(memchr(s.reposition, '\0', sizeof s.reposition) != NULL);
  for (int i = 0; i < DISP_OPTVALS_STR_MAX; i++)
    FUZZ_CHECK(memchr(s.policies.str[i], '\0', sizeof s.policies.str[i]) != NULL);
  FUZZ_CHECK(s.n_cancel >= 0 && s.n_cancel <= SIM_CANCEL_POINTS_MAX);
  rs_err_clear(&e);
  if (sim_scenario_validate(&s, &e) != 0) {
    FUZZ_CHECK(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
    free(json);
    return 0;
  }
  /* A valid cancellation table gives a probability at any distance (the
   * parser alone does not check ranges: validation does). */
  static const double at_m[] = {-1, 0, 1, 150, 999.5, 2000, 1e5, 1e9};
  for (size_t i = 0; i < sizeof at_m / sizeof at_m[0]; i++) {
    double p = sim_scenario_cancel_p(&s, at_m[i]);
    FUZZ_CHECK(p >= 0 && p <= 1);
  }
  char *j1 = sim_scenario_to_json(&s);
  if (j1 == NULL) { /* out of memory only */
    free(json);
    return 0;
  }
  sim_scenario_defaults(&back);
  rs_err_clear(&e);
  if (sim_scenario_parse(&back, j1, "round-trip", &e) != 0) {
    fprintf(stderr, "round trip refused: %s\n--- printed:\n%s\n", e.msg, j1);
    abort();
  }
  if (sim_scenario_validate(&back, &e) != 0) {
    fprintf(stderr, "round trip invalid: %s\n--- printed:\n%s\n", e.msg, j1);
    abort();
  }
  char *j2 = sim_scenario_to_json(&back);
  if (j2 != NULL && strcmp(j1, j2) != 0) {
    fprintf(stderr, "round trip differs\n--- first:\n%s\n--- second:\n%s\n", j1, j2);
    abort();
  }
  free(j2);
  free(j1);
  free(json);
  return 0;
}
