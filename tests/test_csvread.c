/*
 * Tests of city_data/csvread: crafted hostile inputs (quotes, CRLF, empty
 * lines, a cut last line, NUL bytes, a 10 MB line, non-UTF-8 bytes, field
 * counts, empty and header-only input), UTF-8 validation, and a property
 * test: on random byte soup the streaming reader, with tiny and default
 * blocks, returns exactly what a naive whole-buffer reference parser does.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/csvread.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

/* A stream holding n bytes of s. */
static FILE *stream_of(const char *s, size_t n) {
  FILE *fp = tmpfile();
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(s, 1, n, fp), n);
  rewind(fp);
  return fp;
}

/* Reads all records into a printable transcript: "L3:a|b\n" for a record,
 * "L4:BAD\n" for a bad one. */
static char *transcript(const char *s, size_t n, size_t max_record,
                        size_t block) {
  FILE *fp = stream_of(s, n);
  city_csv c;
  city_csv_init(&c, fp, max_record, block);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  out[0] = '\0';
  for (;;) {
    city_csv_status st = city_csv_next(&c);
    if (st == CITY_CSV_EOF) break;
    ck_assert_int_ge(st, 0);
    char head[64];
    snprintf(head, sizeof head, "L%lld:%s", (long long)c.line,
             st == CITY_CSV_BAD ? "BAD" : "");
    size_t need = strlen(head) + 2;
    for (int k = 0; st == CITY_CSV_OK && k < c.n_fields; k++) need += c.lens[k] + 1;
    while (len + need + 1 > cap) out = realloc(out, cap *= 2);
    len += (size_t)sprintf(out + len, "%s", head);
    for (int k = 0; st == CITY_CSV_OK && k < c.n_fields; k++) {
      if (k) out[len++] = '|';
      memcpy(out + len, c.fields[k], c.lens[k]);
      len += c.lens[k];
    }
    out[len++] = '\n';
    out[len] = '\0';
  }
  city_csv_free(&c);
  fclose(fp);
  return out;
}

static void expect(const char *in, const char *want) {
  char *got = transcript(in, strlen(in), 0, 0);
  ck_assert_str_eq(got, want);
  free(got);
  got = transcript(in, strlen(in), 0, 1); /* one byte per fread */
  ck_assert_str_eq(got, want);
  free(got);
}

START_TEST(test_basic_and_quotes) {
  expect("a,b,c\n1,2,3\n", "L1:a|b|c\nL2:1|2|3\n");
  expect("\"a,b\",\"say \"\"hi\"\"\",\n", "L1:a,b|say \"hi\"|\n");
  expect("\"multi\nline\",x\nnext\n", "L1:multi\nline|x\nL3:next\n");
  expect(",\n", "L1:|\n");
  expect("\"\"\n", "L1:\n");
}
END_TEST

START_TEST(test_crlf_empty_lines_truncated) {
  expect("h1,h2\r\n1,2\r\n\r\n\n3,4\r\n", "L1:h1|h2\nL2:1|2\nL5:3|4\n");
  expect("\"q\"\r\nx", "L1:q\nL2:x\n");
  expect("a,b\n1,2", "L1:a|b\nL2:1|2\n"); /* no newline at the end */
  expect("a,b\n1,", "L1:a|b\nL2:1|\n");
  expect("\xEF\xBB\xBFid,x\n", "L1:id|x\n"); /* BOM skipped */
}
END_TEST

START_TEST(test_bad_records_one_line_each) {
  expect("a,b\"c\nok\n", "L1:BAD\nL2:ok\n");
  expect("\"a\"b,c\nok\n", "L1:BAD\nL2:ok\n");
  /* An unterminated quote costs its own line only. */
  expect("x\n\"open,1\n2,3\n4,5\n", "L1:x\nL2:BAD\nL3:2|3\nL4:4|5\n");
  expect("1,\"never closed", "L1:BAD\n");
}
END_TEST

START_TEST(test_nul_bytes) {
  static const char in[] = "a,b\n1,\0002\n3,4\n\"x\0\",y\nz\n";
  char *got = transcript(in, sizeof in - 1, 0, 0);
  ck_assert_str_eq(got, "L1:a|b\nL2:BAD\nL3:3|4\nL4:BAD\nL5:z\n");
  free(got);
  FILE *fp = stream_of(in, sizeof in - 1);
  city_csv c;
  city_csv_init(&c, fp, 0, 0);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_BAD);
  ck_assert_str_eq(c.why, "NUL byte in record");
  ck_assert_int_eq(c.line, 2);
  city_csv_free(&c);
  fclose(fp);
}
END_TEST

START_TEST(test_ten_megabyte_line) {
  size_t big = 10u << 20;
  char *in = malloc(big + 64);
  ck_assert_ptr_nonnull(in);
  memcpy(in, "h\n", 2);
  memset(in + 2, 'x', big);
  strcpy(in + 2 + big, "\nafter,1\n");
  size_t n = strlen(in);
  FILE *fp = stream_of(in, n);
  city_csv c;
  city_csv_init(&c, fp, 0, 0);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_BAD);
  ck_assert_int_eq(c.line, 2);
  ck_assert_str_eq(c.why, "record longer than the line limit");
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(c.line, 3);
  ck_assert_str_eq(c.fields[0], "after");
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_EOF);
  /* The window never grew to hold the line. */
  ck_assert_uint_lt(c.cap, (size_t)CITY_CSV_MAX_RECORD + 2 * CITY_CSV_BLOCK);
  city_csv_free(&c);
  fclose(fp);
  /* The same line quoted (so it spans past the window) and unterminated. */
  in[2] = '"';
  fp = stream_of(in, n);
  city_csv_init(&c, fp, 0, 0);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_BAD);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(c.line, 3);
  city_csv_free(&c);
  fclose(fp);
  free(in);
}
END_TEST

START_TEST(test_non_utf8_and_fields) {
  expect("caf\xe9,\xff\xfe\n", "L1:caf\xe9|\xff\xfe\n");
  FILE *fp = stream_of("caf\xe9,x\nplain\n", 13);
  city_csv c;
  city_csv_init(&c, fp, 0, 0);
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(c.high, 1);
  ck_assert(!city_csv_utf8_valid(c.fields[0], c.lens[0]));
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
  ck_assert_int_eq(c.high, 0);
  city_csv_free(&c);
  fclose(fp);
  ck_assert(city_csv_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x95", 14));
  ck_assert(!city_csv_utf8_valid("\xc0\xaf", 2));         /* overlong */
  ck_assert(!city_csv_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  ck_assert(!city_csv_utf8_valid("\xe2\x82", 2));         /* cut */
  /* Field counts vary per record; 64 is the limit. */
  expect("a\na,b,c\n", "L1:a\nL2:a|b|c\n");
  char many[256] = "";
  for (int k = 0; k < 65; k++) strcat(many, k ? ",x" : "x");
  strcat(many, "\nok\n");
  expect(many, "L1:BAD\nL2:ok\n");
}
END_TEST

START_TEST(test_empty_and_header_only) {
  expect("", "");
  expect("\n\r\n\n", "");
  expect("a,b\n", "L1:a|b\n");
}
END_TEST

/* --- the reference: whole input in memory, one record at a time --------- */

typedef struct {
  char *p;
  size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
  while (t->len + n + 1 > t->cap) t->p = realloc(t->p, t->cap = t->cap * 2 + 64);
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = '\0';
}

/* The rules of csvread.h, written as plainly as possible. */
static char *reference(const char *s, size_t n, size_t max_record) {
  text out = {0}, rec = {0}, field = {0};
  put(&out, "", 0);
  size_t pos = 0;
  long long line = 1;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  while (pos < n) {
    size_t i = pos;
    int nf = 0, bad = 0, inner = 0, quoted0 = 0;
    rec.len = 0;
    put(&rec, "", 0);
    for (;;) { /* one field per pass */
      field.len = 0;
      put(&field, "", 0);
      int quoted = i < n && s[i] == '"';
      if (nf == 0) quoted0 = quoted;
      if (quoted) {
        i++;
        for (;;) {
          if (i >= n) { bad = 1; break; }
          if (s[i] == '"' && i + 1 < n && s[i + 1] == '"') { put(&field, "\"", 1); i += 2; continue; }
          if (s[i] == '"') { i++; break; }
          if (s[i] == '\n') inner++;
          if (s[i] == '\0') bad = 1;
          put(&field, s + i, 1);
          i++;
        }
        while (i < n && s[i] == '\r') i++;
        if (i < n && s[i] != ',' && s[i] != '\n') bad = 1;
      } else {
        while (i < n && s[i] != ',' && s[i] != '\n') {
          if (s[i] == '"' || s[i] == '\0') bad = 1;
          put(&field, s + i, 1);
          i++;
        }
        if ((i >= n || s[i] == '\n') && field.len > 0 && field.p[field.len - 1] == '\r')
          field.len--;
      }
      if (bad) break;
      if (++nf > CITY_CSV_MAX_FIELDS) { bad = 1; break; }
      if (nf > 1) put(&rec, "|", 1);
      put(&rec, field.p, field.len);
      if (i >= n || s[i] == '\n') break;
      i++; /* past the comma */
    }
    size_t end = i < n ? i : n; /* the record's '\n', or the end */
    if (!bad && end - pos > max_record) bad = 1;
    char head[48];
    if (bad) {
      const char *nl = memchr(s + pos, '\n', n - pos);
      pos = nl ? (size_t)(nl - s) + 1 : n;
      snprintf(head, sizeof head, "L%lld:BAD\n", line);
      put(&out, head, strlen(head));
      line++;
      continue;
    }
    pos = end < n ? end + 1 : n;
    if (nf == 1 && rec.len == 0 && !quoted0) { /* an empty line */
      line += 1 + inner;
      continue;
    }
    snprintf(head, sizeof head, "L%lld:", line);
    put(&out, head, strlen(head));
    put(&out, rec.p, rec.len);
    put(&out, "\n", 1);
    line += 1 + inner;
  }
  free(rec.p);
  free(field.p);
  return out.p;
}

/* Random soup biased towards CSV: separators, quotes, CR, LF, NUL, high
 * bytes, well-formed quoted fields and a BOM now and then. */
static size_t soup(pcg32 *r, char *buf, size_t max) {
  static const char alphabet[] = "ab,,,\"\"\n\n\r \x01\x7f";
  size_t n = 0;
  if (pcg32_bounded(r, 8) == 0) {
    memcpy(buf, "\xEF\xBB\xBF", 3);
    n = 3;
  }
  size_t target = pcg32_bounded(r, (uint32_t)max - 8);
  while (n < target) {
    uint32_t k = pcg32_bounded(r, 100);
    if (k < 70) buf[n++] = alphabet[pcg32_bounded(r, sizeof alphabet - 1)];
    else if (k < 75) buf[n++] = '\0';
    else if (k < 80) buf[n++] = (char)(0x80 + pcg32_bounded(r, 128));
    else if (k < 90 && n + 6 < max) {
      memcpy(buf + n, "\"x,\"\"y", 6); /* an open quoted field */
      n += 6;
    } else if (n + 3 < max) {
      memcpy(buf + n, "\",\n", 3);
      n += 3;
    }
  }
  return n;
}

START_TEST(test_matches_reference) {
  pcg32 r;
  pcg32_seed(&r, 0x5eedcafeu, (uint64_t)_i);
  char buf[600];
  for (int round = 0; round < 300; round++) {
    size_t n = soup(&r, buf, sizeof buf);
    size_t max_record = 4 + pcg32_bounded(&r, 60);
    size_t block = 1 + pcg32_bounded(&r, 20);
    char *want = reference(buf, n, max_record);
    char *got = transcript(buf, n, max_record, block);
    ck_assert_str_eq(got, want);
    free(got);
    got = transcript(buf, n, 4096, 0);
    free(want);
    want = reference(buf, n, 4096);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
  }
}
END_TEST

/* Many CSV lines through the default window: a long run crosses many block
 * boundaries and moves partial records to the front. */
START_TEST(test_large_stream) {
  size_t rows = 200000;
  char *in = malloc(rows * 40);
  size_t n = 0;
  for (size_t k = 0; k < rows; k++)
    n += (size_t)sprintf(in + n, "%zu,\"q%zu\",%zu.5\r\n", k, k % 7, k * 3);
  FILE *fp = stream_of(in, n);
  city_csv c;
  city_csv_init(&c, fp, 0, 0);
  for (size_t k = 0; k < rows; k++) {
    ck_assert_int_eq(city_csv_next(&c), CITY_CSV_OK);
    ck_assert_int_eq(c.n_fields, 3);
    ck_assert_int_eq(c.line, (int64_t)k + 1);
    ck_assert_uint_eq(strtoul(c.fields[0], NULL, 10), k);
  }
  ck_assert_int_eq(city_csv_next(&c), CITY_CSV_EOF);
  city_csv_free(&c);
  fclose(fp);
  free(in);
}
END_TEST

static Suite *csvread_suite(void) {
  Suite *s = suite_create("csvread");
  TCase *tc = tcase_create("city_csv_next");
  tcase_add_test(tc, test_basic_and_quotes);
  tcase_add_test(tc, test_crlf_empty_lines_truncated);
  tcase_add_test(tc, test_bad_records_one_line_each);
  tcase_add_test(tc, test_nul_bytes);
  tcase_add_test(tc, test_ten_megabyte_line);
  tcase_add_test(tc, test_non_utf8_and_fields);
  tcase_add_test(tc, test_empty_and_header_only);
  tcase_add_test(tc, test_large_stream);
  tcase_add_loop_test(tc, test_matches_reference, 0, 20);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(csvread_suite()); }
