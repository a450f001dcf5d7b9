/*
 * csvread: a streaming CSV record reader that survives hostile input.
 *
 * Reads RFC 4180 records (comma separated, optional double quotes with ""
 * escapes, CRLF or LF) from a FILE*, one record at a time. Input is read in
 * large blocks into one window buffer and parsed in place: fields point into
 * that buffer, NUL-terminated, valid until the next call.
 *
 * It never trusts the input. A record with a NUL byte, a record longer than
 * the caller's limit, a quote inside an unquoted field, text after a closing
 * quote, an unterminated quote or too many fields comes back as
 * CITY_CSV_BAD with its line number and a reason; a bad record always
 * consumes exactly one physical line, so a stray quote cannot swallow the
 * rest of the file. Reading then goes on with the next line. Bytes >= 0x80
 * pass through untouched (the reader is byte transparent); `high` says
 * whether the record had any, and city_csv_utf8_valid() checks a field where
 * encoding matters. A UTF-8 byte order mark at the start of input is skipped.
 * Empty lines ("" or a lone CR) are skipped. A last line without a newline is
 * a record like any other (`unterminated` is set for it).
 */
#ifndef CITY_CSVREAD_H
#define CITY_CSVREAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CITY_CSV_MAX_FIELDS 64
#define CITY_CSV_MAX_RECORD (1 << 20) /* 1 MiB: no trip record comes close */
#define CITY_CSV_BLOCK (256 << 10)    /* bytes per fread */

typedef enum {
  CITY_CSV_OK = 0,       /* a record is in fields[] */
  CITY_CSV_EOF = 1,      /* no more input */
  CITY_CSV_BAD = 2,      /* this line is malformed (reason in `why`) */
  CITY_CSV_IOERR = -2,   /* read error (ferror on the stream) */
  CITY_CSV_NOMEM = -1,
} city_csv_status;

typedef struct {
  FILE *fp;              /* input, not owned */
  char *buf;             /* window: max_record + block + 1 bytes */
  size_t cap;            /* allocated size of buf */
  size_t block;          /* bytes asked of fread at a time */
  size_t pos, end;       /* unconsumed input is buf[pos, end) */
  size_t scan;           /* bytes of the pending record already scanned */
  int eof;               /* fread has reported end of input */
  int started;           /* the BOM check has run */
  size_t max_record;     /* bytes; longer records are rejected (one line) */
  int64_t line;          /* 1-based line number of the record last returned */
  int64_t next_line;     /* line number the next record starts on */
  int n_fields;          /* fields in the record last returned */
  int high;              /* the record has bytes >= 0x80 */
  int unterminated;      /* the record ended at end of input, no newline */
  char *fields[CITY_CSV_MAX_FIELDS]; /* NUL-terminated, inside buf */
  size_t lens[CITY_CSV_MAX_FIELDS];  /* field lengths (fields may hold no NUL) */
  const char *why;       /* reason of the last CITY_CSV_BAD (static text) */
  /* Scanner state of the pending record, kept across refills. */
  int st;                /* scanner state */
  int nf;                /* fields ended so far */
  int bad;               /* reason index of a fault seen so far, 0 none */
  int scan_high;         /* a byte >= 0x80 seen so far */
  size_t fstart[CITY_CSV_MAX_FIELDS]; /* field starts, relative to pos */
  size_t fend[CITY_CSV_MAX_FIELDS];   /* field ends, relative to pos */
  unsigned char fquoted[CITY_CSV_MAX_FIELDS]; /* 1 quoted, 2 with "" escapes */
  size_t first_nl;       /* offset of the record's first newline, or SIZE_MAX */
  int64_t inner_lines;   /* newlines inside quotes so far */
} city_csv;

/* Prepares a reader on fp. max_record 0 means CITY_CSV_MAX_RECORD, block 0
 * CITY_CSV_BLOCK (tests use tiny blocks to cross every boundary). Allocates
 * the window lazily on the first city_csv_next(). */
void city_csv_init(city_csv *c, FILE *fp, size_t max_record, size_t block);
/* Frees the window; fp stays open. c may be used again after init. */
void city_csv_free(city_csv *c);
/* Reads the next record: CITY_CSV_OK, CITY_CSV_BAD (c->why, c->line),
 * CITY_CSV_EOF, or a negative status. After BAD, call again to go on. */
city_csv_status city_csv_next(city_csv *c);

/* Whether s[0, n) is well-formed UTF-8 (no overlongs, no surrogates). */
int city_csv_utf8_valid(const char *s, size_t n);

#endif
