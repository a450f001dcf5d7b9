/*
 * sweepout: the tables of a sweep (tools/sweepout.c), printed by ridesim
 * sweep after its runs and for a plan whose runs a DB already holds.
 */
#ifndef TOOLS_SWEEPOUT_H
#define TOOLS_SWEEPOUT_H

#include "run/plan.h"

/* Prints every group's table of plan p from the results DB `out`: compare's
 * terminal table, or CSV (csv), or one JSON document (json). Returns 0, or
 * 1 after a one-line error (a DB that cannot be read, or out of memory). */
int sweepout_tables(const run_plan *p, const char *out, int csv, int json);

#endif
