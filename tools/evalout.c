/*
 * evalout: what `ridesim evaluate` prints at the end of a run (see
 * evalout.h).
 */
#include "tools/evalout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/results.h"
#include "tools/cli.h"
#include "tools/kpiout.h"

/* The competition's two scores first (J and G under its names), then the
 * catalogue's evaluate table. stop: the simulated time the run ended,
 * before `to` when it ended early. */
static void print_scores(const sim_kpis *k, uint64_t seed, const city_def *city, int64_t from,
                         int64_t to, int64_t stop, double wall, const char *agent_label) {
  char t0[32], t1[32];
  cli_format_time(from, t0, sizeof t0);
  cli_format_time(to, t1, sizeof t1);
  /* the label is agent:COMMAND or builtin:NAME: "agent agent:..." says it twice */
  int ext = strncmp(agent_label, "agent:", 6) == 0;
  printf("ridesim evaluate: %s, %s to %s, %lld drivers, agent %s%s%s, seed %llu\n", city->name,
         t0, t1, (long long)k->drivers, ext ? "'" : "", ext ? agent_label + 6 : agent_label,
         ext ? "'" : "", (unsigned long long)seed);
  printf("  %-28s %14.2f\n", "dispatch score J", k->income);
  printf("  %-28s %14.4f\n", "reposition score G", k->income_per_hour);
  kpiout_opts o = {SIM_KPI_VIEW_EVAL, wall, stop < to, NULL, NULL};
  kpiout_table(k, &o);
}

/* The fault summary (stderr): counts by fault with the competition's names. */
static void print_faults(const sim_agent_stats *st, const char *log_path) {
  int64_t total = 0;
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) total += st->faults[f];
  fprintf(stderr, "ridesim evaluate: agent: %lld dispatch and %lld reposition requests, "
                  "%lld replies failed entirely, %lld ticks decided by the fallback, "
                  "%lld pairs accepted, %lld dropped\n",
          (long long)st->requests[SIM_AGENT_REQ_DISPATCH],
          (long long)st->requests[SIM_AGENT_REQ_REPOSITION], (long long)st->replies_failed,
          (long long)st->fallback_ticks, (long long)st->pairs_accepted,
          (long long)st->pairs_dropped);
  if (total == 0) return;
  fprintf(stderr, "ridesim evaluate: agent faults: InitAgentError %lld, DispatchAgentError %lld, "
                  "RepositionAgentError %lld (log: %s)\n",
          (long long)st->faults_by_kind[SIM_AGENT_REQ_INIT],
          (long long)st->faults_by_kind[SIM_AGENT_REQ_DISPATCH],
          (long long)st->faults_by_kind[SIM_AGENT_REQ_REPOSITION], log_path);
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++)
    if (st->faults[f] > 0)
      fprintf(stderr, "  %-18s %8lld  %s\n", sim_agent_fault_name(f), (long long)st->faults[f],
              sim_agent_fault_what(f));
}

static void print_timing(const sim_agent_stats *st, double wall) {
  double own = (double)(st->build_ns + st->serialize_ns + st->parse_ns + st->validate_ns) / 1e9;
  int64_t calls = st->requests[SIM_AGENT_REQ_DISPATCH] + st->requests[SIM_AGENT_REQ_REPOSITION];
  printf("agent bridge timing (wall):\n");
  printf("  %-28s %14lld\n", "requests", (long long)calls);
  printf("  %-28s %14lld\n", "candidate records sent", (long long)st->candidates);
  printf("  %-28s %11.1f MB\n", "bytes out", (double)st->bytes_out / 1e6);
  printf("  %-28s %11.1f MB\n", "bytes in", (double)st->bytes_in / 1e6);
  printf("  %-28s %12.3f s\n", "building observations", (double)st->build_ns / 1e9);
  printf("  %-28s %12.3f s\n", "serialising", (double)st->serialize_ns / 1e9);
  printf("  %-28s %12.3f s\n", "parsing replies", (double)st->parse_ns / 1e9);
  printf("  %-28s %12.3f s\n", "validating, applying", (double)st->validate_ns / 1e9);
  printf("  %-28s %12.3f s  (%.1f%% of the run's wall time)\n", "bridge's own time", own,
         wall > 0 ? 100 * own / wall : 0);
  printf("  %-28s %12.3f s\n", "round trips (agent side)", (double)st->roundtrip_ns / 1e9);
  if (st->builtin_ns > 0)
    printf("  %-28s %12.3f s\n", "built-in policy deciding", (double)st->builtin_ns / 1e9);
  if (st->fallback_ns > 0)
    printf("  %-28s %12.3f s\n", "fallback deciding", (double)st->fallback_ns / 1e9);
  if (calls > 0 && st->roundtrip_ns > 0)
    printf("  %-28s %14.0f\n", "round trips per second",
           (double)calls / ((double)st->roundtrip_ns / 1e9));
}

int evalout_run(const run_agent_run *x, uint64_t seed, int json, int verbose, const rs_err *e,
                int rc) {
  const run_life *l = &x->life;
  const run_input *in = l->in;
  const sim_agent_stats *ast = run_agent_stats(x);
  if (json) {
    char *j = sim_kpis_to_json(&l->k, 1);
    if (j) printf("%s\n", j);
    free(j);
  } else {
    print_scores(&l->k, seed, &in->city, in->from, in->to, run_life_now(l), l->wall_s, x->label);
    printf("  results: %s (run %lld, %s)\n", l->sc.out, (long long)l->run_id, l->status);
  }
  if (verbose) print_timing(ast, l->wall_s);
  print_faults(ast, x->log_path);
  int64_t at = run_life_now(l) - in->from, span = in->to - in->from;
  if (rc != 0) {
    cli_error("evaluate", "%s", e->msg);
    if (ast->exited &&
        (strcmp(l->status, "agent-died") == 0 || strcmp(l->status, "agent-init-failed") == 0)) {
      if (ast->term_signal)
        cli_error("evaluate", "the agent was killed by signal %d", ast->term_signal);
      else
        cli_error("evaluate", "the agent exited with status %lld", (long long)ast->exit_status);
    }
    cli_error("evaluate", "run %lld ended with status %s at simulated %lld s of %lld; results kept",
              (long long)l->run_id, l->status, (long long)at, (long long)span);
    return 1;
  }
  if (l->late_signal && !l->interrupted)
    cli_error("evaluate", "stopped by a signal after the run had ended; its results (%s) kept",
              l->status);
  if (l->interrupted)
    cli_error("evaluate", "interrupted at simulated %lld s of %lld; results kept", (long long)at,
              (long long)span);
  return l->interrupted || l->late_signal ? 130 : 0;
}

