/*
 * csvread: streaming CSV records from large blocks, parsed in place.
 *
 * Job: turn a byte stream into records of fields, or into one-line BAD
 * reports, at the speed of memory: the trip importer must outrun the sqlite3
 * shell's own .import on the same files.
 *
 * How: one window buffer of max_record + block + 1 bytes holds unconsumed
 * input in buf[pos, end). A record is parsed in two passes. Pass 1 is a
 * read-only scanner (states below) that finds where the record ends and
 * where its fields start and end, as offsets from pos, so that it can stop
 * when the window runs dry, refill (moving the pending bytes to the front
 * only when the tail has less than a block free) and resume where it was:
 * every byte is scanned once. Pass 2 runs on the complete record only: it
 * NUL-terminates the fields in place and collapses "" escapes. Nothing is
 * copied per field and nothing is allocated after the first call.
 *
 * Invariants: pos <= end < cap; a pending record (end - pos) is at most
 * max_record bytes when refilling, so a block always fits after the move;
 * nf <= CITY_CSV_MAX_FIELDS; `line` is the physical line a record starts on.
 * A BAD record consumes exactly its first physical line (quote errors would
 * otherwise let one stray '"' eat the file); an over-long line with no
 * newline in the window is skipped block by block, without buffering it.
 *
 * Costs: O(bytes) with one table lookup per byte; memory O(max_record).
 * Ownership: the reader owns buf; the caller owns fp. Field pointers are
 * valid until the next city_csv_next().
 *
 * A quote inside an unquoted field is an error here (RFC 4180), where
 * Python's csv and the sqlite3 shell keep it as text: trip files never carry
 * one, and a wrong quote usually means the line was cut or mangled.
 */
#include "city_data/csvread.h"

#include <stdlib.h>
#include <string.h>

/* Scanner states of pass 1. */
enum {
  ST_FIELD = 0,   /* at the start of a field */
  ST_PLAIN,       /* inside an unquoted field */
  ST_QUOTED,      /* inside a quoted field */
  ST_QUOTE,       /* a '"' seen inside a quoted field: escape or close */
  ST_CLOSED,      /* after the closing quote (only CRs may follow) */
};

/* Reasons of BAD records, by index (0 = none). */
enum {
  BAD_NONE = 0,
  BAD_NUL,
  BAD_STRAY_QUOTE,
  BAD_AFTER_QUOTE,
  BAD_UNTERMINATED,
  BAD_FIELDS,
  BAD_LONG,
};

static const char *const bad_text[] = {
  "",
  "NUL byte in record",
  "quote inside an unquoted field",
  "text after a closing quote",
  "unterminated quoted field",
  "more than 64 fields",
  "record longer than the line limit",
};

/* Byte classes: 0 plain text, which the inner loops skip. */
enum { C_TEXT = 0, C_COMMA, C_QUOTE, C_LF, C_NUL, C_HIGH };

#define H4 C_HIGH, C_HIGH, C_HIGH, C_HIGH
#define H16 H4, H4, H4, H4
#define H64 H16, H16, H16, H16
static const unsigned char byte_class[256] = {
  [0] = C_NUL, ['\n'] = C_LF, ['"'] = C_QUOTE, [','] = C_COMMA,
  [0x80] = H64, H64,
};
#undef H4
#undef H16
#undef H64

void city_csv_init(city_csv *c, FILE *fp, size_t max_record, size_t block) {
  memset(c, 0, sizeof *c);
  c->fp = fp;
  c->max_record = max_record ? max_record : CITY_CSV_MAX_RECORD;
  c->block = block ? block : CITY_CSV_BLOCK;
  c->next_line = 1;
  c->first_nl = SIZE_MAX;
}

void city_csv_free(city_csv *c) {
  free(c->buf);
  c->buf = NULL;
  c->cap = 0;
}

/* Reads one block into the window. Returns 1 when bytes came, 0 at end of
 * input, or a negative status. */
static int refill(city_csv *c) {
  if (c->eof) return 0;
  if (c->cap - 1 - c->end < c->block) {
    size_t n = c->end - c->pos;
    memmove(c->buf, c->buf + c->pos, n);
    c->pos = 0;
    c->end = n;
  }
  size_t got = fread(c->buf + c->end, 1, c->block, c->fp);
  if (got == 0) {
    if (ferror(c->fp)) return CITY_CSV_IOERR;
    c->eof = 1;
    return 0;
  }
  c->end += got;
  return 1;
}

/* Forgets the pending record's scan state. */
static void reset_scan(city_csv *c) {
  c->scan = 0;
  c->st = ST_FIELD;
  c->nf = 0;
  c->bad = BAD_NONE;
  c->scan_high = 0;
  c->first_nl = SIZE_MAX;
  c->inner_lines = 0;
}

/* Discards input up to and including the next newline, reading blocks
 * without keeping them: the rest of an over-long line. */
static int skip_line(city_csv *c) {
  for (;;) {
    char *nl = memchr(c->buf + c->pos, '\n', c->end - c->pos);
    if (nl != NULL) {
      c->pos = (size_t)(nl - c->buf) + 1;
      return 0;
    }
    c->pos = c->end = 0;
    int r = refill(c);
    if (r <= 0) return r;
  }
}

/* Reports the pending record as BAD and consumes its first physical line. */
static city_csv_status finish_bad(city_csv *c, int why) {
  c->line = c->next_line;
  c->next_line = c->line + 1;
  c->why = bad_text[why];
  c->n_fields = 0;
  if (c->first_nl != SIZE_MAX) {
    c->pos += c->first_nl + 1;
  } else {
    /* No newline seen yet: the line continues past the window (or ends the
     * input). Drop it all. */
    c->pos = c->end;
    int r = skip_line(c);
    if (r < 0) return (city_csv_status)r;
  }
  reset_scan(c);
  return CITY_CSV_BAD;
}

/* Pass 2: the record of `len` bytes at pos is complete and good. */
static void materialize(city_csv *c, size_t len, int at_eof) {
  char *base = c->buf + c->pos;
  int nf = c->nf;
  /* CRLF: the last unquoted field loses one trailing CR. */
  if (nf > 0 && c->fquoted[nf - 1] == 0 && c->fend[nf - 1] > c->fstart[nf - 1] &&
      base[c->fend[nf - 1] - 1] == '\r')
    c->fend[nf - 1]--;
  for (int k = 0; k < nf; k++) {
    char *s = base + c->fstart[k];
    size_t n = c->fend[k] - c->fstart[k];
    if (c->fquoted[k] == 2) {
      size_t w = 0;
      for (size_t r = 0; r < n; r++) {
        s[w++] = s[r];
        if (s[r] == '"') r++; /* the scanner proved it is doubled */
      }
      n = w;
    }
    s[n] = '\0';
    c->fields[k] = s;
    c->lens[k] = n;
  }
  c->n_fields = nf;
  c->high = c->scan_high;
  c->line = c->next_line;
  c->next_line = c->line + 1 + c->inner_lines;
  c->unterminated = at_eof;
  c->pos += at_eof ? len : len + 1;
}

/* Ends the current field at offset i. */
static inline void end_field(city_csv *c, size_t i) {
  if (c->nf < CITY_CSV_MAX_FIELDS) c->fend[c->nf] = i;
  c->nf++;
}

/* Starts a field at offset i (quoted: 1 or 0). */
static inline void start_field(city_csv *c, size_t i, unsigned char quoted) {
  if (c->nf < CITY_CSV_MAX_FIELDS) {
    c->fstart[c->nf] = i;
    c->fquoted[c->nf] = quoted;
  } else if (c->bad == BAD_NONE) {
    c->bad = BAD_FIELDS;
  }
}

/* Pass 1 over buf[pos + scan, end). Returns 1 when the record ends at
 * offset *rec_end (its '\n'), 0 when the window ran out first. */
static int scan(city_csv *c, size_t *rec_end) {
  const unsigned char *p = (const unsigned char *)c->buf + c->pos;
  size_t n = c->end - c->pos;
  size_t i = c->scan;
  int st = c->st;
  while (i < n) {
    unsigned b = p[i];
    switch (st) {
    case ST_FIELD:
      if (b == '"') {
        start_field(c, i + 1, 1);
        st = ST_QUOTED;
        i++;
        continue;
      }
      /* This byte belongs to the plain field. */
      start_field(c, i, 0);
      st = ST_PLAIN;
      /* fall through */
    case ST_PLAIN:
      for (;;) {
        while (i < n && byte_class[p[i]] == C_TEXT) i++;
        if (i == n) break;
        int k = byte_class[p[i]];
        if (k == C_COMMA) {
          end_field(c, i);
          st = ST_FIELD;
          i++;
          break;
        }
        if (k == C_LF) {
          end_field(c, i);
          if (c->first_nl == SIZE_MAX) c->first_nl = i;
          c->scan = i;
          c->st = ST_FIELD;
          *rec_end = i;
          return 1;
        }
        if (k == C_QUOTE && c->bad == BAD_NONE) c->bad = BAD_STRAY_QUOTE;
        if (k == C_NUL && c->bad == BAD_NONE) c->bad = BAD_NUL;
        if (k == C_HIGH) c->scan_high = 1;
        i++;
      }
      continue;
    case ST_QUOTED:
      for (;;) {
        while (i < n && byte_class[p[i]] == C_TEXT) i++;
        if (i == n) break;
        int k = byte_class[p[i]];
        if (k == C_QUOTE) {
          st = ST_QUOTE;
          i++;
          break;
        }
        if (k == C_LF) {
          if (c->first_nl == SIZE_MAX) c->first_nl = i;
          c->inner_lines++;
        } else if (k == C_NUL && c->bad == BAD_NONE) {
          c->bad = BAD_NUL;
        } else if (k == C_HIGH) {
          c->scan_high = 1;
        }
        i++;
      }
      continue;
    case ST_QUOTE:
      if (b == '"') {
        if (c->nf < CITY_CSV_MAX_FIELDS) c->fquoted[c->nf] = 2;
        st = ST_QUOTED;
        i++;
        continue;
      }
      /* The quote closed the field; b is the byte after it. */
      end_field(c, i - 1);
      st = ST_CLOSED;
      /* fall through */
    case ST_CLOSED:
      if (b == ',') {
        st = ST_FIELD;
      } else if (b == '\n') {
        if (c->first_nl == SIZE_MAX) c->first_nl = i;
        c->scan = i;
        c->st = ST_FIELD;
        *rec_end = i;
        return 1;
      } else if (b != '\r') {
        if (c->bad == BAD_NONE) c->bad = b == 0 ? BAD_NUL : BAD_AFTER_QUOTE;
        /* Go on as plain text to find the end of the line. The field was
         * already ended; the plain scanner must not end it twice. */
        c->nf--;
        st = ST_PLAIN;
        continue;
      }
      i++;
      continue;
    }
  }
  c->scan = i;
  c->st = st;
  return 0;
}

city_csv_status city_csv_next(city_csv *c) {
  if (c->buf == NULL) {
    c->cap = c->max_record + c->block + 1;
    c->buf = malloc(c->cap);
    if (c->buf == NULL) return CITY_CSV_NOMEM;
    c->pos = c->end = 0;
    reset_scan(c);
  }
  if (!c->started) {
    c->started = 1;
    while (c->end < 3) {
      int r = refill(c);
      if (r < 0) return (city_csv_status)r;
      if (r == 0) break;
    }
    if (c->end >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) c->pos = 3;
  }
  for (;;) {
    size_t rec_end = 0;
    int done = scan(c, &rec_end);
    if (!done) {
      if (c->end - c->pos > c->max_record) return finish_bad(c, BAD_LONG);
      int r = refill(c);
      if (r < 0) return (city_csv_status)r;
      if (r > 0) continue;
      /* End of input with a record pending, or nothing at all. */
      size_t n = c->end - c->pos;
      if (n == 0 && c->st == ST_FIELD && c->nf == 0) return CITY_CSV_EOF;
      if (c->st == ST_QUOTED) return finish_bad(c, c->bad ? c->bad : BAD_UNTERMINATED);
      if (c->st == ST_FIELD || c->st == ST_PLAIN) {
        if (c->st == ST_FIELD) start_field(c, n, 0);
        end_field(c, n);
      } else if (c->st == ST_QUOTE) {
        end_field(c, n - 1);
      }
      rec_end = n;
      if (c->bad) return finish_bad(c, c->bad);
      materialize(c, rec_end, 1);
    } else {
      if (c->bad) return finish_bad(c, c->bad);
      if (rec_end > c->max_record) return finish_bad(c, BAD_LONG);
      materialize(c, rec_end, 0);
    }
    reset_scan(c);
    if (c->n_fields == 1 && c->lens[0] == 0 && c->fquoted[0] == 0) {
      c->n_fields = 0;
      if (c->unterminated) return CITY_CSV_EOF;
      continue; /* empty line */
    }
    return CITY_CSV_OK;
  }
}

int city_csv_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned b = p[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned cp;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      cp = b & 0x07;
    } else {
      return 0;
    }
    if (n - i < len) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}
