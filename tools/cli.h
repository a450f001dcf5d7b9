/*
 * cli: what the subcommands of the ridesim front end share: their entry
 * points, argument parsing helpers and the error convention.
 *
 * A subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * subcommand's name; it returns the process exit status: 0 success, 1 a
 * failure of the work (message printed), 2 a usage error (message and, for
 * malformed command lines, the usage line printed; an option value that
 * parses but is refused, such as an unknown policy name, prints the message
 * alone), 130 interrupted. Errors go to stderr as one line
 * "ridesim NAME: ...". Only tools/ calls exit() or prints to the terminal.
 */
#ifndef TOOLS_CLI_H
#define TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int cmd_import(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_trips(int argc, char **argv);
int cmd_city(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_online(int argc, char **argv);
int cmd_value(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Prints "ridesim CMD: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the error and "usage: <usage>" to stderr and returns 2. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Strict number parsing: the whole string, no overflow. 0 or -1. */
int cli_parse_i64(const char *s, int64_t *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_double(const char *s, double *out);
/* "YYYY-MM-DD" -> local-epoch seconds of that midnight. 0 or -1. */
int cli_parse_day(const char *s, int64_t *out);
/* "HH:MM" or "HH:MM:SS" (00:00 .. 24:00) -> seconds after midnight. 0 or -1. */
int cli_parse_hhmm(const char *s, int64_t *out);
/* Whether a file can be written (created or replaced) at path, checked
 * before the work that fills it: 0, or -1 with the reason in why ("is a
 * directory", "no such directory", "directory not writable", "empty file
 * name"). */
int cli_check_output(const char *path, char *why, unsigned long size);
/* Formats local-epoch seconds as "YYYY-MM-DD HH:MM:SS" into buf (>= 20). */
void cli_format_time(int64_t t, char *buf, unsigned long size);

#endif
