/*
 * frame: what the viewer's page is sent, built from a running engine.
 *
 * Three texts, each an SSE event ("event: NAME\ndata: JSON\n\n") or a JSON
 * document:
 *
 *   scene   (GET /scene.json, once per page) the map: the city's box, its
 *           hex cells as polygons, the road network's links when the run
 *           has one, the horizon, the fleet, the state names, whether a
 *           value table exists. Coordinates in degrees, 5 decimals (1 m).
 *   hello   (a stream's first event) the KPI windows so far, for the
 *           sparklines of a page that joins a run under way.
 *   frame   (then, at the client's rate) the simulated time, the pace,
 *           drivers by state and position, the waiting orders, the matches
 *           since the previous frame (driver -> pickup), the repositioning
 *           moves under way, the KPIs so far and the last two KPI windows;
 *           every VIEW_HEAT_MS of wall time, the heat layers per cell
 *           (unserved demand, idle supply, and V(cell, now) with a value
 *           table).
 *
 * Frame coordinates are integers: 1e-5 degrees east and north of the
 * scene's origin (the city box's south-west corner), so a driver is three
 * small integers (x, y, state). A moving driver is placed on the straight
 * line of its current move at the time reached (the viewer's picture; the
 * engine's position along a road is the travel model's and is not asked
 * for here, which keeps a frame O(drivers) whatever the model).
 *
 * Cost of a frame: O(drivers + orders waiting or matched since the
 * previous frame + windows), with a heat frame O(requested orders +
 * cells); no allocation once the text buffer has grown to its size. The
 * cursor (first order that may still be waiting) only moves forward: an
 * order that has left WAITING never returns to it.
 *
 * Ownership: view_frames owns its text buffer and per-cell scratch; the
 * engine, grid and value table are borrowed for the call.
 */
#ifndef VIEW_FRAME_H
#define VIEW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/roadnet.h"
#include "sim/engine.h"
#include "value/vtable.h"

#define VIEW_HEAT_MS 1000       /* wall time between heat layers */
#define VIEW_UNSERVED_S 1800    /* unserved demand: orders lost in the last 30 min */

/* The pace as the page shows it. */
typedef struct {
  const char *mode;   /* "fast", "paced", "paused", "seeking", "ended" */
  double speed;       /* simulated seconds per wall second; 0: as fast as possible */
  int can_pace;       /* pause and speed apply */
  int can_seek;       /* seek applies (replays) */
} view_pace;

typedef struct {
  char *buf;          /* the text being built (owned) */
  size_t len, cap;    /* ... its length and room */
  double ox, oy;      /* origin: min lng, min lat */
  size_t lo;          /* first order index that may still be waiting */
  int64_t t_last;     /* simulated time of the previous frame */
  int32_t n_cells;    /* cells of the grid */
  double *heat;       /* 3 x n_cells scratch */
  int oom;            /* an append failed: the text is incomplete */
} view_frames;

int view_frames_init(view_frames *f, const city_def *city, const city_grid *g, rs_err *e);
void view_frames_free(view_frames *f);
/* Forgets the previous engine (a replay rebuilt its run). */
void view_frames_reset(view_frames *f, const sim_engine *s);

/* The scene document (see above) into f->buf; net may be NULL. labels:
 * a short text naming the run (policy, seed) shown by the page. 0 or
 * RS_ENOMEM. */
int view_frames_scene(view_frames *f, const city_def *city, const city_grid *g,
                      const city_net *net, const sim_engine *s, int has_value,
                      const char *label);
/* The hello event into f->buf. */
int view_frames_hello(view_frames *f, const sim_engine *s, const view_pace *p);
/* The frame event into f->buf; with heat, the heat layers too (vt may be
 * NULL: no value layer). Advances the cursor and the previous frame's
 * time. */
int view_frames_build(view_frames *f, const sim_engine *s, const city_grid *g,
                      const val_table *vt, const view_pace *p, int heat);
/* The last event of a stream: the run ended (or the viewer closed). */
int view_frames_end(view_frames *f, const sim_engine *s, const char *why);

#endif
