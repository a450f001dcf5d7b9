/*
 * ridesim network: what its subcommands share (the usage, --grid's reader);
 * cmd_network.c holds info and synth, cmd_network_bench.c holds bench.
 */
#ifndef TOOLS_CMD_NETWORK_H
#define TOOLS_CMD_NETWORK_H

#include "city_data/roadnet.h"

#define NETWORK_USAGE                                                                          \
  "ridesim network info FILE [--cache-dir DIR] [--trips DB]\n"                         \
  "       ridesim network synth --grid COLSxROWS --out FILE.json|FILE.graphml "        \
  "[--spacing M] [--lat D] [--lng D] [--speed KMH] [--arterial N] [--jitter F] [--seed N]\n" \
  "       ridesim network bench (FILE | --grid COLSxROWS) [--queries N] [--cache-dir DIR]"

/* "COLSxROWS", 2 .. 46340 each, into o->cols and o->rows; 0 or -1. */
int cmd_network_parse_grid(const char *s, city_net_grid_opts *o);
/* ridesim network bench (argv[0] is "bench"); the exit status. */
int cmd_network_bench(int argc, char **argv);

#endif
