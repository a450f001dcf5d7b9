/*
 * svg: the chart kit; see svg.h.
 *
 * A plot is a box in pixels and a data range; px and py map data to the
 * box (y grows downwards on the page). The y axis is widened to whole tick
 * steps before anything is drawn, so bars and lines end inside the box.
 * Coordinates are printed to 0.1 px: finer than a screen needs, and
 * stable, so that a page compares byte for byte.
 *
 * Rejected: a general scene graph or a charting library. A report has four
 * kinds of chart; a few functions that print straight to the page keep it
 * one pass, with no allocation.
 */
#include "run/svg.h"

#include <math.h>
#include <string.h>

#include "base/rs_time.h"

/* ------------------------------------------------------------- basics */

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])

const char *run_svg_series_colour(int i) { return PALETTE[(size_t)i % N_PALETTE]; }

const unsigned char run_svg_ylorrd[5][3] = {
  {255, 255, 204}, {254, 217, 118}, {253, 141, 60}, {227, 26, 28}, {128, 0, 38}};
const unsigned char run_svg_viridis[5][3] = {
  {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};

void run_svg_colour_at(const unsigned char stops[5][3], double t, char out[8]) {
  if (!isfinite(t)) t = 0;
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  double x = t * 4;
  int i = x >= 4 ? 3 : (int)x;
  double f = x - i;
  int rgb[3];
  for (int k = 0; k < 3; k++)
    rgb[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
  snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

void run_svg_esc(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

double run_svg_nice_step(double range, int n) {
  if (!(range > 0) || !isfinite(range)) return 1;
  double raw = range / n, mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* ---------------------------------------------------------- plot boxes */

/* A plot area and its data ranges. */
typedef struct {
  double x, y, w, h;      /* pixels: left, top, width, height */
  double x0, x1, y0, y1;  /* data range */
} plot;

static double px(const plot *p, double v) { return p->x + (v - p->x0) / (p->x1 - p->x0) * p->w; }
static double py(const plot *p, double v) { return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h; }

static void svg_open(FILE *f, int w, int h, const char *title) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" role=\"img\"><title>", w, h, w, h);
  run_svg_esc(f, title);
  fprintf(f, "</title>\n<text class=\"t\" x=\"%d\" y=\"18\">", 8);
  run_svg_esc(f, title);
  fprintf(f, "</text>\n");
}

static void fmt_tick(char *buf, size_t n, double v, double step) {
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (dec > 6) dec = 6;
  if (fabs(v) >= 1e6 && step >= 1e5) snprintf(buf, n, "%.*fM", step >= 1e6 ? 0 : 1, v / 1e6);
  else if (fabs(v) >= 1e4 && step >= 1e3) snprintf(buf, n, "%.*fk", step >= 1e4 ? 0 : 1, v / 1e3);
  else snprintf(buf, n, "%.*f", dec, v);
}

/* Horizontal grid lines and labels on the left; the y range is widened to
 * whole steps. */
static void axis_y(FILE *f, plot *p, int n_ticks) {
  double step = run_svg_nice_step(p->y1 - p->y0, n_ticks);
  p->y0 = floor(p->y0 / step) * step;
  p->y1 = ceil(p->y1 / step - 1e-9) * step;
  if (p->y1 <= p->y0) p->y1 = p->y0 + step;
  for (double v = p->y0; v <= p->y1 + step / 2; v += step) {
    char lab[32];
    fmt_tick(lab, sizeof lab, v, step);
    double y = py(p, v);
    fprintf(f, "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            p->x, y, p->x + p->w, y, p->x - 4, y + 4, lab);
  }
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x, p->y,
          p->x, p->y + p->h);
}

/* Ticks every hour (or more) along a time axis, labelled HH:MM. */
static void axis_x_time(FILE *f, const plot *p, int64_t day0) {
  double span = p->x1 - p->x0;
  double step = span > 12 * 3600 ? 7200 : span > 3 * 3600 ? 3600 : 1800;
  double first = ceil(p->x0 / step) * step;
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x,
          p->y + p->h, p->x + p->w, p->y + p->h);
  for (double v = first; v <= p->x1 + 1; v += step) {
    int64_t tod = rs_time_tod((int64_t)v - day0);
    double x = px(p, v);
    fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%02d:%02d</text>\n",
            x, p->y + p->h, x, p->y + p->h + 4, x, p->y + p->h + 16, (int)(tod / 3600),
            (int)(tod % 3600 / 60));
  }
}

/* Ticks along a linear x axis. */
static void axis_x(FILE *f, const plot *p, int n_ticks, const char *label) {
  double step = run_svg_nice_step(p->x1 - p->x0, n_ticks);
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x,
          p->y + p->h, p->x + p->w, p->y + p->h);
  for (double v = ceil(p->x0 / step) * step; v <= p->x1 + step / 1000; v += step) {
    char lab[32];
    fmt_tick(lab, sizeof lab, v, step);
    double x = px(p, v);
    fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            x, p->y + p->h, x, p->y + p->h + 4, x, p->y + p->h + 16, lab);
  }
  fprintf(f, "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p->x + p->w / 2,
          p->y + p->h + 32);
  run_svg_esc(f, label);
  fprintf(f, "</text>\n");
}

/* ---------------------------------------------------------- the charts */

void run_svg_bars(FILE *f, const char *title, const run_svg_bar *bars, int n, double scale,
                  int decimals) {
  enum { W = 430, H = 270 };
  svg_open(f, W, H, title);
  plot p = {62, 34, W - 80, H - 34 - 46, 0, (double)n, 0, 0};
  double top = 0;
  for (int g = 0; g < n; g++) {
    double hi = isfinite(bars[g].hi) ? bars[g].hi : bars[g].mean;
    if (isfinite(hi) && hi * scale > top) top = hi * scale;
  }
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  double slot = p.w / n, bw = slot * 0.6;
  for (int g = 0; g < n; g++) {
    const run_svg_bar *b = &bars[g];
    double m = b->mean * scale;
    double cx = p.x + slot * (g + 0.5);
    if (isfinite(m)) {
      fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                 "<title>",
              cx - bw / 2, py(&p, m), bw, py(&p, p.y0) - py(&p, m), b->colour);
      run_svg_esc(f, b->name);
      fprintf(f, ": %.*f", decimals, m);
      if (isfinite(b->half)) fprintf(f, " &#177; %.*f", decimals, b->half * scale);
      fprintf(f, "</title></rect>\n");
    }
    if (isfinite(b->half)) {
      double ylo = py(&p, b->lo * scale), yhi = py(&p, b->hi * scale);
      fprintf(f, "<path class=\"wh\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\"/>\n", cx,
              ylo, yhi, cx - bw / 5, ylo, cx + bw / 5, cx - bw / 5, yhi, cx + bw / 5);
    }
    fprintf(f, "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", cx,
            p.y + p.h + 15);
    run_svg_esc(f, b->name);
    fprintf(f, "</text>\n");
    if (isfinite(m))
      fprintf(f, "<text class=\"v\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
              cx, p.y + p.h + 30, decimals, m);
  }
  fprintf(f, "</svg>\n");
}

/* The largest finite value of the series (0 when none is positive). */
static double series_top(const run_svg_series *s, int n_series, int n_points) {
  double top = 0;
  for (int g = 0; g < n_series; g++)
    for (int i = 0; s[g].v != NULL && i < n_points; i++)
      if (s[g].v[i] > top) top = s[g].v[i];
  return top;
}

void run_svg_time_lines(FILE *f, const char *title, const run_svg_series *s, int n_series,
                        int n_points, int64_t t_from, int64_t t_to, int64_t dt) {
  enum { W = 640, H = 290 };
  svg_open(f, W, H, title);
  plot p = {70, 34, W - 90, H - 34 - 40, (double)t_from, (double)t_to, 0, 0};
  double top = series_top(s, n_series, n_points);
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  int64_t day0 = rs_time_day(t_from);
  axis_x_time(f, &p, day0);
  for (int g = 0; g < n_series; g++) {
    int open = 0;
    for (int w = 0; s[g].v != NULL && w < n_points; w++) {
      double v = s[g].v[w];
      if (isnan(v)) {
        if (open) fprintf(f, "\"/>\n");
        open = 0;
        continue;
      }
      double t = (double)t_from + (w + 0.5) * (double)dt;
      if (!open) fprintf(f, "<polyline class=\"ln\" stroke=\"%s\" points=\"", s[g].colour);
      fprintf(f, "%.1f,%.1f ", px(&p, t), py(&p, v));
      open = 1;
    }
    if (open) fprintf(f, "\"/>\n");
  }
  fprintf(f, "</svg>\n");
}

void run_svg_steps(FILE *f, const char *title, const char *x_label, const run_svg_series *s,
                   int n_series, int n_bins, double bin_w) {
  enum { W = 640, H = 300 };
  svg_open(f, W, H, title);
  plot p = {70, 34, W - 90, H - 34 - 50, 0, bin_w * n_bins, 0, 0};
  double top = series_top(s, n_series, n_bins);
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  axis_x(f, &p, 10, x_label);
  for (int g = 0; g < n_series; g++) {
    if (s[g].v == NULL) continue;
    fprintf(f, "<polyline class=\"ln\" stroke=\"%s\" points=\"", s[g].colour);
    for (int b = 0; b < n_bins; b++) {
      double v = s[g].v[b];
      fprintf(f, "%.1f,%.1f %.1f,%.1f ", px(&p, b * bin_w), py(&p, v), px(&p, (b + 1) * bin_w),
              py(&p, v));
    }
    fprintf(f, "\"/>\n");
  }
  fprintf(f, "</svg>\n");
}

void run_svg_legend(FILE *f, const unsigned char stops[5][3], double vmin, double vmax,
                    const char *label, int id) {
  enum { W = 360, H = 52 };
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          W, H, W, H);
  run_svg_esc(f, label);
  fprintf(f, "</title><defs><linearGradient id=\"lg%d\">", id);
  for (int i = 0; i <= 10; i++) {
    char c[8];
    run_svg_colour_at(stops, i / 10.0, c);
    fprintf(f, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", i * 10, c);
  }
  fprintf(f, "</linearGradient></defs>\n<rect x=\"10\" y=\"6\" width=\"%d\" height=\"14\" "
             "fill=\"url(#lg%d)\" stroke=\"#999\"/>\n",
          W - 20, id);
  char a[32], b[32];
  double step = run_svg_nice_step(vmax - vmin, 4);
  fmt_tick(a, sizeof a, vmin, step);
  fmt_tick(b, sizeof b, vmax, step);
  fprintf(f, "<text class=\"a\" x=\"10\" y=\"34\">%s</text><text class=\"a\" x=\"%d\" y=\"34\" "
             "text-anchor=\"end\">%s</text><text class=\"a\" x=\"%d\" y=\"48\" "
             "text-anchor=\"middle\">",
          a, W - 10, b, W / 2);
  run_svg_esc(f, label);
  fprintf(f, "</text></svg>\n");
}

/* ---------------------------------------------------------------- maps */

void run_svg_map_fit(run_svg_map *m, const double *lat, const double *lng, int n, double edge_m,
                     int w) {
  double a = 90, b = -90, c = 180, dd = -180;
  for (int i = 0; i < n; i++) {
    if (lat[i] < a) a = lat[i];
    if (lat[i] > b) b = lat[i];
    if (lng[i] < c) c = lng[i];
    if (lng[i] > dd) dd = lng[i];
  }
  rs_proj_init(&m->pr, (a + b) / 2, (c + dd) / 2, RS_EARTH_RADIUS_M);
  double x0, y0, x1, y1;
  rs_proj_forward(&m->pr, a, c, &x0, &y0);
  rs_proj_forward(&m->pr, b, dd, &x1, &y1);
  m->pad = 6;
  m->xmin = x0 - edge_m;
  m->ymax = y1 + edge_m;
  double span_x = (x1 - x0) + 2 * edge_m, span_y = (y1 - y0) + 2 * edge_m;
  m->k = (w - 2 * m->pad) / (span_x > 0 ? span_x : 1);
  m->w = w;
  m->h = (int)ceil(span_y * m->k + 2 * m->pad);
  if (m->h > 3 * w) { /* keep very tall cities on the page */
    m->k = (3 * w - 2 * m->pad) / span_y;
    m->h = 3 * w;
  }
}

void run_svg_map_open(FILE *f, const run_svg_map *m, const char *title, int bg) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          m->w, m->h, m->w, m->h);
  run_svg_esc(f, title);
  if (bg) fprintf(f, "</title><rect width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>\n", m->w, m->h);
  else fprintf(f, "</title>\n");
}

void run_svg_map_hex(FILE *f, const run_svg_map *m, double lat, double lng, double edge_m,
                     const char *fill, const char *tip) {
  double x, y;
  rs_proj_forward(&m->pr, lat, lng, &x, &y);
  double cx = m->pad + (x - m->xmin) * m->k, cy = m->pad + (m->ymax - y) * m->k;
  double r = edge_m * m->k;
  fprintf(f, "<path fill=\"%s\" d=\"", fill);
  for (int i = 0; i < 6; i++) {
    double ang = (30.0 + 60.0 * i) * 3.14159265358979323846 / 180;
    fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', cx + r * cos(ang), cy - r * sin(ang));
  }
  fprintf(f, "Z\"><title>");
  run_svg_esc(f, tip);
  fprintf(f, "</title></path>\n");
}
