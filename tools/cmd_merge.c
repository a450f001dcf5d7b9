/*
 * ridesim merge: the results DBs of a sweep's shards into one
 * (sim_results_merge): each completed run once, new run ids in the plan's
 * order, refused when the DBs hold different plans or schemas. Merging
 * again, or a DB that holds some of the runs already, adds only what is
 * missing; a merge that fails leaves --out as it was.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/results.h"
#include "tools/cli.h"

#define MERGE_USAGE "ridesim merge A.db B.db ... --out ALL.db"

static void merge_help(void) {
  printf("usage: %s\n\n", MERGE_USAGE);
  printf(
      "Merges the results DBs of a sweep's shards ('ridesim sweep PLAN --shard K/N')\n"
      "into one: every completed run once (a run completed in two DBs, or already in\n"
      "ALL.db, is taken once), with new run ids in the plan's order. The DBs must hold\n"
      "the same plan and results schema. ALL.db is replaced at the end, in one step:\n"
      "a merge that fails leaves it as it was. 'ridesim sweep PLAN --out ALL.db' then\n"
      "prints the plan's tables.\n\n"
      "  --out DB     the merged DB (created, or added to)\n"
      "  --help       this text\n");
}

enum { OPT_OUT = 256, OPT_HELP };

static const struct option MERGE_OPTS[] = {
  {"out", required_argument, NULL, OPT_OUT},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

#define BAD(...) cli_usage_error("merge", MERGE_USAGE, __VA_ARGS__)

int cmd_merge(int argc, char **argv) {
  const char *out = NULL;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", MERGE_OPTS, NULL)) != -1) {
    switch (c) {
    case OPT_OUT: out = optarg; break;
    case OPT_HELP: merge_help(); return 0;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (out == NULL) return BAD("--out is required");
  int n = argc - optind;
  if (n < 1) return BAD("name the DBs to merge");
  for (int i = optind; i < argc; i++)
    if (strcmp(argv[i], out) == 0) return BAD("'%s' is both a source and --out", out);
  sim_results_merge_stats st;
  rs_err e;
  rs_err_clear(&e);
  if (sim_results_merge(out, (const char *const *)(argv + optind), n, &st, &e) != 0) {
    cli_error("merge", "%s", e.msg);
    return e.code == RS_EINVAL || e.code == RS_EFORMAT ? 2 : 1;
  }
  fprintf(stderr, "merge: %d runs added, %d already there, %d incomplete left out, from %d DBs "
          "into %s\n", st.added, st.present, st.incomplete, st.sources, out);
  return 0;
}
