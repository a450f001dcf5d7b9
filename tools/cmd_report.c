/*
 * ridesim report: the HTML report of the runs in a results DB (run/report.h).
 *
 * Without --run-ids it shows the experiment of the most recent run: the
 * runs whose scenarios differ only in seed and policies, as one `ridesim
 * compare` writes them.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sim/results.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "run/report.h"

#define REPORT_USAGE \
  "ridesim report RESULTS.db --out DIR [--runs all|completed] [--run-ids A-B] [--value FILE]"

static void report_help(void) {
  printf("usage: %s\n\n", REPORT_USAGE);
  printf(
      "Writes DIR/index.html, a self-contained page (inline CSS and SVG, no scripts,\n"
      "opens offline) comparing the policies of the runs in a results DB: KPIs with 95 %%\n"
      "intervals over seeds, answer rate and income through the day, the pickup\n"
      "distance distribution and a hex map of unserved demand.\n\n"
      "  --out DIR          directory of the page (created if missing)\n"
      "  --runs WHICH       completed (default) or all (interrupted runs too)\n"
      "  --run-ids A-B      these runs (default: the experiment of the latest run)\n"
      "  --value FILE       also map a value table from 'ridesim train'\n"
      "  --help             this text\n");
}

enum { OPT_OUT = 256, OPT_RUNS, OPT_IDS, OPT_VALUE, OPT_HELP };

static const struct option REPORT_OPTS[] = {
  {"out", required_argument, NULL, OPT_OUT},
  {"runs", required_argument, NULL, OPT_RUNS},
  {"run-ids", required_argument, NULL, OPT_IDS},
  {"value", required_argument, NULL, OPT_VALUE},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

#define BAD(...) cli_usage_error("report", REPORT_USAGE, __VA_ARGS__)

/* Counts finished runs and their id range. */
typedef struct {
  int64_t *n, *first, *last;
} count_ctx;

static int count_run(void *arg, const sim_results_run *run, rs_err *e) {
  (void)e;
  count_ctx *c = arg;
  if (*c->n == 0) *c->first = run->id;
  *c->last = run->id;
  (*c->n)++;
  return 0;
}

int cmd_report(int argc, char **argv) {
  const char *out = NULL, *db = NULL;
  run_report_opts o = {0, 0, 0, NULL, RIDESIM_VERSION};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", REPORT_OPTS, NULL)) != -1) {
    switch (c) {
    case OPT_OUT: out = optarg; break;
    case OPT_RUNS:
      if (strcmp(optarg, "all") == 0) o.all_runs = 1;
      else if (strcmp(optarg, "completed") == 0) o.all_runs = 0;
      else return BAD("--runs: expected all or completed, got '%s'", optarg);
      break;
    case OPT_IDS: {
      char buf[64];
      snprintf(buf, sizeof buf, "%s", optarg);
      char *dash = strchr(buf, '-');
      if (dash) *dash = '\0';
      if (cli_parse_i64(buf, &o.run_min) || o.run_min < 1 ||
          (dash ? cli_parse_i64(dash + 1, &o.run_max) : (o.run_max = o.run_min, 0)) ||
          o.run_max < o.run_min)
        return BAD("--run-ids: expected A-B with 1 <= A <= B, got '%s'", optarg);
      break;
    }
    case OPT_VALUE: o.value_path = optarg; break;
    case OPT_HELP: report_help(); return 0;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) db = argv[optind++];
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (db == NULL) return BAD("the results DB is required");
  if (out == NULL) return BAD("--out DIR is required");
  rs_err e;
  rs_err_clear(&e);
  int n = 0;
  if (run_report_write(db, out, &o, &n, &e) != 0) {
    cli_error("report", "%s", e.msg);
    return 1;
  }
  printf("report: %d run%s from %s -> %s/index.html\n", n, n == 1 ? "" : "s", db, out);
  /* the default is the latest run's experiment: say what it left out */
  sim_results *r = NULL;
  int64_t total = 0, first = 0, last = 0;
  if (o.run_min == 0 && sim_results_open_read(db, &r, &e) == 0) {
    count_ctx cc = {&total, &first, &last};
    if (sim_results_read_runs(r, o.all_runs, 0, 0, count_run, &cc, &e) == 0 && total > n)
      printf("report: the DB holds %lld runs; the %lld of other scenarios are left out"
             " (--run-ids %lld-%lld reports every run)\n", (long long)total,
             (long long)(total - n), (long long)first, (long long)last);
    sim_results_close(r);
  }
  return 0;
}
