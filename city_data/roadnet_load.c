/*
 * roadnet_load: reading road networks from node-link JSON and GraphML; see
 * roadnet.h for the formats.
 *
 * Both loaders fill a city_net_raw (nodes in file order, links in file
 * order with node indices) and leave cleaning to city_net_build. Node ids
 * are the file's: integers or strings, looked up through a hash map of
 * their text (an integer id and the same digits as a string are the same
 * node). Every error is one line naming the file and the element: for
 * JSON its path ("net.json: links[17]: length: not a positive number":
 * cJSON keeps no line numbers), for GraphML its line ("net.graphml:812:
 * edge: source 'x' is not a node").
 *
 * GraphML is read by a small hand-written XML reader for the subset
 * OSMnx and NetworkX write, rather than with libxml2: the subset is
 * elements, attributes (either quote style), text, the five named entities
 * and numeric character references, with comments, processing
 * instructions, DOCTYPE and CDATA sections (taken as text) handled; that
 * is about 200 lines with no new dependency for every machine that builds
 * ridesim, and it knows each token's line for the error messages. It is
 * not a validating parser: namespaces are ignored (an element is known by
 * its local name), as are elements GraphML readers may skip (ports,
 * hyperedges, nested graphs' contents are read as the outer graph's).
 * Keys' <default> values are honoured.
 *
 * Costs: linear in the file; the JSON loader holds the cJSON tree (about
 * ten times the text) until the raw arrays are filled.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"
#include "city_data/roadnet.h"

/* ------------------------------------------------------------ id map */

/* Node ids by text: open addressing over an arena of NUL-terminated ids. */
typedef struct {
  char *arena;
  size_t arena_n, arena_cap;
  size_t *slot_off;   /* per slot: offset of its id in the arena */
  int32_t *slot_idx;  /* per slot: node index, -1 when empty */
  size_t cap;         /* slots, a power of two */
  int32_t n;
} idmap;

static uint64_t text_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static void idmap_free(idmap *m) {
  free(m->arena);
  free(m->slot_off);
  free(m->slot_idx);
  memset(m, 0, sizeof *m);
}

static int idmap_grow(idmap *m) {
  size_t cap = m->cap ? 2 * m->cap : 1024;
  size_t *off = malloc(cap * sizeof *off);
  int32_t *idx = malloc(cap * sizeof *idx);
  if (!off || !idx) {
    free(off);
    free(idx);
    return RS_ENOMEM;
  }
  for (size_t i = 0; i < cap; i++) idx[i] = -1;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slot_idx[i] < 0) continue;
    const char *s = m->arena + m->slot_off[i];
    size_t j = text_hash(s, strlen(s)) & (cap - 1);
    while (idx[j] >= 0) j = (j + 1) & (cap - 1);
    off[j] = m->slot_off[i];
    idx[j] = m->slot_idx[i];
  }
  free(m->slot_off);
  free(m->slot_idx);
  m->slot_off = off;
  m->slot_idx = idx;
  m->cap = cap;
  return 0;
}

/* The index of id s (length n), or -1. */
static int32_t idmap_find(const idmap *m, const char *s, size_t n) {
  if (m->cap == 0) return -1;
  size_t j = text_hash(s, n) & (m->cap - 1);
  while (m->slot_idx[j] >= 0) {
    const char *t = m->arena + m->slot_off[j];
    if (strncmp(t, s, n) == 0 && t[n] == '\0') return m->slot_idx[j];
    j = (j + 1) & (m->cap - 1);
  }
  return -1;
}

/* Adds id s as the next index; 0, RS_EINVAL when it exists, RS_ENOMEM. */
static int idmap_add(idmap *m, const char *s, size_t n) {
  if (idmap_find(m, s, n) >= 0) return RS_EINVAL;
  if ((size_t)(m->n + 1) * 2 > m->cap && idmap_grow(m) != 0) return RS_ENOMEM;
  if (rs_vec_grow(m->arena, m->arena_cap, m->arena_n + n + 1)) return RS_ENOMEM;
  memcpy(m->arena + m->arena_n, s, n);
  m->arena[m->arena_n + n] = '\0';
  size_t j = text_hash(s, n) & (m->cap - 1);
  while (m->slot_idx[j] >= 0) j = (j + 1) & (m->cap - 1);
  m->slot_off[j] = m->arena_n;
  m->slot_idx[j] = m->n++;
  m->arena_n += n + 1;
  return 0;
}

/* ------------------------------------------------------------ raw arrays */

typedef struct {
  city_net_raw r;
  size_t node_cap, link_cap;
} raw_buf;

static int raw_node(raw_buf *b, double lat, double lng) {
  size_t need = (size_t)b->r.n_nodes + 1, c1 = b->node_cap, c2 = b->node_cap;
  if (rs_vec_grow(b->r.lat, c1, need) || rs_vec_grow(b->r.lng, c2, need)) return RS_ENOMEM;
  b->node_cap = c1;
  b->r.lat[b->r.n_nodes] = lat;
  b->r.lng[b->r.n_nodes] = lng;
  b->r.n_nodes++;
  return 0;
}

static int raw_link(raw_buf *b, int32_t s, int32_t t, double len, double secs, double kmh) {
  size_t need = (size_t)b->r.n_links + 1, c[5] = {b->link_cap, b->link_cap, b->link_cap,
                                                    b->link_cap, b->link_cap};
  if (rs_vec_grow(b->r.src, c[0], need) || rs_vec_grow(b->r.dst, c[1], need) ||
      rs_vec_grow(b->r.length_m, c[2], need) || rs_vec_grow(b->r.time_s, c[3], need) ||
      rs_vec_grow(b->r.speed_kmh, c[4], need))
    return RS_ENOMEM;
  b->link_cap = c[0];
  int64_t k = b->r.n_links++;
  b->r.src[k] = s;
  b->r.dst[k] = t;
  b->r.length_m[k] = len;
  b->r.time_s[k] = secs;
  b->r.speed_kmh[k] = kmh;
  return 0;
}

/* A link's numbers as read: length > 0 required, time and speed optional
 * (NAN) but positive when present. 0, or the name of the bad field. */
static const char *link_values_bad(double len, double secs, double kmh) {
  if (!(isfinite(len) && len > 0)) return "length";
  if (!isnan(secs) && !(isfinite(secs) && secs > 0)) return "travel_time";
  if (!isnan(kmh) && !(isfinite(kmh) && kmh > 0)) return "speed_kph";
  return NULL;
}

/* ------------------------------------------------------------ JSON */

/* The id of a node or a link end as text in buf: integers without a
 * fraction, strings as they are. 0, or -1 when it is neither. */
static int json_id(const cJSON *it, char *buf, size_t size) {
  if (cJSON_IsString(it)) {
    snprintf(buf, size, "%s", it->valuestring);
    return 0;
  }
  if (cJSON_IsNumber(it)) {
    double d = it->valuedouble;
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      snprintf(buf, size, "%lld", (long long)d);
      return 0;
    }
    snprintf(buf, size, "%.17g", d);
    return 0;
  }
  return -1;
}

/* A number field of obj: NAN when absent or null; -1 when present but not
 * a number. */
static int json_num(const cJSON *obj, const char *key, double *out) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = NAN;
  if (it == NULL || cJSON_IsNull(it)) return 0;
  if (cJSON_IsNumber(it)) {
    *out = it->valuedouble;
    return 0;
  }
  if (cJSON_IsString(it)) { /* some writers stringify every attribute */
    char *end;
    errno = 0;
    double d = strtod(it->valuestring, &end);
    if (end != it->valuestring && *end == '\0' && errno == 0) {
      *out = d;
      return 0;
    }
  }
  return -1;
}

int city_net_parse_json(const char *text, size_t len, const char *origin, city_net_raw *raw,
                        rs_err *e) {
  memset(raw, 0, sizeof *raw);
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (root == NULL) {
    const char *at = cJSON_GetErrorPtr();
    int line = 1;
    if (at != NULL && at >= text && at <= text + len)
      for (const char *p = text; p < at; p++) line += *p == '\n';
    return rs_err_set(e, RS_EFORMAT, "%s:%d: not valid JSON", origin, line);
  }
  raw_buf b;
  memset(&b, 0, sizeof b);
  idmap ids;
  memset(&ids, 0, sizeof ids);
  int rc = 0;
  char id[128];
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
  const cJSON *links = cJSON_GetObjectItemCaseSensitive(root, "links");
  if (links == NULL) links = cJSON_GetObjectItemCaseSensitive(root, "edges");
  const cJSON *directed = cJSON_GetObjectItemCaseSensitive(root, "directed");
  int two_way = cJSON_IsFalse(directed);
  if (!cJSON_IsObject(root) || !cJSON_IsArray(nodes) || !cJSON_IsArray(links)) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: not a node-link graph (needs \"nodes\" and \"links\" "
                    "or \"edges\" arrays)", origin);
    goto out;
  }
  int64_t i = 0;
  for (const cJSON *nd = nodes->child; nd != NULL; nd = nd->next, i++) {
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(nd, "id");
    double x, y;
    if (!cJSON_IsObject(nd) || idv == NULL || json_id(idv, id, sizeof id) != 0) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: nodes[%lld]: id: missing or not a number or string",
                      origin, (long long)i);
      goto out;
    }
    if (json_num(nd, "x", &x) != 0 || !(isfinite(x) && fabs(x) <= 180)) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: nodes[%lld] (id %s): x: missing or not a longitude",
                      origin, (long long)i, id);
      goto out;
    }
    if (json_num(nd, "y", &y) != 0 || !(isfinite(y) && fabs(y) <= 90)) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: nodes[%lld] (id %s): y: missing or not a latitude",
                      origin, (long long)i, id);
      goto out;
    }
    int a = idmap_add(&ids, id, strlen(id));
    if (a == RS_EINVAL) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: nodes[%lld]: id %s: repeats an earlier node", origin,
                      (long long)i, id);
      goto out;
    }
    if (a != 0 || raw_node(&b, y, x) != 0) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
      goto out;
    }
  }
  i = 0;
  for (const cJSON *lk = links->child; lk != NULL; lk = lk->next, i++) {
    int32_t end[2];
    static const char *const ends[2] = {"source", "target"};
    if (!cJSON_IsObject(lk)) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: links[%lld]: not an object", origin, (long long)i);
      goto out;
    }
    for (int k = 0; k < 2; k++) {
      const cJSON *it = cJSON_GetObjectItemCaseSensitive(lk, ends[k]);
      if (it == NULL || json_id(it, id, sizeof id) != 0) {
        rc = rs_err_set(e, RS_EFORMAT, "%s: links[%lld]: %s: missing or not a node id", origin,
                        (long long)i, ends[k]);
        goto out;
      }
      end[k] = idmap_find(&ids, id, strlen(id));
      if (end[k] < 0) {
        rc = rs_err_set(e, RS_EFORMAT, "%s: links[%lld]: %s: '%s' is not a node", origin,
                        (long long)i, ends[k], id);
        goto out;
      }
    }
    double lm, secs, kmh;
    const char *bad = NULL;
    if (json_num(lk, "length", &lm) != 0) bad = "length";
    else if (json_num(lk, "travel_time", &secs) != 0) bad = "travel_time";
    else if (json_num(lk, "speed_kph", &kmh) != 0) bad = "speed_kph";
    else if (isnan(kmh) && json_num(lk, "speed_kmph", &kmh) != 0) bad = "speed_kmph";
    if (bad == NULL) bad = link_values_bad(lm, secs, kmh);
    if (bad != NULL) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: links[%lld]: %s: %s", origin, (long long)i, bad,
                      strcmp(bad, "length") == 0 && isnan(lm) ? "missing"
                                                               : "not a positive number");
      goto out;
    }
    if (raw_link(&b, end[0], end[1], lm, secs, kmh) != 0 ||
        (two_way && raw_link(&b, end[1], end[0], lm, secs, kmh) != 0)) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
      goto out;
    }
  }
out:
  cJSON_Delete(root);
  idmap_free(&ids);
  if (rc == 0) *raw = b.r;
  else city_net_raw_free(&b.r);
  return rc;
}

/* ------------------------------------------------------------ XML reader */

enum { XT_EOF = 0, XT_START, XT_END, XT_TEXT };

#define XML_ATTRS_MAX 32

typedef struct {
  const char *p, *end;
  int line;
  const char *origin;
  rs_err *e;
  /* the current token */
  int kind;
  int tok_line;
  int empty;                 /* a start tag that closed itself (<x/>) */
  const char *name;          /* local name (into buf) */
  int n_attr;
  size_t attr_name[XML_ATTRS_MAX], attr_val[XML_ATTRS_MAX]; /* offsets into buf */
  char *buf;                 /* decoded names, values and text */
  size_t buf_n, buf_cap;
} xml_rd;

static int xml_err(xml_rd *x, int line, const char *fmt, const char *a, const char *b) {
  char msg[300];
  snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
  return rs_err_set(x->e, RS_EFORMAT, "%s:%d: %s", x->origin, line, msg);
}

static int buf_put(xml_rd *x, const char *s, size_t n) {
  if (rs_vec_grow(x->buf, x->buf_cap, x->buf_n + n + 1))
    return rs_err_set(x->e, RS_ENOMEM, "%s: out of memory", x->origin);
  memcpy(x->buf + x->buf_n, s, n);
  x->buf_n += n;
  x->buf[x->buf_n] = '\0';
  return 0;
}

/* Appends text [s, e) with entities decoded, counting lines; the buffer is
 * NUL-terminated after it, also when the text is empty. */
static int put_decoded(xml_rd *x, const char *s, const char *e) {
  if (buf_put(x, s, 0)) return RS_ENOMEM;
  while (s < e) {
    const char *amp = memchr(s, '&', (size_t)(e - s));
    const char *stop = amp ? amp : e;
    for (const char *q = s; q < stop; q++) x->line += *q == '\n';
    if (buf_put(x, s, (size_t)(stop - s))) return RS_ENOMEM;
    if (amp == NULL) break;
    const char *semi = memchr(amp, ';', (size_t)(e - amp));
    if (semi == NULL || semi - amp > 12)
      return xml_err(x, x->line, "an '&' that starts no entity", NULL, NULL);
    char ent[16];
    size_t n = (size_t)(semi - amp - 1);
    memcpy(ent, amp + 1, n);
    ent[n] = '\0';
    char out[4];
    size_t k = 1;
    if (strcmp(ent, "lt") == 0) out[0] = '<';
    else if (strcmp(ent, "gt") == 0) out[0] = '>';
    else if (strcmp(ent, "amp") == 0) out[0] = '&';
    else if (strcmp(ent, "quot") == 0) out[0] = '"';
    else if (strcmp(ent, "apos") == 0) out[0] = '\'';
    else if (ent[0] == '#') {
      char *end;
      errno = 0;
      unsigned long c = ent[1] == 'x' ? strtoul(ent + 2, &end, 16) : strtoul(ent + 1, &end, 10);
      if (*end != '\0' || end == ent + 1 || errno != 0 || c == 0 || c > 0x10ffff)
        return xml_err(x, x->line, "bad character reference '&%s;'", ent, NULL);
      /* UTF-8 */
      if (c < 0x80) {
        out[0] = (char)c;
      } else if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        k = 2;
      } else if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        k = 3;
      } else {
        out[0] = (char)(0xf0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        k = 4;
      }
    } else {
      return xml_err(x, x->line, "unknown entity '&%s;'", ent, NULL);
    }
    if (buf_put(x, out, k)) return RS_ENOMEM;
    s = semi + 1;
  }
  return 0;
}

/* Skips to just past the text `close`, counting lines; -1 when absent. */
static int skip_past(xml_rd *x, const char *close) {
  size_t n = strlen(close);
  for (const char *q = x->p; q + n <= x->end; q++) {
    if (memcmp(q, close, n) == 0) {
      x->p = q + n;
      return 0;
    }
    x->line += *q == '\n';
  }
  return -1;
}

static int is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':' ||
         (unsigned char)c >= 0x80;
}

/* Reads a name at x->p into buf, returns its offset (local part after any
 * prefix), or -1 when there is none. */
static long read_name(xml_rd *x) {
  const char *s = x->p;
  while (x->p < x->end && is_name_char(*x->p)) x->p++;
  if (x->p == s) return -1;
  const char *colon = NULL;
  for (const char *q = s; q < x->p; q++)
    if (*q == ':') colon = q;
  if (colon != NULL && colon + 1 < x->p) s = colon + 1;
  size_t off = x->buf_n;
  if (buf_put(x, s, (size_t)(x->p - s))) return -2;
  x->buf_n++; /* keep the NUL */
  return (long)off;
}

static void skip_ws(xml_rd *x) {
  while (x->p < x->end && isspace((unsigned char)*x->p)) {
    x->line += *x->p == '\n';
    x->p++;
  }
}

/* The next token: a start or end tag, or a run of text (CDATA included). */
static int xml_next(xml_rd *x) {
  x->buf_n = 0;
  x->n_attr = 0;
  x->empty = 0;
  for (;;) {
    x->tok_line = x->line;
    if (x->p >= x->end) {
      x->kind = XT_EOF;
      return 0;
    }
    if (*x->p != '<') {
      /* text, possibly continued by CDATA sections */
      const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));
      const char *stop = lt ? lt : x->end;
      if (put_decoded(x, x->p, stop)) return -1;
      x->p = stop;
      while (x->p + 9 <= x->end && memcmp(x->p, "<![CDATA[", 9) == 0) {
        const char *s = x->p + 9;
        x->p = s;
        if (skip_past(x, "]]>") != 0)
          return xml_err(x, x->tok_line, "a CDATA section that never ends", NULL, NULL);
        if (buf_put(x, s, (size_t)(x->p - 3 - s))) return -1;
      }
      x->kind = XT_TEXT;
      x->name = "";
      return 0;
    }
    if (x->p + 4 <= x->end && memcmp(x->p, "<!--", 4) == 0) {
      x->p += 4;
      if (skip_past(x, "-->") != 0)
        return xml_err(x, x->tok_line, "a comment that never ends", NULL, NULL);
      continue;
    }
    if (x->p + 9 <= x->end && memcmp(x->p, "<![CDATA[", 9) == 0) {
      const char *s = x->p + 9;
      x->p = s;
      if (skip_past(x, "]]>") != 0)
        return xml_err(x, x->tok_line, "a CDATA section that never ends", NULL, NULL);
      if (buf_put(x, s, (size_t)(x->p - 3 - s))) return -1;
      x->kind = XT_TEXT;
      x->name = "";
      return 0;
    }
    if (x->p + 2 <= x->end && x->p[1] == '?') {
      x->p += 2;
      if (skip_past(x, "?>") != 0)
        return xml_err(x, x->tok_line, "a processing instruction that never ends", NULL, NULL);
      continue;
    }
    if (x->p + 2 <= x->end && x->p[1] == '!') {
      /* DOCTYPE and other declarations, with a bracketed internal subset */
      int depth = 0;
      for (x->p += 2; x->p < x->end; x->p++) {
        x->line += *x->p == '\n';
        if (*x->p == '[') depth++;
        else if (*x->p == ']') depth--;
        else if (*x->p == '>' && depth <= 0) break;
      }
      if (x->p >= x->end) return xml_err(x, x->tok_line, "a declaration that never ends", NULL, NULL);
      x->p++;
      continue;
    }
    break;
  }
  /* a tag */
  x->p++;
  int closing = 0;
  if (x->p < x->end && *x->p == '/') {
    closing = 1;
    x->p++;
  }
  long nm = read_name(x);
  if (nm == -2) return -1;
  if (nm < 0) return xml_err(x, x->tok_line, "a '<' that starts no tag", NULL, NULL);
  for (;;) {
    skip_ws(x);
    if (x->p >= x->end) return xml_err(x, x->tok_line, "a tag that never ends", NULL, NULL);
    if (*x->p == '>') {
      x->p++;
      break;
    }
    if (*x->p == '/' && !closing && x->p + 1 < x->end && x->p[1] == '>') {
      x->p += 2;
      x->empty = 1;
      break;
    }
    if (closing) return xml_err(x, x->line, "junk in an end tag", NULL, NULL);
    long an = read_name(x);
    if (an == -2) return -1;
    if (an < 0) return xml_err(x, x->line, "<%s>: expected an attribute name", x->buf + nm, NULL);
    skip_ws(x);
    if (x->p >= x->end || *x->p != '=')
      return xml_err(x, x->line, "<%s>: attribute '%s' has no value", x->buf + nm, x->buf + an);
    x->p++;
    skip_ws(x);
    if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
      return xml_err(x, x->line, "<%s>: attribute '%s' is not quoted", x->buf + nm, x->buf + an);
    char q = *x->p++;
    const char *vs = x->p;
    const char *ve = memchr(vs, q, (size_t)(x->end - vs));
    if (ve == NULL) return xml_err(x, x->line, "<%s>: attribute '%s' never ends", x->buf + nm,
                                   x->buf + an);
    size_t voff = x->buf_n;
    if (put_decoded(x, vs, ve)) return -1;
    x->buf_n++;
    x->p = ve + 1;
    if (x->n_attr < XML_ATTRS_MAX) {
      x->attr_name[x->n_attr] = (size_t)an;
      x->attr_val[x->n_attr] = voff;
      x->n_attr++;
    }
  }
  x->name = x->buf + nm;
  x->kind = closing ? XT_END : XT_START;
  return 0;
}

static const char *xml_attr(const xml_rd *x, const char *name) {
  for (int i = 0; i < x->n_attr; i++)
    if (strcmp(x->buf + x->attr_name[i], name) == 0) return x->buf + x->attr_val[i];
  return NULL;
}

/* ------------------------------------------------------------ GraphML */

enum { GK_OTHER = 0, GK_X, GK_Y, GK_LENGTH, GK_TIME, GK_SPEED };

typedef struct {
  char id[64];
  int is_node, is_edge;  /* for= node / edge / all */
  int what;              /* GK_* by attr.name */
  double dflt;           /* <default>, NAN when none */
} gm_key;

/* An edge whose ends are resolved once every node is known. */
typedef struct {
  size_t src_off, dst_off; /* ids in the id arena below */
  int line;
  int two_way;
} gm_edge;

static int parse_double(const char *s, double *out) {
  while (isspace((unsigned char)*s)) s++;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s) return -1;
  while (isspace((unsigned char)*end)) end++;
  if (*end != '\0' || errno == ERANGE) return -1;
  *out = d;
  return 0;
}

int city_net_parse_graphml(const char *text, size_t len, const char *origin, city_net_raw *raw,
                           rs_err *e) {
  memset(raw, 0, sizeof *raw);
  xml_rd x;
  memset(&x, 0, sizeof x);
  x.p = text;
  x.end = text + len;
  x.line = 1;
  x.origin = origin;
  x.e = e;
  raw_buf b;
  memset(&b, 0, sizeof b);
  idmap ids;
  memset(&ids, 0, sizeof ids);
  gm_key *keys = NULL;
  size_t n_keys = 0, keys_cap = 0;
  gm_edge *edges = NULL;
  size_t n_edges = 0, edges_cap = 0;
  char *earena = NULL;      /* edge end ids */
  size_t earena_n = 0, earena_cap = 0;
  double *eval = NULL;      /* per edge: length, time, speed */
  size_t eval_cap = 0;
  int rc = 0, seen_graphml = 0, undirected = 0;
  /* the element being read */
  enum { IN_NONE, IN_NODE, IN_EDGE, IN_KEY } in = IN_NONE;
  int in_line = 0;
  char cur_id[128] = "";
  double cx = NAN, cy = NAN, clen = NAN, ctime = NAN, cspeed = NAN;
  long data_key = -1;       /* inside <data>: its key's index (a <key> met
                               inside may move the array: no pointer) */
  int in_data = 0, in_default = 0, data_line = 0;
  char *text_acc = NULL;
  size_t text_n = 0, text_cap = 0;
  for (;;) {
    if (xml_next(&x) != 0) {
      rc = e != NULL && e->code ? e->code : RS_EFORMAT;
      goto out;
    }
    if (x.kind == XT_EOF) break;
    if (x.kind == XT_TEXT) {
      if (!in_data && !in_default) continue;
      size_t n = x.buf_n;
      if (rs_vec_grow(text_acc, text_cap, text_n + n + 1)) {
        rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
        goto out;
      }
      memcpy(text_acc + text_n, x.buf, n);
      text_n += n;
      text_acc[text_n] = '\0';
      continue;
    }
    const char *nm = x.name;
    if (x.kind == XT_START) {
      if (strcmp(nm, "graphml") == 0) {
        seen_graphml = 1;
      } else if (!seen_graphml) {
        rc = xml_err(&x, x.tok_line, "<%s>: not a GraphML file (no <graphml> element)", nm, NULL);
        goto out;
      } else if (strcmp(nm, "key") == 0) {
        const char *id = xml_attr(&x, "id"), *fr = xml_attr(&x, "for");
        const char *an = xml_attr(&x, "attr.name");
        if (id == NULL) {
          rc = xml_err(&x, x.tok_line, "key: no id", NULL, NULL);
          goto out;
        }
        if (rs_vec_grow(keys, keys_cap, n_keys + 1)) {
          rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
          goto out;
        }
        gm_key *k = &keys[n_keys++];
        snprintf(k->id, sizeof k->id, "%s", id);
        k->is_node = fr == NULL || strcmp(fr, "node") == 0 || strcmp(fr, "all") == 0;
        k->is_edge = fr == NULL || strcmp(fr, "edge") == 0 || strcmp(fr, "all") == 0;
        k->dflt = NAN;
        k->what = GK_OTHER;
        if (an != NULL) {
          if (strcmp(an, "x") == 0) k->what = GK_X;
          else if (strcmp(an, "y") == 0) k->what = GK_Y;
          else if (strcmp(an, "length") == 0) k->what = GK_LENGTH;
          else if (strcmp(an, "travel_time") == 0) k->what = GK_TIME;
          else if (strcmp(an, "speed_kph") == 0 || strcmp(an, "speed_kmph") == 0)
            k->what = GK_SPEED;
        }
        if (!x.empty) {
          in = IN_KEY;
          in_line = x.tok_line;
        }
      } else if (strcmp(nm, "default") == 0 && in == IN_KEY) {
        in_default = 1;
        text_n = 0;
        data_line = x.tok_line;
      } else if (strcmp(nm, "graph") == 0) {
        const char *ed = xml_attr(&x, "edgedefault");
        undirected = ed != NULL && strcmp(ed, "undirected") == 0;
      } else if (strcmp(nm, "node") == 0) {
        const char *id = xml_attr(&x, "id");
        if (id == NULL) {
          rc = xml_err(&x, x.tok_line, "node: no id", NULL, NULL);
          goto out;
        }
        snprintf(cur_id, sizeof cur_id, "%s", id);
        in = IN_NODE;
        in_line = x.tok_line;
        cx = cy = NAN;
        for (size_t i = 0; i < n_keys; i++) {
          if (!keys[i].is_node) continue;
          if (keys[i].what == GK_X) cx = keys[i].dflt;
          if (keys[i].what == GK_Y) cy = keys[i].dflt;
        }
        int a = idmap_add(&ids, id, strlen(id));
        if (a == RS_EINVAL) {
          rc = xml_err(&x, x.tok_line, "node: id '%s' repeats an earlier node", id, NULL);
          goto out;
        }
        if (a != 0) {
          rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
          goto out;
        }
      } else if (strcmp(nm, "edge") == 0) {
        const char *s = xml_attr(&x, "source"), *t = xml_attr(&x, "target");
        const char *dir = xml_attr(&x, "directed");
        if (s == NULL || t == NULL) {
          rc = xml_err(&x, x.tok_line, "edge: no %s", s == NULL ? "source" : "target", NULL);
          goto out;
        }
        if (rs_vec_grow(edges, edges_cap, n_edges + 1) ||
            rs_vec_grow(eval, eval_cap, 3 * (n_edges + 1))) {
          rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
          goto out;
        }
        size_t ls = strlen(s) + 1, lt = strlen(t) + 1;
        if (rs_vec_grow(earena, earena_cap, earena_n + ls + lt)) {
          rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
          goto out;
        }
        gm_edge *g = &edges[n_edges];
        g->src_off = earena_n;
        memcpy(earena + earena_n, s, ls);
        earena_n += ls;
        g->dst_off = earena_n;
        memcpy(earena + earena_n, t, lt);
        earena_n += lt;
        g->line = x.tok_line;
        g->two_way = dir != NULL ? strcmp(dir, "false") == 0 : undirected;
        in = IN_EDGE;
        in_line = x.tok_line;
        clen = ctime = cspeed = NAN;
        for (size_t i = 0; i < n_keys; i++) {
          if (!keys[i].is_edge) continue;
          if (keys[i].what == GK_LENGTH) clen = keys[i].dflt;
          if (keys[i].what == GK_TIME) ctime = keys[i].dflt;
          if (keys[i].what == GK_SPEED) cspeed = keys[i].dflt;
        }
        if (x.empty) goto edge_done;
      } else if (strcmp(nm, "data") == 0 && (in == IN_NODE || in == IN_EDGE)) {
        const char *k = xml_attr(&x, "key");
        data_key = -1;
        for (size_t i = 0; k != NULL && i < n_keys && data_key < 0; i++)
          if (strcmp(keys[i].id, k) == 0) data_key = (long)i;
        if (k == NULL || data_key < 0) {
          rc = xml_err(&x, x.tok_line, "data: key '%s' is not declared by a <key>",
                       k ? k : "(none)", NULL);
          goto out;
        }
        in_data = !x.empty;
        text_n = 0;
        data_line = x.tok_line;
      }
      if (!x.empty || strcmp(nm, "node") != 0) continue;
      /* <node id="..."/>: no coordinates unless keys give defaults */
      goto node_done;
    }
    /* end tags */
    if (strcmp(nm, "default") == 0 && in_default) {
      in_default = 0;
      gm_key *k = &keys[n_keys - 1];
      if (k->what != GK_OTHER && parse_double(text_n ? text_acc : "", &k->dflt) != 0) {
        rc = xml_err(&x, data_line, "key '%s': default: not a number", k->id, NULL);
        goto out;
      }
    } else if (strcmp(nm, "key") == 0) {
      in = IN_NONE;
    } else if (strcmp(nm, "data") == 0 && in_data) {
      in_data = 0;
      const gm_key *dk = &keys[data_key];
      if (dk->what == GK_OTHER) continue;
      double v;
      static const char *const names[] = {"", "x", "y", "length", "travel_time", "speed_kph"};
      if (parse_double(text_n ? text_acc : "", &v) != 0) {
        char shown[48];
        snprintf(shown, sizeof shown, "%.40s", text_n ? text_acc : "");
        rc = xml_err(&x, data_line, "%s: '%s' is not a number", names[dk->what], shown);
        goto out;
      }
      if (in == IN_NODE && dk->is_node) {
        if (dk->what == GK_X) cx = v;
        if (dk->what == GK_Y) cy = v;
      } else if (in == IN_EDGE && dk->is_edge) {
        if (dk->what == GK_LENGTH) clen = v;
        if (dk->what == GK_TIME) ctime = v;
        if (dk->what == GK_SPEED) cspeed = v;
      }
    } else if (strcmp(nm, "node") == 0 && in == IN_NODE) {
    node_done:
      if (!(isfinite(cx) && fabs(cx) <= 180)) {
        rc = xml_err(&x, in_line, "node '%s': x: missing or not a longitude", cur_id, NULL);
        goto out;
      }
      if (!(isfinite(cy) && fabs(cy) <= 90)) {
        rc = xml_err(&x, in_line, "node '%s': y: missing or not a latitude", cur_id, NULL);
        goto out;
      }
      if (raw_node(&b, cy, cx) != 0) {
        rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
        goto out;
      }
      in = IN_NONE;
    } else if (strcmp(nm, "edge") == 0 && in == IN_EDGE) {
    edge_done:;
      const char *bad = link_values_bad(clen, ctime, cspeed);
      if (bad != NULL) {
        rc = xml_err(&x, in_line, "edge: %s: %s", bad,
                     strcmp(bad, "length") == 0 && isnan(clen) ? "missing"
                                                               : "not a positive number");
        goto out;
      }
      eval[3 * n_edges] = clen;
      eval[3 * n_edges + 1] = ctime;
      eval[3 * n_edges + 2] = cspeed;
      n_edges++;
      in = IN_NONE;
    }
  }
  if (!seen_graphml) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: not a GraphML file (no <graphml> element)", origin);
    goto out;
  }
  for (size_t i = 0; i < n_edges; i++) {
    const gm_edge *g = &edges[i];
    const char *s = earena + g->src_off, *t = earena + g->dst_off;
    int32_t a = idmap_find(&ids, s, strlen(s)), c = idmap_find(&ids, t, strlen(t));
    if (a < 0 || c < 0) {
      rc = xml_err(&x, g->line, a < 0 ? "edge: source '%s' is not a node"
                                      : "edge: target '%s' is not a node",
                   a < 0 ? s : t, NULL);
      goto out;
    }
    const double *v = eval + 3 * i;
    if (raw_link(&b, a, c, v[0], v[1], v[2]) != 0 ||
        (g->two_way && raw_link(&b, c, a, v[0], v[1], v[2]) != 0)) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
      goto out;
    }
  }
out:
  free(x.buf);
  free(keys);
  free(edges);
  free(earena);
  free(eval);
  free(text_acc);
  idmap_free(&ids);
  if (rc == 0) *raw = b.r;
  else city_net_raw_free(&b.r);
  return rc;
}

/* ------------------------------------------------------------ files */

int city_net_load(const char *path, city_net **out, rs_err *e) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rs_err_set(e, errno == ENOENT ? RS_ENOENT : RS_EIO, "%s: %s", path, strerror(errno));
  char *text = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (n + 65536 > CITY_NET_FILE_MAX) {
      rc = rs_err_set(e, RS_ERANGE, "%s: larger than %zu bytes", path, CITY_NET_FILE_MAX);
      break;
    }
    if (rs_vec_grow(text, cap, n + 65536 + 1)) { /* and a NUL */
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
      break;
    }
    size_t k = fread(text + n, 1, cap - 1 - n, f);
    n += k;
    if (k == 0) {
      if (ferror(f)) rc = rs_err_set(e, RS_EIO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (rc) {
    free(text);
    return rc;
  }
  text[n] = '\0';
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t i = 0;
  while (i < n && isspace((unsigned char)text[i])) i++;
  city_net_raw raw;
  if (i < n && text[i] == '<') rc = city_net_parse_graphml(text, n, base, &raw, e);
  else rc = city_net_parse_json(text, n, base, &raw, e);
  free(text);
  if (rc) return rc;
  rc = city_net_build(&raw, base, out, e);
  city_net_raw_free(&raw);
  return rc;
}
