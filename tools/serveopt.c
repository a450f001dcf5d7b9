/*
 * serveopt: --serve for run and evaluate; see serveopt.h.
 */
#include "tools/serveopt.h"

#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

/* The page's address, on stderr (stdout is the command's results). */
static void announce(void *arg, const char *url) {
  fprintf(stderr, "ridesim %s: live view at %s\n", (const char *)arg, url);
  fflush(stderr);
}

int serveopt_parse(const char *cmd, const char *usage, const char *arg, view_run *r) {
  memset(r, 0, sizeof *r);
  rs_err e;
  rs_err_clear(&e);
  if (view_addr_parse(arg, &r->addr, &e) != 0) return cli_usage_error(cmd, usage, "%s", e.msg);
  r->on_listen = announce;
  r->arg = (void *)cmd;
  return 0;
}

int serveopt_check(const char *cmd, const view_run *r) {
  rs_err e;
  rs_err_clear(&e);
  if (view_addr_check(&r->addr, &e) == 0) return 0;
  cli_error(cmd, "--serve: %s", e.msg);
  return 1;
}
