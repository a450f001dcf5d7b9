/*
 * view: a live viewer of a run, served over HTTP from the run's own libuv
 * loop: `ridesim run --serve`, `ridesim evaluate --serve` and `ridesim
 * view` (a stored run replayed).
 *
 * Pages (view/server.h serves them, view/frame.h builds their texts):
 *   GET  /              the page (view/page.html, embedded: no network)
 *   GET  /scene.json    the map and the run's constants
 *   GET  /stream[?fps=N] Server-Sent Events: hello, then a frame at most N
 *                       times a second (default VIEW_FPS_DEFAULT), end
 *   GET  /state         the pace and simulated time (JSON)
 *   POST /control       one command as the body: "pause", "resume",
 *                       "speed X" (simulated seconds per second; "speed 0"
 *                       as fast as possible), "seek T" (seconds from the
 *                       horizon's start; replays); 200 with the state, 409
 *                       when the run does not take it, 400 when malformed
 *
 * The engine is never held back: view_tick, called after every slice of
 * the engine, returns at once unless a stream client is ready for a frame
 * (server.h), and then builds one frame for every ready client. Who drives
 * the engine owns its pace; the controller (view_ctl) is how the page's
 * commands reach it.
 *
 * Ownership: a view borrows everything in its view_src (they must outlive
 * it, or be replaced by view_set_engine first); view_close ends the
 * streams and frees the view once its handles are closed (the caller runs
 * the loop after it).
 */
#ifndef VIEW_VIEW_H
#define VIEW_VIEW_H

#include <stdint.h>
#include <uv.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/roadnet.h"
#include "sim/engine.h"
#include "value/vtable.h"
#include "view/frame.h"

#define VIEW_HOST_DEFAULT "127.0.0.1"
#define VIEW_HOST_MAX 64

/* Where to listen: --serve [ADDR:]PORT. */
typedef struct {
  char host[VIEW_HOST_MAX];  /* numeric address; "[::1]" is stored as "::1" */
  int port;                  /* 0 .. 65535; 0: any free port */
} view_addr;

/* Parses "PORT", "ADDR:PORT" or "[IPV6]:PORT" (ADDR defaults to
 * VIEW_HOST_DEFAULT). 0, or RS_EINVAL with a message and a unchanged. */
int view_addr_parse(const char *s, view_addr *a, rs_err *e);

/* Whether a's address can be listened on now (a socket bound and closed
 * at once), so that a command can refuse an address in use before its run
 * begins. 0, or RS_EIO with a one-line message. */
int view_addr_check(const view_addr *a, rs_err *e);

/* What the view shows, borrowed. */
typedef struct {
  const city_def *city;
  const city_grid *grid;     /* the run's grid */
  const city_net *net;       /* its road network, NULL */
  const sim_engine *eng;     /* the engine */
  const val_table *vt;       /* the value table of V(cell, now), NULL */
  const char *label;         /* the run in a few words (policies, seed) */
} view_src;

/* The driver of the engine, as the page's commands reach it. */
typedef struct {
  void *arg;
  void (*pace)(void *arg, view_pace *p);
  /* "pause", "resume", "speed", "seek" with its number: 0, 409 (not for
   * this run), or 400 (a bad number). */
  int (*control)(void *arg, const char *cmd, double x);
} view_ctl;

typedef struct view view;

/* Listens on a's address on the loop. RS_EIO when the address cannot be
 * listened on (in use: the message says so), RS_ENOMEM. */
int view_open(uv_loop_t *loop, const view_addr *a, const view_src *src, const view_ctl *ctl,
              view **out, rs_err *e);
/* The port listened on. */
int view_port(const view *v);
/* After a slice of the engine: a frame when a client is ready. */
void view_tick(view *v);
/* Sends a frame now to every client with nothing in flight (a seek
 * arrived, or the pace changed). */
void view_flush(view *v);
/* The engine was rebuilt (a replay's seek backwards). */
void view_set_engine(view *v, const sim_engine *eng, const val_table *vt);
/* Stream clients now, and frames sent / dropped for busy clients. */
int view_streams(const view *v);
int64_t view_frames_sent(const view *v);
int64_t view_frames_dropped(const view *v);
/* Wall seconds spent building frames (the viewer's own CPU share). */
double view_build_s(const view *v);
/* Ends the streams (why: "completed", "interrupted" ...) and closes. */
void view_close(view *v, const char *why);

/* The embedded page. */
extern const char view_page_html[];
extern const unsigned long view_page_html_len;

#endif
