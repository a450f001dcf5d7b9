/*
 * ridesim view, ridesim export: a stored run played again (view/replay.h),
 * in a browser or as kepler.gl layers (view/kepler.h). Parsing and
 * printing only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "view/kepler.h"
#include "view/replay.h"

#define VIEW_USAGE                                                                   \
  "ridesim view RESULTS.db [--run N] [--serve [ADDR:]PORT] [--speed X] [--paused]\n" \
  "             [--exit-at-end]"
#define EXPORT_USAGE "ridesim export RESULTS.db [--run N] --format kepler --out DIR"
#define VIEW_PORT_DEFAULT "8765"

static void view_help(void) {
  printf("usage: %s\n\n", VIEW_USAGE);
  printf("Replays a stored run in a browser: the run is run again from its scenario and\n"
         "seed (the engine is deterministic), paced, with pause, speed and seek.\n\n"
         "  --run N               the run (default: the last finished one)\n"
         "  --serve [ADDR:]PORT   where to serve (default 127.0.0.1:" VIEW_PORT_DEFAULT
         "; port 0: any)\n"
         "  --speed X             simulated seconds per second (default 60; 0: as fast\n"
         "                        as possible)\n"
         "  --paused              start paused\n"
         "  --exit-at-end         exit when the horizon is reached (else serve until\n"
         "                        SIGINT, so that the page can seek back)\n"
         "  --help                this text\n");
}

enum { OPT_RUN = 256, OPT_SERVE, OPT_SPEED, OPT_PAUSED, OPT_EXIT, OPT_FORMAT, OPT_OUT, OPT_HELP };

static const struct option VIEW_OPTS[] = {
  {"run", required_argument, NULL, OPT_RUN},
  {"serve", required_argument, NULL, OPT_SERVE},
  {"speed", required_argument, NULL, OPT_SPEED},
  {"paused", no_argument, NULL, OPT_PAUSED},
  {"exit-at-end", no_argument, NULL, OPT_EXIT},
  {"format", required_argument, NULL, OPT_FORMAT},
  {"out", required_argument, NULL, OPT_OUT},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

typedef struct {
  const char *db;
  int64_t run;
  const char *serve, *format, *out;
  double speed;
  int paused, exit_at_end;
} view_args;

/* Parses both commands' options (each refuses the other's). -1: --help. */
static int parse(const char *cmd, const char *usage, int export, int argc, char **argv,
                 view_args *a) {
  a->serve = "127.0.0.1:" VIEW_PORT_DEFAULT;
  a->speed = 60;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", VIEW_OPTS, NULL)) != -1) {
    int for_view = c == OPT_SERVE || c == OPT_SPEED || c == OPT_PAUSED || c == OPT_EXIT;
    int for_export = c == OPT_FORMAT || c == OPT_OUT;
    if ((export && for_view) || (!export && for_export))
      return cli_usage_error(cmd, usage, "option '%s' is not one of %s's", argv[optind - 1], cmd);
    switch (c) {
    case OPT_HELP: return -1;
    case OPT_RUN:
      if (cli_parse_i64(optarg, &a->run) != 0 || a->run < 1)
        return cli_usage_error(cmd, usage, "--run: want a run id (1, 2, ...)");
      break;
    case OPT_SERVE: a->serve = optarg; break;
    case OPT_SPEED:
      if (cli_parse_double(optarg, &a->speed) != 0 || !(a->speed >= 0))
        return cli_usage_error(cmd, usage, "--speed: want a number >= 0");
      break;
    case OPT_PAUSED: a->paused = 1; break;
    case OPT_EXIT: a->exit_at_end = 1; break;
    case OPT_FORMAT: a->format = optarg; break;
    case OPT_OUT: a->out = optarg; break;
    default:
      if (optopt) return cli_usage_error(cmd, usage, "option '%s' needs a value", argv[optind - 1]);
      return cli_usage_error(cmd, usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cli_usage_error(cmd, usage, "want one results DB");
  a->db = argv[optind];
  return 0;
}

static void announce(void *arg, const char *url) {
  (void)arg;
  fprintf(stderr, "ridesim view: replay at %s (SIGINT ends it)\n", url);
  fflush(stderr);
}

int cmd_view(int argc, char **argv) {
  view_args a;
  memset(&a, 0, sizeof a);
  int rc = parse("view", VIEW_USAGE, 0, argc, argv, &a);
  if (rc == -1) {
    view_help();
    return 0;
  }
  if (rc != 0) return rc;
  rs_err e;
  rs_err_clear(&e);
  view_replay_opts o;
  memset(&o, 0, sizeof o);
  if (view_addr_parse(a.serve, &o.addr, &e) != 0) return cli_usage_error("view", VIEW_USAGE, "%s", e.msg);
  o.speed = a.speed;
  o.paused = a.paused;
  o.exit_at_end = a.exit_at_end;
  o.on_listen = announce;
  if (view_addr_check(&o.addr, &e) != 0) {
    cli_error("view", "--serve: %s", e.msg);
    return 1;
  }
  view_stored st;
  if (view_stored_load(a.db, a.run, &st, &e) != 0) {
    cli_error("view", "%s", e.msg);
    return 1;
  }
  int interrupted = 0;
  rc = view_replay_exec(&st, &o, &interrupted, &e);
  view_stored_free(&st);
  if (rc != 0) {
    cli_error("view", "%s", e.msg);
    return 1;
  }
  return 0;
}

int cmd_export(int argc, char **argv) {
  view_args a;
  memset(&a, 0, sizeof a);
  int rc = parse("export", EXPORT_USAGE, 1, argc, argv, &a);
  if (rc == -1) {
    printf("usage: %s\n\nRuns a stored run again (its scenario and seed) and writes its drivers'\n"
           "trajectories and its orders as kepler.gl layers: DIR/trips.geojson (LineStrings\n"
           "of [lng, lat, 0, unix time], one per driver spell) and DIR/orders.geojson.\n",
           EXPORT_USAGE);
    return 0;
  }
  if (rc != 0) return rc;
  if (a.format == NULL || strcmp(a.format, "kepler") != 0)
    return cli_usage_error("export", EXPORT_USAGE, "--format: want kepler");
  if (a.out == NULL) return cli_usage_error("export", EXPORT_USAGE, "--out DIR is required");
  rs_err e;
  rs_err_clear(&e);
  view_stored st;
  if (view_stored_load(a.db, a.run, &st, &e) != 0) {
    cli_error("export", "%s", e.msg);
    return 1;
  }
  view_kepler_stats s;
  rc = view_kepler_export(&st, a.out, &s, &e);
  view_stored_free(&st);
  if (rc != 0) {
    cli_error("export", "%s", e.msg);
    return 1;
  }
  printf("ridesim export: run %lld to %s: %lld trip features (%lld vertices, %lld occupied), "
         "%lld orders\n",
         (long long)st.run_id, a.out, (long long)s.features, (long long)s.vertices,
         (long long)s.occupied, (long long)s.orders);
  return 0;
}
