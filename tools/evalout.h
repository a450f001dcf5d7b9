/*
 * evalout: what `ridesim evaluate` prints at the end of a run whose row was
 * written: the competition's scores with the usual KPIs (or the KPIs as
 * JSON), the bridge's own timing (--verbose), the agent's faults on stderr,
 * and why a run that did not complete ended.
 */
#ifndef TOOLS_EVALOUT_H
#define TOOLS_EVALOUT_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/agentrun.h"

/* Prints the end of run x (written). rc and e: run_agent_exec's outcome.
 * Returns the exit status: 0, 1 (the run failed: its status and the agent's
 * end said), 130 (a signal stopped it). */
int evalout_run(const run_agent_run *x, uint64_t seed, int json, int verbose, const rs_err *e,
                int rc);

#endif
