/*
 * registry: every dispatch and repositioning policy, found by name, with
 * what it is, what building it needs, how it is built and the options it
 * takes. It is the one place that knows the policies: the scenario reads and
 * prints their options through it (sim/scenario.c, "policies": {"NAME":
 * {...}}), the command line makes its flags and help from it
 * (tools/runopts.c), and a run builds its policies with it (run/setup.c).
 *
 * An entry is {name, kind, needs, one help line, option schema, the
 * constructors}. A policy of both kinds built on one model (v1d3: one value
 * table read by its dispatch and its repositioning, and learnt by observing
 * the run) has one entry with a model constructor; the model is built once
 * per run and both policies borrow it. Adding a policy is one entry in
 * registry.c and the policy's own file.
 *
 * Options. An entry's schema lists its options: a key (its name in the
 * scenario's "policies" object), a type (number, integer, bool, string,
 * path, enum with its choices), a default, a range, the command-line flag
 * and metavar if it has one, a help line, and the flat key it had before
 * the "policies" object ("value.lr": the alias that older scenario files
 * use). The values of every entry's options live in one disp_optvals, a
 * fixed-size table laid out by the registry (each option its slot, in
 * registry order; strings and paths in slots of their own), so a scenario
 * holding them stays a plain struct that copies and compares as bytes.
 *
 * Setting a value checks its type and range against the schema; an entry
 * may add rules between its options (v1d3: an offline table needs its path)
 * checked by disp_optvals_check. Messages name what the caller says the
 * option is called ("'policies.v1d3.lr'", "'value.lr'", "--lr") and what
 * was expected.
 *
 * Costs: lookups walk the table (a dozen entries, a few dozen options);
 * nothing here is on a hot path. No state: the table is constant.
 */
#ifndef DISP_REGISTRY_H
#define DISP_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/hexgrid.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"
#include "value/vtable.h"

/* What an entry is: a dispatch policy, a repositioning policy, or both. */
enum {
  DISP_REG_DISPATCH = 1,
  DISP_REG_REPOSITION = 2,
};

/* What building an entry's policies needs, beyond the shared options. */
enum {
  DISP_REG_NEEDS_MODEL = 1, /* a model of the run's city (grid, travel
                               model, cancellation curve), built once per
                               run: such a policy cannot stand alone (as
                               evaluate's --fallback) */
  DISP_REG_NEEDS_TABLE = 2, /* may read a value table file ('ridesim
                               train'), named by one of its options
                               (disp_registry_reads_file) */
};

typedef enum {
  DISP_OPT_NUMBER = 0, /* a finite double within [lo, hi] */
  DISP_OPT_INTEGER,    /* a whole number within [lo, hi] */
  DISP_OPT_BOOL,       /* true or false (stored 0 / 1) */
  DISP_OPT_STRING,     /* text; may be unset (null) */
  DISP_OPT_PATH,       /* a file's path; may be unset (null) */
  DISP_OPT_ENUM,       /* one of its choices (stored as the choice's index) */
} disp_opt_type;

#define DISP_OPT_STR_SIZE 1024 /* bytes of a string or path option, NUL
                                  included (sim/scenario.h's SIM_PATH_MAX) */
#define DISP_OPTVALS_NUM_MAX 48 /* number, integer, bool and enum options of
                                   every entry together */
#define DISP_OPTVALS_STR_MAX 4  /* string and path options of every entry */

/* One option of an entry's schema. */
typedef struct {
  const char *key;          /* its key in "policies": {"NAME": {KEY: ...}} */
  disp_opt_type type;
  double def;               /* default of a number, integer, bool (0, 1) or
                               enum (index of the choice) */
  const char *def_str;      /* default of a string or path; NULL: unset */
  double lo, hi;            /* range of a number or integer, inclusive */
  const char *const *choices; /* enum: its words, NULL-terminated */
  const char *flag;         /* command-line flag without "--"; NULL: none
                               (unique, and none of the shared run
                               options' flags, tools/runopts.c) */
  const char *metavar;      /* the flag's value ("X"); NULL: the flag is a
                               switch setting a bool to flag_sets */
  double flag_scale;        /* a flag's number times this is the value
                               (minutes given, seconds kept: 60); 0 means 1 */
  int flag_sets;            /* a switch's value, 0 or 1 */
  const char *help;         /* one line, no default (printed after it) */
  const char *alias;        /* the flat key of scenario files older than
                               "policies" ("value.lr"), NULL: none */
} disp_opt_spec;

/* The values of every entry's options, laid out by the registry. */
typedef struct {
  double num[DISP_OPTVALS_NUM_MAX]; /* number, integer, bool, enum index */
  char str[DISP_OPTVALS_STR_MAX][DISP_OPT_STR_SIZE]; /* string and path:
                                       "" is unset */
} disp_optvals;

/* What an entry's constructors are given. */
typedef struct {
  const disp_options *o;      /* the candidate options every policy shares */
  const disp_optvals *v;      /* every entry's options */
  const city_travel *travel;  /* the run's travel model, its city included;
                                 NULL when built without a city (a
                                 stand-alone policy) */
  const city_grid *grid;      /* the city's grid; NULL likewise */
  /* rider cancellation probability by pickup distance (the scenario's) */
  double (*p_cancel)(const void *ctx, double pickup_m);
  const void *p_cancel_ctx;
} disp_build;

typedef struct disp_registry_entry disp_registry_entry;

struct disp_registry_entry {
  const char *name;           /* --dispatch / --reposition NAME */
  unsigned kind;              /* DISP_REG_DISPATCH | DISP_REG_REPOSITION */
  unsigned needs;             /* DISP_REG_NEEDS_* */
  const char *help;           /* one line */
  const char *reads;          /* the shared scenario keys it reads, for the
                                 help ("driver_top_k"); NULL: none */
  const disp_opt_spec *opts;  /* its schema */
  int32_t n_opts;
  /* Rules between its options, beyond each one's type and range; NULL:
   * none. The message names the options as 'policies.NAME.KEY'. */
  int (*check)(const disp_registry_entry *self, const disp_optvals *v, rs_err *e);
  /* The file building it reads with these options, NULL: none. */
  const char *(*reads_file)(const disp_registry_entry *self, const disp_optvals *v);
  /* The model its policies share, NULL when it has none. model_new gets a
   * build with a city; observer (NULL: it does not observe) learns from
   * the run, table (NULL: none) is the value table it reads. */
  int (*model_new)(const disp_registry_entry *self, const disp_build *b, void **model,
                   rs_err *e);
  void (*model_free)(void *model);
  disp_observer (*observer)(void *model);
  const val_table *(*table)(const void *model);
  /* The policies, per kind; model is NULL for an entry without one. */
  int (*dispatch_new)(void *model, const disp_build *b, disp_policy *p, rs_err *e);
  int (*reposition_new)(void *model, const disp_build *b, disp_repolicy *p, rs_err *e);
};

/* ------------------------------------------------------------- the table */

/* Entries in registry order; i from 0 to disp_registry_count() - 1. */
int32_t disp_registry_count(void);
const disp_registry_entry *disp_registry_at(int32_t i);
/* The entry of a name, NULL when none. */
const disp_registry_entry *disp_registry_find(const char *name);
/* The entry of a policy name of a kind: RS_EINVAL naming the known names
 * of that kind when the name is none of them. */
int disp_registry_lookup(const char *name, unsigned kind, const disp_registry_entry **out,
                         rs_err *e);
/* The names of the entries of a kind (and of no need in `without`),
 * joined by sep, into buf (always NUL-terminated). */
void disp_registry_names(unsigned kind, unsigned without, const char *sep, char *buf,
                         size_t size);
/* Walks the table's invariants: unique names and flags, a constructor per
 * kind, a model constructor for a model's needs, defaults within their
 * ranges, the slots within disp_optvals. 0 or RS_EINVAL naming the fault. */
int disp_registry_check(rs_err *e);

/* ------------------------------------------------------------ the schema */

/* An entry's option by key, NULL when none. */
const disp_opt_spec *disp_registry_opt(const disp_registry_entry *ent, const char *key);
/* Every option of every entry, in registry order: i from 0 to
 * disp_registry_n_opts() - 1; *ent gets its entry. */
int32_t disp_registry_n_opts(void);
const disp_opt_spec *disp_registry_opt_at(int32_t i, const disp_registry_entry **ent);
/* The option whose alias is "OBJECT.KEY", NULL when none; *ent gets its
 * entry. disp_registry_alias_object says whether any alias lives in
 * OBJECT (a scenario's old "value" object). */
const disp_opt_spec *disp_registry_alias(const char *object, const char *key,
                                         const disp_registry_entry **ent);
int disp_registry_alias_object(const char *object);
/* What a value of the option must be, for messages: "a number from 0 to
 * 1", "true or false", "one of \"online\", \"offline\", \"ensemble\"". */
void disp_opt_expect(const disp_opt_spec *o, char *buf, size_t size);
/* Its type's name: "number", "integer", "bool", "string", "path", "enum". */
const char *disp_opt_type_name(disp_opt_type t);

/* ------------------------------------------------------------ the values */

/* Every option at its default. */
void disp_optvals_defaults(disp_optvals *v);
/* Sets an option of ent (o is one of ent->opts). set_num takes a number,
 * integer or bool (0 or 1) value; set_str the text of a string or path
 * (NULL: unset) or an enum's word. RS_EFORMAT "NAME must be ..." (NAME as
 * the caller calls it) when the type or range is wrong; v is then
 * unchanged. */
int disp_optvals_set_num(disp_optvals *v, const disp_registry_entry *ent,
                         const disp_opt_spec *o, double x, const char *name, rs_err *e);
int disp_optvals_set_str(disp_optvals *v, const disp_registry_entry *ent,
                         const disp_opt_spec *o, const char *s, const char *name, rs_err *e);
/* An option's value: num for number, integer, bool and enum (the choice's
 * index); str for string and path (NULL when unset) and enum (its word). */
double disp_optvals_num(const disp_optvals *v, const disp_registry_entry *ent,
                        const disp_opt_spec *o);
const char *disp_optvals_str(const disp_optvals *v, const disp_registry_entry *ent,
                             const disp_opt_spec *o);
/* Every option's type and range, then every entry's rules. 0 or RS_EINVAL
 * naming 'policies.NAME.KEY'. */
int disp_optvals_check(const disp_optvals *v, rs_err *e);
/* The value table file building ent's policies reads with these options,
 * NULL when none. */
const char *disp_registry_reads_file(const disp_registry_entry *ent, const disp_optvals *v);

/* ----------------------------------------------------------- the builds */

/* The models of one run's policies: at most one per entry, shared by the
 * entry's dispatch and repositioning policies. */
typedef struct {
  const disp_registry_entry *ent[2]; /* the entries with a model, NULL: none */
  void *model[2];                    /* their models, owned */
} disp_models;

/* Builds the dispatch policy `dname` and the repositioning policy `rname`
 * into dp and rp, and their models into m (b with a city). On failure
 * nothing is left built: dp, rp and m are zeroed. */
int disp_registry_build(const char *dname, const char *rname, const disp_build *b,
                        disp_models *m, disp_policy *dp, disp_repolicy *rp, rs_err *e);
/* Frees the models (the policies that borrow them go first). */
void disp_models_free(disp_models *m);
/* The models' observer (observe NULL: none), and the value table of the
 * first model that has one (NULL: none). At most one model observes: the
 * build refuses two. */
disp_observer disp_models_observer(const disp_models *m);
const val_table *disp_models_table(const disp_models *m);

#endif
