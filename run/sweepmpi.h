/*
 * sweepmpi: a sweep spread over MPI ranks (a build with -Dmpi=enabled,
 * started by mpirun). Rank 0 opens the results DB, finds what is done
 * (resume, as run/sweep.h), and hands out the remaining runs one at a time
 * as ranks ask for work (dynamic: a rank that finishes early gets the next
 * run); each rank runs its run into an in-memory results DB and sends its
 * image back (sim_results_image), which rank 0 merges into the one DB in
 * one transaction per run (sim_results_absorb). Rank 0 also runs runs, on a
 * thread of its own, while its main thread serves the others.
 *
 * Failures. A rank that dies loses only its current run: every run
 * received is committed on arrival, and a run handed to a rank shows in the
 * DB as a 'running' row (its plan key, no results) until its results come,
 * so the dead rank's run stays visibly incomplete; the plan's next sweep
 * reports it, deletes it and runs it again. A run that fails on a rank is
 * reported by rank 0 and, not being completed, run again by the next sweep
 * too.
 *
 * Waiting. MPI's blocking calls spin; here every wait polls (MPI_Test,
 * MPI_Iprobe) between 1 ms sleeps, so that a rank that waits leaves its
 * core to the ranks that run (mpirun --oversubscribe on a small machine).
 *
 * Without MPI in the build, run_sweepmpi_active is 0 and exec RS_EINVAL.
 */
#ifndef RUN_SWEEPMPI_H
#define RUN_SWEEPMPI_H

#include "base/rs_error.h"
#include "run/sweep.h"

/* Whether this process was started by mpirun with more than one rank (and
 * the build has MPI). */
int run_sweepmpi_active(void);

/* Runs the sweep of o over the ranks (o's hooks: error and, on rank 0,
 * progress and started with a NULL sweep). *rank0 says whether this is
 * rank 0, which alone holds the outcome in *st (runs to do, skipped, done,
 * failed). 0, or an error that stopped the sweep. */
int run_sweepmpi_exec(const run_sweep_opts *o, int *rank0, run_sweep_state *st, rs_err *e);

#endif
