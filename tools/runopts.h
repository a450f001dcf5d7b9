/*
 * runopts: the scenario options that `run`, `compare` and `evaluate` share,
 * declared and parsed in one place.
 *
 * A command builds its getopt_long table as the shared options followed by
 * its own (runopts_table), reads --scenario files first (runopts_scenarios,
 * so that flags override a file whatever their order), then hands every
 * option getopt_long returns to runopts_apply, which sets the scenario field
 * and reports whether the option was one of the shared ones.
 *
 * The flags of the policies' options are not written here: they come from
 * the registry's schemas (dispatch/registry.h), each option with a flag
 * becoming one (--lr X sets "policies": {"v1d3": {"lr": X}}), and so do the
 * help's policy names, policy descriptions and option lines.
 */
#ifndef TOOLS_RUNOPTS_H
#define TOOLS_RUNOPTS_H

#include <getopt.h>
#include <stddef.h>

#include "sim/scenario.h"

/* Codes of the shared options; a command's own codes stay below. */
enum {
  RUNOPT_TRIPS = 1000, RUNOPT_SYNTH, RUNOPT_ORDERS, RUNOPT_CITY, RUNOPT_DAY, RUNOPT_FROM,
  RUNOPT_TO, RUNOPT_DRIVERS, RUNOPT_DISPATCH, RUNOPT_REPO, RUNOPT_SEED, RUNOPT_PATIENCE,
  RUNOPT_TICK, RUNOPT_RADIUS, RUNOPT_TOPK, RUNOPT_DTOPK, RUNOPT_IDLE, RUNOPT_PLACEMENT,
  RUNOPT_SHIFT, RUNOPT_SCENARIO, RUNOPT_OUT, RUNOPT_SPEED, RUNOPT_REPO_DISP, RUNOPT_NETWORK,
  RUNOPT_WARMUP, RUNOPT_DRAIN, RUNOPT_DAYS,
  RUNOPT_POLICY_OPT = 1100, /* + i: the registry's option i (its flag) */
};

/* RUNOPTS_NO_POLICIES leaves out --dispatch, --reposition and --seed, for a
 * command that takes lists of them (compare). */
enum { RUNOPTS_ALL = 0, RUNOPTS_NO_POLICIES = 1 };

#define RUNOPTS_MAX 96 /* room for the shared options, the policies' flags and
                          a command's own */

/* Writes the shared options (per flags), the policies' flags, then `extra`
 * (NULL-terminated) and a terminator into out (RUNOPTS_MAX entries). */
void runopts_table(int flags, const struct option *extra, struct option *out);

/* The context of one command's parse: its name and usage line for errors,
 * and whether the user named a city (else a trip store's city is used). */
typedef struct {
  const char *cmd;
  const char *usage;
  int help_opt;     /* the command's code for --help */
  int city_given;
} runopts_ctx;

/* Pass 1: loads every --scenario file into s, in order. 0; -1 when --help
 * was given (nothing loaded: the caller prints its help); 2 (the exit
 * status of bad input) with the error printed. Leaves optind for the caller to reset. */
int runopts_scenarios(runopts_ctx *c, int argc, char **argv, const struct option *table,
                      sim_scenario *s);

/* Applies one option from getopt_long. Returns 1 when it was a shared option
 * (applied), 0 when it is the command's own, 2 when its value is bad (the
 * error and usage line printed). */
int runopts_apply(runopts_ctx *c, int opt, const char *arg, sim_scenario *s);

/* Prints the effective scenario as JSON (--print-scenario); the exit status. */
int runopts_print_scenario(const sim_scenario *s);

/* The help text of the shared options (per flags), for a command's --help:
 * the policies and their options from the registry. */
void runopts_help(int flags);

/* Prints "  LEFT  TEXT" with LEFT padded to the help's column and TEXT
 * wrapped under it, as every help line of the shared options. */
void runopts_help_line(const char *left, const char *text);

#endif
