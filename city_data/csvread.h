/*
 * csvread: a streaming CSV record reader that survives hostile input.
 *
 * Reads RFC 4180 records (comma separated, optional double quotes with ""
 * escapes, CRLF or LF) from a FILE*, one record at a time, into a reused
 * buffer. It never trusts the input: a NUL byte, an over-long record (limit
 * set by the caller), a stray quote or invalid UTF-8 is reported for that
 * record with its line number, and reading goes on with the next line.
 */
#ifndef CITY_CSVREAD_H
#define CITY_CSVREAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CITY_CSV_MAX_FIELDS 64
#define CITY_CSV_MAX_RECORD (1 << 20) /* 1 MiB: no trip record comes close */

typedef enum {
  CITY_CSV_OK = 0,       /* a record is in fields[] */
  CITY_CSV_EOF = 1,      /* no more input */
  CITY_CSV_BAD = 2,      /* this line is malformed (reason in `why`) */
  CITY_CSV_IOERR = -2,   /* read error */
  CITY_CSV_NOMEM = -1,
} city_csv_status;

typedef struct {
  FILE *fp;
  char *buf;             /* record text, fields point into it */
  size_t cap;
  size_t max_record;     /* bytes; longer records are rejected whole */
  int64_t line;          /* 1-based line number of the record last returned */
  int64_t next_line;     /* line number the next record starts on */
  int n_fields;
  char *fields[CITY_CSV_MAX_FIELDS];
  size_t lens[CITY_CSV_MAX_FIELDS];
  const char *why;       /* reason of the last CITY_CSV_BAD */
} city_csv;

void city_csv_init(city_csv *c, FILE *fp, size_t max_record);
void city_csv_free(city_csv *c);
/* Reads the next record. Empty lines are skipped. */
city_csv_status city_csv_next(city_csv *c);

#endif
