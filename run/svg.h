/*
 * svg: a small kit of inline SVG charts for self-contained HTML pages.
 *
 * Every chart is a fixed-size <svg> element written to a FILE: a title, a
 * plot box mapping data to pixels, "nice" axis ticks (steps of 1, 2 or 5 x
 * 10^k), and one of: bars with 95 % interval whiskers, lines over time
 * windows (with gaps), step lines over bins, or a hex map (cells drawn as
 * pointy-top hexagons from their centre and edge) with a colour legend.
 * Series are told apart by a fixed palette of ten colours; magnitudes on a
 * map by a sequential scale (yellow-orange-red, or viridis) interpolated in
 * RGB between five stops.
 *
 * Maps project cell centres with the local equirectangular projection
 * (base/rs_geo.h) about the drawn cells' centre: the projection the hex
 * grid itself is laid in, so its hexagons stay regular on the page.
 *
 * Text (titles, labels, names from a DB) is escaped. Numbers are printed
 * with fixed decimals, so the same data always gives the same bytes. Write
 * errors are the caller's to check (ferror) once the page is done.
 */
#ifndef RUN_SVG_H
#define RUN_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/rs_geo.h"

/* ------------------------------------------------------------- basics */

/* The colour of series i (a cycle of ten). */
const char *run_svg_series_colour(int i);

/* Sequential scales: five RGB stops from low to high. */
extern const unsigned char run_svg_ylorrd[5][3];
extern const unsigned char run_svg_viridis[5][3];
/* The scale's colour at t in [0, 1] (clamped; NaN is 0) as "#rrggbb". */
void run_svg_colour_at(const unsigned char stops[5][3], double t, char out[8]);

/* Writes s (NULL: nothing) with &, <, > and " escaped, for HTML and SVG. */
void run_svg_esc(FILE *f, const char *s);

/* A step of 1, 2 or 5 x 10^k giving about n steps over range (1 when the
 * range is not positive and finite). */
double run_svg_nice_step(double range, int n);

/* ---------------------------------------------------------- the charts */

/* One bar: a group's mean with its 95 % interval (run_stat values, raw:
 * drawn times the chart's scale; NaN draws no bar or no whisker). */
typedef struct {
  const char *name;      /* label under the bar */
  const char *colour;    /* fill */
  double mean;           /* bar height */
  double half, lo, hi;   /* interval half-width and ends */
} run_svg_bar;

/* A bar chart of n bars (430 x 270 px), the y axis from 0 to above the
 * highest interval end, each bar labelled with its name and value. */
void run_svg_bars(FILE *f, const char *title, const run_svg_bar *bars, int n, double scale,
                  int decimals);

/* One series of a line or step chart: a value per point (NaN: a gap in a
 * line chart), or v NULL for a series with nothing to draw. */
typedef struct {
  const char *colour;    /* stroke */
  const double *v;       /* n_points values, or NULL */
} run_svg_series;

/* Lines through time (640 x 290 px): point i of every series at the middle
 * of window i, t_from + (i + 0.5) dt; the x axis in local time of day
 * (HH:MM ticks every half hour, hour or two hours) over [t_from, t_to]; the
 * y axis from 0 to above the highest value. */
void run_svg_time_lines(FILE *f, const char *title, const run_svg_series *s, int n_series,
                        int n_points, int64_t t_from, int64_t t_to, int64_t dt);

/* Step lines over bins (640 x 300 px): bin b spans [b w, (b + 1) w) on a
 * linear x axis labelled x_label; y from 0 to above the highest value. */
void run_svg_steps(FILE *f, const char *title, const char *x_label, const run_svg_series *s,
                   int n_series, int n_bins, double bin_w);

/* A horizontal legend of a colour scale from vmin to vmax (360 x 52 px).
 * id names its gradient: unique within the page. */
void run_svg_legend(FILE *f, const unsigned char stops[5][3], double vmin, double vmax,
                    const char *label, int id);

/* ---------------------------------------------------------------- maps */

/* A box of width w fitted to a set of cells: the projection, the scale and
 * the offsets (run_svg_map_fit). */
typedef struct {
  rs_proj pr;          /* about the cells' centre */
  double k;            /* pixels per metre */
  double xmin, ymax;   /* projected extent, metres, with an edge of margin */
  double pad;          /* pixels around */
  int w, h;            /* the box; h follows the cells' extent (at most 3 w) */
} run_svg_map;

/* Fits n cells (centres in degrees, edge in metres) into width w. */
void run_svg_map_fit(run_svg_map *m, const double *lat, const double *lng, int n, double edge_m,
                     int w);
/* Opens the map's <svg> with its title (and a grey background when bg). */
void run_svg_map_open(FILE *f, const run_svg_map *m, const char *title, int bg);
/* One cell: a hexagon filled with fill, tip as its tooltip. */
void run_svg_map_hex(FILE *f, const run_svg_map *m, double lat, double lng, double edge_m,
                     const char *fill, const char *tip);

#endif
