/*
 * ridesim: the command line front end. One file per subcommand (cmd_*.c);
 * this file only finds the subcommand and hands it argv.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

typedef struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
  {"run", cmd_run, "replay a day of trips against a fleet and a policy (default: the synthetic city)"},
  {"import", cmd_import, "import trip records (NYC TLC, generic CSV, KDD Cup) into a trip store"},
  {"synth", cmd_synth, "generate the synthetic city's trips into a trip store"},
  {"trips", cmd_trips, "summarise a trip store"},
  {"city", cmd_city, "show a city definition and its hexagonal grid"},
  {"train", cmd_train, "train a value table offline on historical trips"},
  {"value", cmd_value, "inspect and export value tables (value info, value export)"},
  {"compare", cmd_compare, "compare policies over seeds in parallel, with confidence intervals"},
  {"sweep", cmd_sweep, "run a plan's runs (days x seeds x policies x fleets ...), or a shard of them"},
  {"merge", cmd_merge, "merge the results DBs of a sweep's shards into one"},
  {"report", cmd_report, "write the HTML report of a results DB"},
  {"view", cmd_view, "replay a stored run in a browser (pause, speed, seek)"},
  {"export", cmd_export, "export a stored run's trajectories (kepler.gl layers)"},
  {"evaluate", cmd_evaluate, "run an agent (KDD Cup 2020 style, or builtin:NAME) and print its scores"},
  {"match", cmd_match, "solve a maximum-weight bipartite matching instance file"},
  {"bench", cmd_bench, "benchmarks (bench match DIR)"},
  {"network", cmd_network, "road networks: info, synth, bench (docs/network.md)"},
  {"calibrate", cmd_calibrate, "fit the travel model's hourly speeds to recorded trips"},
  {"validate", cmd_validate, "compare the travel model's trips with recorded ones"},
};

#define USAGE "ridesim [--help | --version] COMMAND [ARGS...]"

static void usage(FILE *out) {
  fprintf(out, "usage: %s\n\nA ride-hailing dispatch and repositioning simulator.\n\ncommands:\n", USAGE);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'ridesim COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    /* The main job with no arguments: the synthetic city end to end. */
    char *run_argv[] = {"run", NULL};
    return cmd_run(1, run_argv);
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(name, "--version") == 0) {
    printf("ridesim %s\n", RIDESIM_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(name, commands[i].name) == 0)
      return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "ridesim: unknown command '%s'\nusage: %s\n", name, USAGE);
  return 2;
}
