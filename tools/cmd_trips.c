/*
 * ridesim trips: what a trip store holds.
 *
 * Prints the city, the number of trips and their request-time range, the
 * number of local days (each with its trip count under --days), every import
 * with its counts, and the rejects grouped by reason. --json prints the same
 * as one JSON object (built with cJSON) for scripts.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/tripstore.h"
#include "tools/cli.h"

#define USAGE "ridesim trips DB [--days] [--json]"

/* Where the listings go: text to stdout, or arrays of a JSON document. */
typedef struct {
  cJSON *array; /* NULL: print text */
} sink;

static int on_import(void *ctx, int64_t id, const char *source,
                     const char *format, const char *city,
                     const char *import_time, int64_t accepted,
                     int64_t rejected) {
  sink *k = ctx;
  if (k->array == NULL) {
    printf("  #%lld %s (%s, %s) accepted %lld, rejected %lld\n", (long long)id,
           source, format, import_time, (long long)accepted,
           (long long)rejected);
    return 0;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)id);
  cJSON_AddStringToObject(o, "source_file", source);
  cJSON_AddStringToObject(o, "format", format);
  cJSON_AddStringToObject(o, "city", city);
  cJSON_AddStringToObject(o, "import_time", import_time);
  cJSON_AddNumberToObject(o, "rows_accepted", (double)accepted);
  cJSON_AddNumberToObject(o, "rows_rejected", (double)rejected);
  cJSON_AddItemToArray(k->array, o);
  return 0;
}

static int on_reason(void *ctx, const char *reason, int64_t day, int64_t n) {
  sink *k = ctx;
  (void)day;
  if (k->array == NULL) {
    printf("  %8lld  %s\n", (long long)n, reason);
    return 0;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "reason", reason);
  cJSON_AddNumberToObject(o, "count", (double)n);
  cJSON_AddItemToArray(k->array, o);
  return 0;
}

static int on_day(void *ctx, const char *key, int64_t day, int64_t n) {
  sink *k = ctx;
  (void)key;
  char buf[32];
  cli_format_time(day, buf, sizeof buf);
  buf[10] = '\0'; /* the date part */
  if (k->array == NULL) {
    printf("  %s  %lld\n", buf, (long long)n);
    return 0;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "day", buf);
  cJSON_AddNumberToObject(o, "trips", (double)n);
  cJSON_AddItemToArray(k->array, o);
  return 0;
}

int cmd_trips(int argc, char **argv) {
  const char *cmd = argv[0], *db = NULL;
  int days = 0, json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s\n\nSummarises a trip store: city, trips, request-time"
             " range, days (with\ntheir trip counts under --days), imports and"
             " rejects by reason.\n--json prints one JSON object.\n", USAGE);
      return 0;
    } else if (strcmp(argv[i], "--days") == 0) {
      days = 1;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage_error(cmd, USAGE, "unknown option '%s'", argv[i]);
    } else if (db == NULL) {
      db = argv[i];
    } else {
      return cli_usage_error(cmd, USAGE, "one store at a time ('%s')", argv[i]);
    }
  }
  if (db == NULL) return cli_usage_error(cmd, USAGE, "no trip store given");

  rs_err err = {0};
  city_store *st = NULL;
  if (city_store_open(db, CITY_STORE_READ, NULL, &st, &err)) {
    cli_error(cmd, "%s", err.msg);
    return 1;
  }
  city_store_summary s;
  int rc = city_store_summarize(st, &s, &err);
  char first[32] = "-", last[32] = "-";
  if (s.n_trips > 0) {
    cli_format_time(s.t_first, first, sizeof first);
    cli_format_time(s.t_last, last, sizeof last);
  }
  cJSON *root = NULL;
  sink imports = {0}, reasons = {0}, day_list = {0};
  if (rc == 0 && json) {
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "store", db);
    cJSON_AddStringToObject(root, "city", city_store_city(st));
    cJSON_AddNumberToObject(root, "trips", (double)s.n_trips);
    cJSON_AddStringToObject(root, "first_request", first);
    cJSON_AddStringToObject(root, "last_request", last);
    cJSON_AddNumberToObject(root, "n_days", (double)s.n_days);
    cJSON_AddNumberToObject(root, "n_imports", (double)s.n_imports);
    cJSON_AddNumberToObject(root, "n_rejects", (double)s.n_rejects);
    imports.array = cJSON_AddArrayToObject(root, "imports");
    reasons.array = cJSON_AddArrayToObject(root, "rejects_by_reason");
    if (days) day_list.array = cJSON_AddArrayToObject(root, "days");
  } else if (rc == 0) {
    printf("store:    %s\ncity:     %s\ntrips:    %lld\nrequests: %s .. %s"
           " (local time)\ndays:     %lld\n", db,
           city_store_city(st)[0] ? city_store_city(st) : "(none)",
           (long long)s.n_trips, first, last, (long long)s.n_days);
  }
  if (rc == 0 && days) {
    if (!json) printf("trips by day:\n");
    rc = city_store_each_day(st, on_day, &day_list, &err);
  }
  if (rc == 0) {
    if (!json) printf("imports:  %lld\n", (long long)s.n_imports);
    rc = city_store_each_import(st, on_import, &imports, &err);
  }
  if (rc == 0) {
    if (!json) printf("rejects:  %lld\n", (long long)s.n_rejects);
    rc = city_store_each_reason(st, on_reason, &reasons, &err);
  }
  if (rc == 0 && json) {
    char *text = cJSON_Print(root);
    if (text == NULL) {
      cli_error(cmd, "out of memory");
      rc = -1;
    } else {
      printf("%s\n", text);
      free(text);
    }
  } else if (rc) {
    cli_error(cmd, "%s", err.msg);
  }
  cJSON_Delete(root);
  city_store_close(st);
  return rc == 0 ? 0 : 1;
}
