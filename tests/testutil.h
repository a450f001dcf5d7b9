/*
 * testutil: what the Check suites share.
 *
 * Real data: tests that read ../shared/city_data find it through the
 * RIDESIM_DATA environment variable. When it is unset they skip (exit 77,
 * meson's skip code), unless RIDESIM_REQUIRE_DATA=1, as CI sets, in which
 * case the missing data is a failure: CI never skips them silently.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_SKIP 77

/* The data folder, or NULL when unset (the caller then skips). Exits the
 * test program with failure when RIDESIM_REQUIRE_DATA=1 and it is missing.
 * Without RIDESIM_DATA, the build's default (../shared/city_data beside the
 * checkout, passed by meson as RIDESIM_DATA_DEFAULT) is tried. */
static inline const char *test_data_dir(void) {
  const char *d = getenv("RIDESIM_DATA");
  if (d == NULL || *d == '\0') d = getenv("RIDESIM_DATA_DEFAULT");
  const char *req = getenv("RIDESIM_REQUIRE_DATA");
  int required = req != NULL && strcmp(req, "1") == 0;
  if (d == NULL || *d == '\0' || access(d, R_OK) != 0) {
    if (required) {
      fprintf(stderr, "RIDESIM_DATA (%s) is missing but RIDESIM_REQUIRE_DATA=1\n",
              d ? d : "unset");
      exit(EXIT_FAILURE);
    }
    return NULL;
  }
  return d;
}

/* Why test_data_dir() found no data, for a skip message: "RIDESIM_DATA
 * unset", or the folder named and said to be missing. */
static inline const char *test_data_missing(char *buf, size_t size) {
  const char *d = getenv("RIDESIM_DATA");
  if (d == NULL || *d == '\0') d = getenv("RIDESIM_DATA_DEFAULT");
  if (d == NULL || *d == '\0') snprintf(buf, size, "RIDESIM_DATA unset");
  else snprintf(buf, size, "RIDESIM_DATA %s is not a readable folder", d);
  return buf;
}

/* Joins the data folder and a relative path into buf. */
static inline const char *test_data_path(char *buf, size_t size,
                                         const char *rel) {
  const char *d = test_data_dir();
  if (d == NULL) return NULL;
  snprintf(buf, size, "%s/%s", d, rel);
  return buf;
}

/* A fresh temporary directory for a test's files (mkdtemp under TMPDIR). */
static inline const char *test_tmpdir(char *buf, size_t size) {
  const char *t = getenv("TMPDIR");
  snprintf(buf, size, "%s/ridesim-test-XXXXXX", t && *t ? t : "/tmp");
  return mkdtemp(buf);
}

/* Runs a suite and returns the process exit status. */
static inline int test_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
