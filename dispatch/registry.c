/*
 * registry: the table of policies, their option schemas, the values' layout
 * and the builds; see registry.h.
 *
 * The table (ENTRIES below) is the one list of policies. Each entry points
 * at its constructors: the policies of policies.c are built directly; v1d3
 * reads its options here into disp_v1d3_opts (the glue between the schema
 * and v1d3.h's own options struct, so v1d3.c stays free of the schema).
 *
 * Layout of the values: an option's slot is its rank among the options of
 * its storage class (numbers: number, integer, bool, enum; strings: string,
 * path) over the whole table in order, so adding an entry or an option
 * moves the slots after it. Nothing keeps slots across versions: scenarios
 * are stored as JSON, by key, never as the struct.
 *
 * Rejected: a slot number written in each option (a second list to keep in
 * step), and an X-macro of every option (the help texts and choices read
 * badly inside a macro); disp_registry_check walks what the table must
 * satisfy instead, and tests run it.
 */
#include "dispatch/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/v1d3.h"
#include "value/vstore.h"

/* ------------------------------------------------- v1d3: options and model */

/* v1d3's options, in the order of its schema. */
enum {
  V1D3_MODE, V1D3_TABLE, V1D3_LR, V1D3_GAMMA, V1D3_SLOT, V1D3_SPLIT, V1D3_ENS_PERIOD,
  V1D3_ENS_W, V1D3_TAU, V1D3_REPO_RADIUS, V1D3_SERVE_FIRST, V1D3_REPO_MIN_GAIN,
  V1D3_LEARN_FREE, V1D3_FLATTEN, V1D3_N_OPTS
};

/* The modes by their DISP_V1D3_* index. */
static const char *const V1D3_MODES[] = {
  [DISP_V1D3_ONLINE] = "online", [DISP_V1D3_OFFLINE] = "offline",
  [DISP_V1D3_ENSEMBLE] = "ensemble", NULL,
};

/* Ranges as the scenario files have always had them (gamma from 1e-9: a
 * zero discount would erase every future value). */
static const disp_opt_spec V1D3_OPTS[V1D3_N_OPTS] = {
  [V1D3_MODE] = {.key = "mode", .type = DISP_OPT_ENUM, .def = DISP_V1D3_ONLINE,
                 .choices = V1D3_MODES, .flag = "value-mode", .metavar = "M",
                 .help = "online (learn from scratch) | offline (a trained table, frozen) | "
                         "ensemble (learn, and blend with the trained table every period)",
                 .alias = "value.mode"},
  [V1D3_TABLE] = {.key = "table", .type = DISP_OPT_PATH, .def_str = NULL,
                  .flag = "value-table", .metavar = "FILE",
                  .help = "a table from 'ridesim train' or --value-out: required by offline "
                          "and ensemble, the starting point of online (warm start)",
                  .alias = "value.table"},
  [V1D3_LR] = {.key = "lr", .type = DISP_OPT_NUMBER, .def = VAL_LR_DEFAULT, .lo = 0, .hi = 1,
               .flag = "lr", .metavar = "X", .help = "online TD learning rate",
               .alias = "value.lr"},
  [V1D3_GAMMA] = {.key = "gamma", .type = DISP_OPT_NUMBER, .def = VAL_GAMMA_DEFAULT,
                  .lo = 1e-9, .hi = 1, .flag = "gamma", .metavar = "X",
                  .help = "discount per 10 minutes", .alias = "value.gamma"},
  [V1D3_SLOT] = {.key = "slot_s", .type = DISP_OPT_INTEGER, .def = VAL_SLOT_DEFAULT_S,
                 .lo = 1, .hi = 86400,
                 .help = "time slot of the table in seconds (divides the day)",
                 .alias = "value.slot_s"},
  [V1D3_SPLIT] = {.key = "split_daytype", .type = DISP_OPT_BOOL, .def = 0,
                  .flag = "split-daytype", .flag_sets = 1,
                  .help = "separate weekday and weekend tables (a table read from a file "
                          "keeps its own)",
                  .alias = "value.split_daytype"},
  [V1D3_ENS_PERIOD] = {.key = "ensemble_period_s", .type = DISP_OPT_INTEGER,
                       .def = DISP_V1D3_ENSEMBLE_PERIOD_S, .lo = 1, .hi = 86400 * 7,
                       .flag = "ensemble-minutes", .metavar = "M", .flag_scale = 60,
                       .help = "blend period of the ensemble mode (the flag in minutes)",
                       .alias = "value.ensemble_period_s"},
  [V1D3_ENS_W] = {.key = "ensemble_w", .type = DISP_OPT_NUMBER, .def = DISP_V1D3_ENSEMBLE_W,
                  .lo = 0, .hi = 1, .flag = "ensemble-w", .metavar = "W",
                  .help = "online weight in a blend", .alias = "value.ensemble_w"},
  [V1D3_TAU] = {.key = "tau", .type = DISP_OPT_NUMBER, .def = DISP_V1D3_TAU, .lo = 0,
                .hi = 1e9, .flag = "tau", .metavar = "T",
                .help = "repositioning softmax temperature", .alias = "value.tau"},
  [V1D3_REPO_RADIUS] = {.key = "repo_radius_m", .type = DISP_OPT_NUMBER,
                        .def = DISP_V1D3_REPO_RADIUS_M, .lo = 0, .hi = 1e6,
                        .help = "repositioning reach in metres", .alias = "value.repo_radius_m"},
  [V1D3_SERVE_FIRST] = {.key = "serve_first", .type = DISP_OPT_BOOL, .def = 1,
                        .flag = "pure-v1d3", .flag_sets = 0,
                        .help = "true: dispatch serves as many orders as possible, then "
                                "maximises the value; false: V1D3's weights alone, leaving "
                                "orders whose every edge scores <= 0",
                        .alias = "value.serve_first"},
  [V1D3_REPO_MIN_GAIN] = {.key = "repo_min_gain", .type = DISP_OPT_NUMBER,
                          .def = DISP_V1D3_REPO_MIN_GAIN, .lo = 0, .hi = 1e9,
                          .flag = "repo-min-gain", .metavar = "X",
                          .help = "money a repositioning move must gain over staying"},
  [V1D3_LEARN_FREE] = {.key = "learn_free", .type = DISP_OPT_BOOL, .def = 1,
                       .flag = "no-time-free", .flag_sets = 0,
                       .help = "learn the time-free layer, the prior of states not updated "
                               "yet (false: they read their neighbours, else 0)"},
  [V1D3_FLATTEN] = {.key = "flatten", .type = DISP_OPT_BOOL, .def = 0,
                    .flag = "value-flatten", .flag_sets = 1,
                    .help = "ablation: every slot of the tables the policies read replaced "
                            "by its mean over cells"},
};

static double opt_num(const disp_registry_entry *self, const disp_optvals *v, int i) {
  return disp_optvals_num(v, self, &self->opts[i]);
}

static const char *opt_str(const disp_registry_entry *self, const disp_optvals *v, int i) {
  return disp_optvals_str(v, self, &self->opts[i]);
}

static int v1d3_check(const disp_registry_entry *self, const disp_optvals *v, rs_err *e) {
  int32_t slot = (int32_t)opt_num(self, v, V1D3_SLOT);
  if (86400 % slot != 0)
    return rs_err_set(e, RS_EINVAL, "'policies.%s.slot_s' must divide the day (86400 s)",
                      self->name);
  int32_t mode = (int32_t)opt_num(self, v, V1D3_MODE);
  if (mode != DISP_V1D3_ONLINE && opt_str(self, v, V1D3_TABLE) == NULL)
    return rs_err_set(e, RS_EINVAL, "%s mode '%s' needs 'policies.%s.table' (--value-table)",
                      self->name, V1D3_MODES[mode], self->name);
  return 0;
}

/* Every mode reads a given table: online starts from it (warm start). */
static const char *v1d3_reads_file(const disp_registry_entry *self, const disp_optvals *v) {
  return opt_str(self, v, V1D3_TABLE);
}

/* The value model of a run, from v1d3's options and the shared ones. */
static int v1d3_model_new(const disp_registry_entry *self, const disp_build *b, void **model,
                          rs_err *e) {
  const disp_optvals *v = b->v;
  disp_v1d3_opts o;
  disp_v1d3_defaults(&o);
  o.mode = (int32_t)opt_num(self, v, V1D3_MODE);
  o.cfg.slot_s = (int32_t)opt_num(self, v, V1D3_SLOT);
  o.cfg.day_types = opt_num(self, v, V1D3_SPLIT) != 0 ? 2 : 1;
  o.cfg.gamma = opt_num(self, v, V1D3_GAMMA);
  o.lr = opt_num(self, v, V1D3_LR);
  o.ensemble_w = opt_num(self, v, V1D3_ENS_W);
  o.ensemble_period_s = (int64_t)opt_num(self, v, V1D3_ENS_PERIOD);
  o.tau = opt_num(self, v, V1D3_TAU);
  o.repo_radius_m = opt_num(self, v, V1D3_REPO_RADIUS);
  o.serve_first = opt_num(self, v, V1D3_SERVE_FIRST) != 0;
  o.repo_min_gain = opt_num(self, v, V1D3_REPO_MIN_GAIN);
  o.learn_free = opt_num(self, v, V1D3_LEARN_FREE) != 0;
  o.flatten = opt_num(self, v, V1D3_FLATTEN) != 0;
  o.driver_top_k = b->o->driver_top_k;
  o.p_cancel = b->p_cancel;
  o.p_cancel_ctx = b->p_cancel_ctx;
  val_table *offline = NULL;
  const char *path = opt_str(self, v, V1D3_TABLE);
  if (o.mode != DISP_V1D3_ONLINE && path == NULL)
    return rs_err_set(e, RS_EINVAL, "%s mode '%s' needs 'policies.%s.table' (--value-table)",
                      self->name, V1D3_MODES[o.mode], self->name);
  if (path != NULL) { /* online: the starting point (warm start) */
    val_meta m;
    int rc = val_store_load(path, b->travel->city, b->grid, &offline, &m, e);
    if (rc) return rc;
  }
  disp_v1d3 *vm = NULL;
  int rc = disp_v1d3_new(b->travel, b->grid, &o, offline, &vm, e);
  *model = vm;
  return rc;
}

static void v1d3_model_free(void *model) { disp_v1d3_free(model); }
static disp_observer v1d3_observer(void *model) { return disp_v1d3_observer(model); }
static const val_table *v1d3_table(const void *model) { return disp_v1d3_table(model); }

static int v1d3_dispatch_new(void *model, const disp_build *b, disp_policy *p, rs_err *e) {
  (void)b;
  return disp_v1d3_dispatch(model, p, e);
}

static int v1d3_reposition_new(void *model, const disp_build *b, disp_repolicy *p,
                               rs_err *e) {
  (void)b;
  return disp_v1d3_reposition(model, p, e);
}

/* ------------------------------------------------- the model-free policies */

static int fcfs_new(void *model, const disp_build *b, disp_policy *p, rs_err *e) {
  (void)model;
  (void)b;
  return disp_greedy_new(0, p, e);
}

static int random_new(void *model, const disp_build *b, disp_policy *p, rs_err *e) {
  (void)model;
  (void)b;
  return disp_greedy_new(1, p, e);
}

static int batch_distance_new(void *model, const disp_build *b, disp_policy *p, rs_err *e) {
  (void)model;
  return disp_batch_distance_new(b->o != NULL ? b->o->driver_top_k : 0, p, e);
}

static int stay_new(void *model, const disp_build *b, disp_repolicy *p, rs_err *e) {
  (void)model;
  (void)b;
  (void)e;
  disp_stay_new(p);
  return 0;
}

static int random_walk_new(void *model, const disp_build *b, disp_repolicy *p, rs_err *e) {
  (void)model;
  (void)b;
  (void)e;
  disp_random_walk_new(p);
  return 0;
}

/* --------------------------------------------------------------- the table */

static const disp_registry_entry ENTRIES[] = {
  {.name = "fcfs-nearest", .kind = DISP_REG_DISPATCH,
   .help = "each order, as it arrives, takes its nearest free candidate",
   .dispatch_new = fcfs_new},
  {.name = "random", .kind = DISP_REG_DISPATCH,
   .help = "each order takes a uniformly random free candidate: a floor for comparisons",
   .dispatch_new = random_new},
  {.name = "batch-distance", .kind = DISP_REG_DISPATCH,
   .help = "every tick, one exact matching of the waiting orders: the most orders served, "
           "then the least pickup distance",
   .reads = "driver_top_k", .dispatch_new = batch_distance_new},
  {.name = "stay", .kind = DISP_REG_REPOSITION, .help = "nobody moves",
   .reposition_new = stay_new},
  {.name = "random-walk", .kind = DISP_REG_REPOSITION,
   .help = "every eligible driver heads to a random neighbouring cell",
   .reposition_new = random_walk_new},
  {.name = "v1d3", .kind = DISP_REG_DISPATCH | DISP_REG_REPOSITION,
   .needs = DISP_REG_NEEDS_MODEL | DISP_REG_NEEDS_TABLE,
   .help = "one spatiotemporal value table (V1D3, KDD 2021), learnt in the run and/or "
           "trained offline: dispatch by matching on value advantage, repositioning by a "
           "softmax over the reachable cells",
   .reads = "driver_top_k, cancel", .opts = V1D3_OPTS, .n_opts = V1D3_N_OPTS,
   .check = v1d3_check, .reads_file = v1d3_reads_file, .model_new = v1d3_model_new,
   .model_free = v1d3_model_free, .observer = v1d3_observer, .table = v1d3_table,
   .dispatch_new = v1d3_dispatch_new, .reposition_new = v1d3_reposition_new},
};

#define N_ENTRIES ((int32_t)(sizeof ENTRIES / sizeof ENTRIES[0]))

int32_t disp_registry_count(void) { return N_ENTRIES; }

const disp_registry_entry *disp_registry_at(int32_t i) {
  return i >= 0 && i < N_ENTRIES ? &ENTRIES[i] : NULL;
}

const disp_registry_entry *disp_registry_find(const char *name) {
  for (int32_t i = 0; name != NULL && i < N_ENTRIES; i++)
    if (strcmp(ENTRIES[i].name, name) == 0) return &ENTRIES[i];
  return NULL;
}

void disp_registry_names(unsigned kind, unsigned without, const char *sep, char *buf,
                         size_t size) {
  size_t n = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < N_ENTRIES; i++) {
    const disp_registry_entry *d = &ENTRIES[i];
    if (!(d->kind & kind) || (d->needs & without)) continue;
    int w = snprintf(buf + n, size - n, "%s%s", n ? sep : "", d->name);
    if (w < 0 || (size_t)w >= size - n) { /* whole names only */
      buf[n] = '\0';
      break;
    }
    n += (size_t)w;
  }
}

static const char *kind_word(unsigned kind) {
  return kind == DISP_REG_REPOSITION ? "repositioning" : "dispatch";
}

int disp_registry_lookup(const char *name, unsigned kind, const disp_registry_entry **out,
                         rs_err *e) {
  const disp_registry_entry *d = disp_registry_find(name);
  *out = NULL;
  if (d != NULL && (d->kind & kind)) {
    *out = d;
    return 0;
  }
  char known[256];
  disp_registry_names(kind, 0, ", ", known, sizeof known);
  if (d != NULL)
    return rs_err_set(e, RS_EINVAL, "'%s' is not a %s policy (%s policies: %s)", name,
                      kind_word(kind), kind_word(kind), known);
  return rs_err_set(e, RS_EINVAL, "unknown %s policy '%s' (known: %s)", kind_word(kind), name,
                    known);
}

/* -------------------------------------------------------------- the schema */

static int is_str(disp_opt_type t) { return t == DISP_OPT_STRING || t == DISP_OPT_PATH; }

/* The slot of option o of ent: its rank among the options of its storage
 * class over the table; -1 when o is not one of ent's. */
static int32_t slot_of(const disp_registry_entry *ent, const disp_opt_spec *o) {
  int32_t n = 0;
  for (int32_t i = 0; i < N_ENTRIES; i++) {
    const disp_registry_entry *d = &ENTRIES[i];
    for (int32_t k = 0; k < d->n_opts; k++) {
      const disp_opt_spec *p = &d->opts[k];
      if (d == ent && p == o) return n;
      if (is_str(p->type) == is_str(o->type)) n++;
    }
  }
  return -1;
}

const disp_opt_spec *disp_registry_opt(const disp_registry_entry *ent, const char *key) {
  for (int32_t k = 0; ent != NULL && k < ent->n_opts; k++)
    if (strcmp(ent->opts[k].key, key) == 0) return &ent->opts[k];
  return NULL;
}

int32_t disp_registry_n_opts(void) {
  int32_t n = 0;
  for (int32_t i = 0; i < N_ENTRIES; i++) n += ENTRIES[i].n_opts;
  return n;
}

const disp_opt_spec *disp_registry_opt_at(int32_t i, const disp_registry_entry **ent) {
  for (int32_t k = 0; k < N_ENTRIES && i >= 0; k++) {
    if (i < ENTRIES[k].n_opts) {
      if (ent != NULL) *ent = &ENTRIES[k];
      return &ENTRIES[k].opts[i];
    }
    i -= ENTRIES[k].n_opts;
  }
  if (ent != NULL) *ent = NULL;
  return NULL;
}

/* Whether alias "OBJECT.KEY" is `object` then `key` (key NULL: any key). */
static int alias_is(const char *alias, const char *object, const char *key) {
  size_t n = strlen(object);
  if (alias == NULL || strncmp(alias, object, n) != 0 || alias[n] != '.') return 0;
  return key == NULL || strcmp(alias + n + 1, key) == 0;
}

const disp_opt_spec *disp_registry_alias(const char *object, const char *key,
                                         const disp_registry_entry **ent) {
  for (int32_t i = 0; i < N_ENTRIES; i++)
    for (int32_t k = 0; k < ENTRIES[i].n_opts; k++)
      if (alias_is(ENTRIES[i].opts[k].alias, object, key)) {
        if (ent != NULL) *ent = &ENTRIES[i];
        return &ENTRIES[i].opts[k];
      }
  if (ent != NULL) *ent = NULL;
  return NULL;
}

int disp_registry_alias_object(const char *object) {
  for (int32_t i = 0; i < N_ENTRIES; i++)
    for (int32_t k = 0; k < ENTRIES[i].n_opts; k++)
      if (alias_is(ENTRIES[i].opts[k].alias, object, NULL)) return 1;
  return 0;
}

const char *disp_opt_type_name(disp_opt_type t) {
  switch (t) {
  case DISP_OPT_NUMBER: return "number";
  case DISP_OPT_INTEGER: return "integer";
  case DISP_OPT_BOOL: return "bool";
  case DISP_OPT_STRING: return "string";
  case DISP_OPT_PATH: return "path";
  case DISP_OPT_ENUM: return "enum";
  }
  return "unknown";
}

void disp_opt_expect(const disp_opt_spec *o, char *buf, size_t size) {
  switch (o->type) {
  case DISP_OPT_NUMBER: snprintf(buf, size, "a number from %g to %g", o->lo, o->hi); return;
  case DISP_OPT_INTEGER: snprintf(buf, size, "an integer from %g to %g", o->lo, o->hi); return;
  case DISP_OPT_BOOL: snprintf(buf, size, "true or false"); return;
  case DISP_OPT_STRING: snprintf(buf, size, "a string or null"); return;
  case DISP_OPT_PATH: snprintf(buf, size, "a path (a string) or null"); return;
  case DISP_OPT_ENUM: {
    size_t n = (size_t)snprintf(buf, size, "one of ");
    for (int32_t i = 0; o->choices[i] != NULL && n < size; i++)
      n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", i ? ", " : "", o->choices[i]);
    return;
  }
  }
  snprintf(buf, size, "a value");
}

/* -------------------------------------------------------------- the values */

static int32_t n_choices(const disp_opt_spec *o) {
  int32_t n = 0;
  while (o->choices != NULL && o->choices[n] != NULL) n++;
  return n;
}

/* Whether x is a valid value of a non-string option. */
static int num_ok(const disp_opt_spec *o, double x) {
  switch (o->type) {
  case DISP_OPT_NUMBER: return isfinite(x) && x >= o->lo && x <= o->hi;
  case DISP_OPT_INTEGER: return isfinite(x) && x == floor(x) && x >= o->lo && x <= o->hi;
  case DISP_OPT_BOOL: return x == 0 || x == 1;
  case DISP_OPT_ENUM: return x >= 0 && x < n_choices(o) && x == floor(x);
  default: return 0;
  }
}

void disp_optvals_defaults(disp_optvals *v) {
  memset(v, 0, sizeof *v);
  for (int32_t i = 0; i < N_ENTRIES; i++)
    for (int32_t k = 0; k < ENTRIES[i].n_opts; k++) {
      const disp_opt_spec *o = &ENTRIES[i].opts[k];
      int32_t s = slot_of(&ENTRIES[i], o);
      if (is_str(o->type)) {
        if (s >= 0 && s < DISP_OPTVALS_STR_MAX && o->def_str != NULL)
          snprintf(v->str[s], sizeof v->str[s], "%s", o->def_str);
      } else if (s >= 0 && s < DISP_OPTVALS_NUM_MAX) {
        v->num[s] = o->def;
      }
    }
}

static int wrong(const disp_opt_spec *o, const char *name, rs_err *e) {
  char want[160];
  disp_opt_expect(o, want, sizeof want);
  return rs_err_set(e, RS_EFORMAT, "%s must be %s", name, want);
}

int disp_optvals_set_num(disp_optvals *v, const disp_registry_entry *ent,
                         const disp_opt_spec *o, double x, const char *name, rs_err *e) {
  int32_t s = slot_of(ent, o);
  if (is_str(o->type) || o->type == DISP_OPT_ENUM || !num_ok(o, x)) return wrong(o, name, e);
  if (s < 0 || s >= DISP_OPTVALS_NUM_MAX)
    return rs_err_set(e, RS_EINVAL, "%s: no slot (registry)", name);
  v->num[s] = x;
  return 0;
}

int disp_optvals_set_str(disp_optvals *v, const disp_registry_entry *ent,
                         const disp_opt_spec *o, const char *str, const char *name, rs_err *e) {
  int32_t s = slot_of(ent, o);
  if (o->type == DISP_OPT_ENUM) {
    for (int32_t i = 0; str != NULL && o->choices[i] != NULL; i++)
      if (strcmp(o->choices[i], str) == 0) {
        if (s < 0 || s >= DISP_OPTVALS_NUM_MAX)
          return rs_err_set(e, RS_EINVAL, "%s: no slot (registry)", name);
        v->num[s] = i;
        return 0;
      }
    return wrong(o, name, e);
  }
  if (!is_str(o->type)) return wrong(o, name, e);
  if (s < 0 || s >= DISP_OPTVALS_STR_MAX)
    return rs_err_set(e, RS_EINVAL, "%s: no slot (registry)", name);
  if (str != NULL && strlen(str) >= DISP_OPT_STR_SIZE)
    return rs_err_set(e, RS_EFORMAT, "%s is too long (at most %d bytes)", name,
                      DISP_OPT_STR_SIZE - 1);
  snprintf(v->str[s], sizeof v->str[s], "%s", str != NULL ? str : "");
  return 0;
}

double disp_optvals_num(const disp_optvals *v, const disp_registry_entry *ent,
                        const disp_opt_spec *o) {
  int32_t s = slot_of(ent, o);
  if (is_str(o->type) || s < 0 || s >= DISP_OPTVALS_NUM_MAX) return 0;
  return v->num[s];
}

const char *disp_optvals_str(const disp_optvals *v, const disp_registry_entry *ent,
                             const disp_opt_spec *o) {
  int32_t s = slot_of(ent, o);
  if (o->type == DISP_OPT_ENUM) {
    if (s < 0 || s >= DISP_OPTVALS_NUM_MAX || !num_ok(o, v->num[s])) return NULL;
    return o->choices[(int32_t)v->num[s]];
  }
  if (!is_str(o->type) || s < 0 || s >= DISP_OPTVALS_STR_MAX || v->str[s][0] == '\0')
    return NULL;
  return v->str[s];
}

int disp_optvals_check(const disp_optvals *v, rs_err *e) {
  for (int32_t i = 0; i < N_ENTRIES; i++) {
    const disp_registry_entry *d = &ENTRIES[i];
    for (int32_t k = 0; k < d->n_opts; k++) {
      const disp_opt_spec *o = &d->opts[k];
      int32_t s = slot_of(d, o);
      int ok = is_str(o->type) ? s >= 0 && s < DISP_OPTVALS_STR_MAX &&
                                     memchr(v->str[s], '\0', sizeof v->str[s]) != NULL
                               : s >= 0 && s < DISP_OPTVALS_NUM_MAX && num_ok(o, v->num[s]);
      if (!ok) {
        char want[160];
        disp_opt_expect(o, want, sizeof want);
        return rs_err_set(e, RS_EINVAL, "'policies.%s.%s' must be %s", d->name, o->key, want);
      }
    }
    if (d->check != NULL) {
      int rc = d->check(d, v, e);
      if (rc) return rc;
    }
  }
  return 0;
}

const char *disp_registry_reads_file(const disp_registry_entry *ent, const disp_optvals *v) {
  return ent != NULL && ent->reads_file != NULL ? ent->reads_file(ent, v) : NULL;
}

int disp_registry_check(rs_err *e) {
  int32_t n_num = 0, n_str = 0;
  for (int32_t i = 0; i < N_ENTRIES; i++) {
    const disp_registry_entry *d = &ENTRIES[i];
    if (d->name == NULL || d->name[0] == '\0' || d->help == NULL)
      return rs_err_set(e, RS_EINVAL, "registry: entry %d has no name or help", (int)i);
    for (int32_t j = 0; j < i; j++)
      if (strcmp(ENTRIES[j].name, d->name) == 0)
        return rs_err_set(e, RS_EINVAL, "registry: '%s' is registered twice", d->name);
    if (d->kind == 0 || (d->kind & ~(unsigned)(DISP_REG_DISPATCH | DISP_REG_REPOSITION)))
      return rs_err_set(e, RS_EINVAL, "registry: '%s' has no kind", d->name);
    if ((d->kind & DISP_REG_DISPATCH) && d->dispatch_new == NULL)
      return rs_err_set(e, RS_EINVAL, "registry: dispatch policy '%s' has no constructor",
                        d->name);
    if ((d->kind & DISP_REG_REPOSITION) && d->reposition_new == NULL)
      return rs_err_set(e, RS_EINVAL, "registry: repositioning policy '%s' has no constructor",
                        d->name);
    if (((d->needs & DISP_REG_NEEDS_MODEL) != 0) != (d->model_new != NULL) ||
        (d->model_new != NULL && d->model_free == NULL))
      return rs_err_set(e, RS_EINVAL, "registry: '%s' needs a model and its constructor, or "
                        "neither", d->name);
    if ((d->needs & DISP_REG_NEEDS_TABLE) && d->reads_file == NULL)
      return rs_err_set(e, RS_EINVAL, "registry: '%s' reads a table but says not which",
                        d->name);
    if (d->n_opts > 0 && d->opts == NULL)
      return rs_err_set(e, RS_EINVAL, "registry: '%s' has no schema", d->name);
    for (int32_t k = 0; k < d->n_opts; k++) {
      const disp_opt_spec *o = &d->opts[k];
      if (o->key == NULL || o->help == NULL)
        return rs_err_set(e, RS_EINVAL, "registry: option %d of '%s' has no key or help",
                          (int)k, d->name);
      if (disp_registry_opt(d, o->key) != o)
        return rs_err_set(e, RS_EINVAL, "registry: '%s.%s' is declared twice", d->name, o->key);
      if (is_str(o->type)) n_str++;
      else n_num++;
      if (o->type == DISP_OPT_ENUM && n_choices(o) == 0)
        return rs_err_set(e, RS_EINVAL, "registry: '%s.%s' has no choices", d->name, o->key);
      if (!is_str(o->type) && !num_ok(o, o->def))
        return rs_err_set(e, RS_EINVAL, "registry: the default of '%s.%s' is out of its range",
                          d->name, o->key);
      if (is_str(o->type) && o->def_str != NULL && strlen(o->def_str) >= DISP_OPT_STR_SIZE)
        return rs_err_set(e, RS_EINVAL, "registry: the default of '%s.%s' is too long",
                          d->name, o->key);
      if (o->flag != NULL && o->metavar == NULL &&
          (o->type != DISP_OPT_BOOL || (o->flag_sets != 0 && o->flag_sets != 1)))
        return rs_err_set(e, RS_EINVAL, "registry: the switch --%s must set a bool to 0 or 1",
                          o->flag);
      if (o->flag_scale < 0 || (o->flag_scale != 0 && o->type != DISP_OPT_NUMBER &&
                                o->type != DISP_OPT_INTEGER))
        return rs_err_set(e, RS_EINVAL, "registry: --%s scales a value that is not a number",
                          o->flag != NULL ? o->flag : o->key);
      /* flags and aliases are unique over the whole table */
      const disp_registry_entry *od;
      for (int32_t g = 0; g < disp_registry_n_opts(); g++) {
        const disp_opt_spec *p = disp_registry_opt_at(g, &od);
        if (p == o) break;
        if (o->flag != NULL && p->flag != NULL && strcmp(o->flag, p->flag) == 0)
          return rs_err_set(e, RS_EINVAL, "registry: --%s is declared twice", o->flag);
        if (o->alias != NULL && p->alias != NULL && strcmp(o->alias, p->alias) == 0)
          return rs_err_set(e, RS_EINVAL, "registry: alias '%s' is declared twice", o->alias);
      }
      if (o->alias != NULL && strchr(o->alias, '.') == NULL)
        return rs_err_set(e, RS_EINVAL, "registry: alias '%s' is not OBJECT.KEY", o->alias);
    }
  }
  if (n_num > DISP_OPTVALS_NUM_MAX || n_str > DISP_OPTVALS_STR_MAX)
    return rs_err_set(e, RS_EINVAL, "registry: %d number and %d string options, room for %d "
                      "and %d (DISP_OPTVALS_*_MAX)", (int)n_num, (int)n_str,
                      DISP_OPTVALS_NUM_MAX, DISP_OPTVALS_STR_MAX);
  return 0;
}

/* -------------------------------------------------------------- the builds */

void disp_models_free(disp_models *m) {
  for (int i = 0; i < 2; i++)
    if (m->ent[i] != NULL && m->model[i] != NULL) m->ent[i]->model_free(m->model[i]);
  memset(m, 0, sizeof *m);
}

/* The model of ent in m, NULL when it has none. */
static void *model_of(const disp_models *m, const disp_registry_entry *ent) {
  for (int i = 0; i < 2; i++)
    if (m->ent[i] == ent) return m->model[i];
  return NULL;
}

static int add_model(disp_models *m, int i, const disp_registry_entry *ent,
                     const disp_build *b, rs_err *e) {
  if (ent->model_new == NULL || model_of(m, ent) != NULL) return 0;
  if (b->travel == NULL || b->grid == NULL)
    return rs_err_set(e, RS_EINVAL, "policy '%s' needs a model of the city: it cannot stand "
                      "alone", ent->name);
  m->ent[i] = ent;
  return ent->model_new(ent, b, &m->model[i], e);
}

int disp_registry_build(const char *dname, const char *rname, const disp_build *b,
                        disp_models *m, disp_policy *dp, disp_repolicy *rp, rs_err *e) {
  memset(m, 0, sizeof *m);
  memset(dp, 0, sizeof *dp);
  memset(rp, 0, sizeof *rp);
  const disp_registry_entry *dent, *rent;
  int rc;
  if ((rc = disp_registry_lookup(dname, DISP_REG_DISPATCH, &dent, e)) != 0 ||
      (rc = disp_registry_lookup(rname, DISP_REG_REPOSITION, &rent, e)) != 0)
    return rc;
  if ((rc = add_model(m, 0, dent, b, e)) != 0 || (rc = add_model(m, 1, rent, b, e)) != 0)
    goto fail;
  if (m->ent[0] != NULL && m->ent[1] != NULL && m->ent[0]->observer != NULL &&
      m->ent[1]->observer != NULL) {
    rc = rs_err_set(e, RS_EINVAL, "policies '%s' and '%s' both learn from the run; the engine "
                    "has room for one", dname, rname);
    goto fail;
  }
  if ((rc = dent->dispatch_new(model_of(m, dent), b, dp, e)) != 0) goto fail;
  if ((rc = rent->reposition_new(model_of(m, rent), b, rp, e)) != 0) goto fail;
  return 0;
fail:
  disp_policy_destroy(dp);
  disp_repolicy_destroy(rp);
  disp_models_free(m);
  return rc;
}

disp_observer disp_models_observer(const disp_models *m) {
  for (int i = 0; i < 2; i++)
    if (m->ent[i] != NULL && m->ent[i]->observer != NULL)
      return m->ent[i]->observer(m->model[i]);
  disp_observer none = {NULL, NULL};
  return none;
}

const val_table *disp_models_table(const disp_models *m) {
  for (int i = 0; i < 2; i++)
    if (m->ent[i] != NULL && m->ent[i]->table != NULL) return m->ent[i]->table(m->model[i]);
  return NULL;
}

/* ---------------------------------------------- stand-alone (policy.h) */

/* A build without a city: the shared options and every default. */
static int standalone(const char *name, unsigned kind, const disp_options *o,
                      disp_optvals *v, disp_build *b, const disp_registry_entry **ent,
                      rs_err *e) {
  int rc = disp_registry_lookup(name, kind, ent, e);
  if (rc) return rc;
  if ((*ent)->needs & DISP_REG_NEEDS_MODEL)
    return rs_err_set(e, RS_EINVAL, "%s policy '%s' needs a model of the city: it cannot "
                      "stand alone", kind_word(kind), name);
  disp_optvals_defaults(v);
  memset(b, 0, sizeof *b);
  b->o = o;
  b->v = v;
  return 0;
}

int disp_policy_new(const char *name, const disp_options *o, disp_policy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  disp_optvals v;
  disp_build b;
  const disp_registry_entry *ent;
  int rc = standalone(name, DISP_REG_DISPATCH, o, &v, &b, &ent, e);
  return rc ? rc : ent->dispatch_new(NULL, &b, p, e);
}

int disp_repolicy_new(const char *name, const disp_options *o, disp_repolicy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  disp_optvals v;
  disp_build b;
  const disp_registry_entry *ent;
  int rc = standalone(name, DISP_REG_REPOSITION, o, &v, &b, &ent, e);
  return rc ? rc : ent->reposition_new(NULL, &b, p, e);
}
