"""The C API of libridesim (capi/ridesim.h) through cffi in ABI mode.

The library is found, in this order, at the path in the environment variable
RIDESIM_LIB, next to this package (libridesim.so*), or by the system's
loader (an installed libridesim.so.1). The declarations below are the
header's, written out for cffi (which reads no macros); the library's ABI
version is checked when it is loaded. cffi releases the GIL around every
call, so environments stepped in several threads run in parallel.

Errors of the C API become exceptions here: RidesimError and its
subclasses, each carrying the code, its name and the library's message.
"""

import glob
import os
import threading

import cffi

ABI_VERSION = 1

CDEF = """
typedef struct {
  int32_t decision, control, n_rows, n_edges, n_eligible, n_reach, n_orders, n_drivers,
          n_cells, top_k, max_reach, reserved;
  int64_t now, from_, to, generation, episode;
  uint64_t seed;
  int64_t decisions, completed;
  double income;
  int64_t matched;
  double matched_fare;
  int64_t last_matched;
  double last_fare;
} ridesim_state;

typedef struct {
  const void *data;
  int64_t n, cap, stride;
  int32_t type, per;
} ridesim_array;

typedef struct ridesim_env ridesim_env;

int ridesim_abi_version(void);
const char *ridesim_version(void);
const char *ridesim_strerror(int code);
const char *ridesim_status_name(int code);
int ridesim_env_new(const char *scenario_json, const char *options_json, ridesim_env **out,
                    char *err, size_t err_size);
void ridesim_env_free(ridesim_env *env);
const char *ridesim_env_error(const ridesim_env *env);
const ridesim_state *ridesim_env_state(const ridesim_env *env);
const char *ridesim_env_scenario(const ridesim_env *env);
int ridesim_env_reset(ridesim_env *env, int use_seed, uint64_t seed);
int ridesim_env_advance(ridesim_env *env);
int ridesim_array_count(void);
int ridesim_array_info(int id, const char **name, int32_t *type, int32_t *per);
int ridesim_env_array(const ridesim_env *env, int id, ridesim_array *out);
int ridesim_env_answer_scores(ridesim_env *env, const double *scores, int64_t n, int mode);
int ridesim_env_answer_pairs(ridesim_env *env, const int32_t *order, const int32_t *driver,
                             int64_t n);
int ridesim_env_answer_choices(ridesim_env *env, const int32_t *choice, int64_t n);
int ridesim_env_answer_dests(ridesim_env *env, const int32_t *cell, int64_t n);
int ridesim_env_baseline_pairs(ridesim_env *env, const char *policy, int32_t *order,
                               int32_t *driver, int64_t cap, int64_t *n);
int ridesim_env_baseline_dests(ridesim_env *env, const char *policy, int32_t *cell, int64_t n);
int ridesim_env_driver_income(ridesim_env *env, double *out, int64_t n);
int ridesim_kpi_count(void);
const char *ridesim_kpi_name(int i);
const char *ridesim_kpi_key(int i);
const char *ridesim_kpi_label(int i);
const char *ridesim_kpi_unit(int i);
int ridesim_kpi_direction(int i);
int ridesim_env_kpis(ridesim_env *env, double *out, int n);
"""

# ridesim.h's constants
DONE, DISPATCH, REPOSITION, IDLE = 0, 1, 2, 3
SERVE_FIRST, MAX_WEIGHT = 0, 1
EINVAL, EFORMAT, ERANGE, ESTATE = -3, -6, -9, -20
PER_ROW, PER_ROW1, PER_EDGE, PER_ELIGIBLE, PER_ELIGIBLE1, PER_REACH, PER_ORDER, \
    PER_DRIVER, PER_CELL = range(1, 10)
TYPES = {1: "int32", 2: "int64", 3: "float64", 4: "uint8"}


class RidesimError(Exception):
    """An error of the C API: code (negative), name ("RIDESIM_EINVAL") and message."""

    def __init__(self, code, message):
        self.code = code
        self.name = _status_name(code)
        super().__init__(message)


class ScenarioError(RidesimError, ValueError):
    """The scenario or the options cannot make an environment."""


class InvalidActionError(RidesimError, ValueError):
    """An answer refused by the environment's checks; the decision still waits."""


class StateError(RidesimError, RuntimeError):
    """Not possible now: no decision pending, the episode done, or the environment closed."""


_ffi = cffi.FFI()
_ffi.cdef(CDEF)
_lib = None
_lib_lock = threading.Lock()


def _candidates():
    path = os.environ.get("RIDESIM_LIB")
    if path:
        yield path
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for p in sorted(glob.glob(os.path.join(here, "libridesim.so*"))):
        yield p
    yield "libridesim.so.1"
    yield "ridesim"


def load():
    """The library (loaded once per process), with its ABI checked."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _ffi, _lib
        tried = []
        for path in _candidates():
            try:
                lib = _ffi.dlopen(path)
            except OSError as exc:
                tried.append(f"{path}: {exc}")
                continue
            abi = lib.ridesim_abi_version()
            if abi != ABI_VERSION:
                raise ImportError(f"{path}: libridesim ABI {abi}, this package speaks "
                                  f"{ABI_VERSION}")
            _lib = lib
            return _ffi, _lib
        raise ImportError("libridesim not found: set RIDESIM_LIB to its path (e.g. "
                          "build/capi/libridesim.so) or put it next to the package; tried "
                          + "; ".join(tried))


def _status_name(code):
    if _lib is None:
        return str(code)
    return _ffi.string(_lib.ridesim_status_name(code)).decode()


def version():
    ffi, lib = load()
    return ffi.string(lib.ridesim_version()).decode()
