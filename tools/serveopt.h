/*
 * serveopt: the --serve [ADDR:]PORT option that `run` and `evaluate`
 * share (view/runview.h serves the run), parsed and announced in one place.
 */
#ifndef TOOLS_SERVEOPT_H
#define TOOLS_SERVEOPT_H

#include "view/runview.h"

#define SERVEOPT_HELP                                                                    \
  "  --serve [ADDR:]PORT   watch the run in a browser: serve a live view on ADDR:PORT\n" \
  "                        (default address 127.0.0.1; port 0: any free one, printed)\n"

/* Parses the option's value into r (cleared first; on_listen set to print
 * the page's address). 0, or 2 with the error and usage printed. */
int serveopt_parse(const char *cmd, const char *usage, const char *arg, view_run *r);
/* Before the run begins: 0 when the address can be listened on, else 1
 * with a one-line error printed. */
int serveopt_check(const char *cmd, const view_run *r);

#endif
