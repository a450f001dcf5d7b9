/*
 * ridesim value info VALUE.db [--city NAME|FILE]
 * ridesim value export VALUE.db --slot HH:MM [--daytype weekday|weekend]
 *                      --format csv|geojson [--out FILE] [--city NAME|FILE]
 *
 * info prints a value table's metadata (city, grid, slots, discount, the
 * days and trips it was trained on) and statistics (seen states, mean and
 * largest value, seen states per day type, the time-free layer, the mean
 * of seen states by hour). With --against RESULTS.db it holds the table
 * against a run (run/against.h gathers it, value/realised.h says exactly
 * what is compared): the run's
 * completed orders from the results DB, their dropoff cells from the trip
 * store its scenario names.
 *
 * export writes one time slot of one day type as a map: every cell in
 * service of the table's city (its service area's cells, or its box's:
 * city_def_service_cells), with its index, axial q and r, centre, hexagon
 * (6 vertices; a closed ring of [lng, lat] in GeoJSON, WKT in CSV), its value
 * at the slot (with the table's fallback for a state never updated, so the
 * map shows what a policy would read) and the state's update count (0: the
 * value is the fallback). Cells are written in index order, and how many
 * were written goes to standard error. With --out the file is written beside
 * its final name and renamed into place, so a reader never sees half a map.
 *
 * The city defaults to the one named in the table's metadata, resolved like
 * --city (a built-in name, else a JSON file); its grid must match the table.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rs_time.h"
#include "run/against.h"
#include "tools/cli.h"
#include "value/realised.h"
#include "value/vstore.h"
#include "value/vtable.h"

#define VALUE_USAGE                                                        \
  "ridesim value info VALUE.db [--city NAME|FILE] [--against RESULTS.db [--run ID]]\n" \
  "       ridesim value export VALUE.db --slot HH:MM "                     \
  "[--daytype weekday|weekend] --format csv|geojson [--out FILE] "         \
  "[--city NAME|FILE]"

/* Local-epoch midnights of a Monday (2016-02-01) and a Saturday
 * (2016-02-06): any time of day on them has day type 0 / 1. */
#define VALUE_MONDAY 1454284800LL
#define VALUE_SATURDAY 1454716800LL

static void value_help(void) {
  printf("usage: %s\n\n"
         "Inspects and exports value tables written by 'ridesim train'.\n\n"
         "  info                    metadata and statistics of the table, its mean by\n"
         "                          hour of the day\n"
         "    --against RESULTS.db  by hour, what drivers earned in a run from the\n"
         "                          moment they became idle at a dropoff (discounted\n"
         "                          with the table's gamma, fares spread over rides,\n"
         "                          nothing after the run's end) against the table's\n"
         "                          V(dropoff cell, time), and how the two rank cells\n"
         "    --run ID              the run of RESULTS.db (default: its last)\n"
         "  export                  one time slot of the table as a map of every\n"
         "                          cell in service of the city\n"
         "    --slot HH:MM          time of day (its slot is exported)\n"
         "    --daytype T           weekday (default) or weekend; a table without\n"
         "                          day types has one table for every day\n"
         "    --format F            csv or geojson\n"
         "    --out FILE            write to FILE (default: standard output)\n"
         "  --city NAME|FILE        the table's city (default: the one it names)\n",
         VALUE_USAGE);
}

/* Loads path with its city (given or named in the file) and that city's grid. */
static int load_table(const char *cmd, const char *path, const char *city_arg, city_def *city,
                      city_grid *grid, val_table **t, val_meta *m) {
  rs_err e;
  rs_err_clear(&e);
  val_meta peek;
  if (val_store_load(path, NULL, NULL, NULL, &peek, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  const char *name = city_arg != NULL ? city_arg : peek.city;
  if (city_def_resolve(name, city, &e) != 0 || city_def_grid(city, grid, &e) != 0 ||
      val_store_load(path, city, grid, t, m, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  return 0;
}

/* The table against a run: see value/realised.h and run/against.h. */
static int value_against(const char *cmd, const val_table *t, const city_def *city,
                         const char *results, int64_t run_id) {
  rs_err e;
  rs_err_clear(&e);
  run_against a;
  if (run_value_against(t, city, results, run_id, &a, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  const val_realised_hour *h = a.hour;
  printf("against        %s, run %lld (%zu completed trips; trips %s)\n", results,
         (long long)a.run, a.n_trips, a.trips);
  printf("  states: drivers idle at a dropoff; realised: their discounted income in the run\n"
         "  (nothing after its end); table: V(dropoff cell, time). Cells with >= %d states:\n",
         VAL_REALISED_MIN_CELL);
  printf("  hour   states  realised    table  ratio  cells  sd(real) sd(table)   corr\n");
  for (int32_t k = 0; k < 24; k++) {
    if (h[k].n == 0) continue;
    printf("  %02d:00 %8lld %9.2f %8.2f %6.2f %6d %9.2f %9.2f %6.2f\n", k, (long long)h[k].n,
           h[k].real_mean, h[k].table_mean,
           h[k].real_mean != 0 ? h[k].table_mean / h[k].real_mean : NAN, h[k].cells,
           h[k].real_sd, h[k].table_sd, h[k].corr);
  }
  return 0;
}

static int value_info(const char *path, const char *city_arg, const char *against,
                      int64_t run_id) {
  const char *cmd = "value info";
  city_def city;
  city_grid grid;
  val_table *t = NULL;
  val_meta m;
  if (load_table(cmd, path, city_arg, &city, &grid, &t, &m) != 0) return 1;
  const val_config *c = val_table_config(t);
  int32_t ns = val_table_n_slots(t), nc = val_table_n_cells(t);
  double mean, max_abs;
  int64_t n_seen;
  val_table_stats(t, &mean, &max_abs, &n_seen);
  printf("file           %s\n", path);
  printf("city           %s (hex edge %g m, %d cells)\n", city.name, city.hex_edge_m, nc);
  printf("slots          %d of %d min%s\n", ns, c->slot_s / 60,
         c->day_types == 2 ? ", weekday and weekend" : ", every day alike");
  printf("gamma          %g per %d s\n", c->gamma, c->gamma_period_s);
  printf("days           %s\n", m.days[0] ? m.days : "(unknown)");
  printf("trips used     %lld\n", (long long)m.rows);
  printf("passes         %d\n", m.passes);
  printf("created        %s\n", m.created[0] ? m.created : "(unknown)");
  printf("states seen    %lld of %lld\n", (long long)n_seen,
         (long long)c->day_types * ns * nc);
  printf("mean value     %.4f (seen states)\n", mean);
  printf("max |value|    %.4f\n", max_abs);
  for (int32_t d = 0; d < c->day_types; d++) {
    int64_t seen = 0, cells = 0;
    for (int32_t k = 0; k < nc; k++) {
      int any = 0;
      for (int32_t s = 0; s < ns; s++)
        if (val_table_count(t, d, s, k) > 0) seen++, any = 1;
      cells += any;
    }
    printf("%-14s %lld states in %lld cells\n",
           c->day_types == 1 ? "all days" : (d == 0 ? "weekday" : "weekend"),
           (long long)seen, (long long)cells);
    if (val_table_free_seen(t, d) > 0)
      printf("time-free      mean %.4f over %d cells\n", val_table_free_mean(t, d),
             val_table_free_seen(t, d));
    /* the mean of seen states by hour, and their spread across cells */
    for (int32_t hour = 0; hour < 24; hour++) {
      double sum = 0, sq = 0;
      int64_t k = 0;
      for (int32_t s = hour * 3600 / c->slot_s; s < (hour + 1) * 3600 / c->slot_s && s < ns; s++)
        for (int32_t cell = 0; cell < nc; cell++)
          if (val_table_count(t, d, s, cell) > 0) {
            double v = val_table_raw(t, d, s, cell);
            sum += v;
            sq += v * v;
            k++;
          }
      if (k == 0) continue;
      double hm = sum / (double)k, var = k > 1 ? (sq - sum * hm) / (double)(k - 1) : 0;
      printf("  %02d:00        mean %.2f, sd across states %.2f (%lld states)\n", hour, hm,
             sqrt(var > 0 ? var : 0), (long long)k);
    }
  }
  int status = 0;
  if (against != NULL) status = value_against(cmd, t, &city, against, run_id);
  val_table_free(t);
  return status;
}

/* A number for CSV/GeoJSON: "null" (GeoJSON) or "" (CSV) when not finite. */
static void put_num(FILE *f, double v, int json) {
  if (isfinite(v)) fprintf(f, "%.10g", v);
  else if (json) fputs("null", f);
}

/* A JSON string literal (quotes included). */
static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

/* Writes the map of the cells flagged in `in`; counts the cells written and
 * those of them updated at the slot. */
static int write_map(FILE *f, const val_table *t, const city_grid *g, const uint8_t *in,
                     int32_t dtype, int64_t t_local, int json, const char *slot_text,
                     const char *daytype_text, const char *city_name, int32_t *n_written,
                     int32_t *n_learned) {
  int32_t nc = val_table_n_cells(t);
  int32_t slot = val_table_slot(t, t_local);
  *n_written = *n_learned = 0;
  if (json) {
    fputs("{\"type\": \"FeatureCollection\", \"properties\": {\"city\": ", f);
    put_json_string(f, city_name);
    fprintf(f, ", \"slot\": %d, \"slot_start\": \"%s\", \"daytype\": \"%s\"},\n"
               "\"features\": [",
            slot, slot_text, daytype_text);
  } else
    fputs("cell,q,r,lat,lng,value,count,polygon_wkt\n", f);
  int first = 1;
  for (int32_t k = 0; k < nc; k++) {
    if (!in[k]) continue;
    city_hex h = city_grid_hex(g, k);
    double lat, lng, plat[6], plng[6];
    city_grid_center(g, h, &lat, &lng);
    city_grid_polygon(g, h, plat, plng);
    double v = val_table_get(t, k, t_local);
    uint32_t n = val_table_count(t, dtype, slot, k);
    (*n_written)++;
    *n_learned += n > 0;
    if (json) {
      fprintf(f, "%s\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Polygon\","
                 " \"coordinates\": [[",
              first ? "" : ",");
      for (int i = 0; i <= 6; i++)
        fprintf(f, "%s[%.7f, %.7f]", i ? ", " : "", plng[i % 6], plat[i % 6]);
      fprintf(f, "]]}, \"properties\": {\"cell\": %d, \"q\": %d, \"r\": %d,"
                 " \"lat\": %.7f, \"lng\": %.7f, \"value\": ",
              k, h.q, h.r, lat, lng);
      put_num(f, v, 1);
      fprintf(f, ", \"count\": %u}}", n);
    } else {
      fprintf(f, "%d,%d,%d,%.7f,%.7f,", k, h.q, h.r, lat, lng);
      put_num(f, v, 0);
      fprintf(f, ",%u,\"POLYGON((", n);
      for (int i = 0; i <= 6; i++)
        fprintf(f, "%s%.7f %.7f", i ? ", " : "", plng[i % 6], plat[i % 6]);
      fputs("))\"\n", f);
    }
    first = 0;
  }
  if (json) fputs("\n]}\n", f);
  return ferror(f) ? -1 : 0;
}

static int value_export(const char *path, const char *city_arg, const char *slot_text,
                        const char *daytype, const char *format, const char *out) {
  const char *cmd = "value export";
  int64_t tod;
  if (slot_text == NULL) return cli_usage_error(cmd, VALUE_USAGE, "--slot HH:MM is required");
  if (cli_parse_hhmm(slot_text, &tod) != 0 || tod >= RS_DAY_S)
    return cli_usage_error(cmd, VALUE_USAGE, "--slot: '%s' is not a time 00:00 .. 23:59",
                           slot_text);
  if (format == NULL)
    return cli_usage_error(cmd, VALUE_USAGE, "--format csv|geojson is required");
  int json;
  if (strcmp(format, "csv") == 0) json = 0;
  else if (strcmp(format, "geojson") == 0) json = 1;
  else return cli_usage_error(cmd, VALUE_USAGE, "--format: '%s' is not csv or geojson", format);
  int weekend;
  if (daytype == NULL || strcmp(daytype, "weekday") == 0) weekend = 0;
  else if (strcmp(daytype, "weekend") == 0) weekend = 1;
  else
    return cli_usage_error(cmd, VALUE_USAGE, "--daytype: '%s' is not weekday or weekend",
                           daytype);

  city_def city;
  city_grid grid;
  val_table *t = NULL;
  val_meta m;
  if (load_table(cmd, path, city_arg, &city, &grid, &t, &m) != 0) return 1;
  int64_t t_local = (weekend ? VALUE_SATURDAY : VALUE_MONDAY) + tod;
  int32_t dtype = val_table_daytype(t, t_local);
  /* The slot's start, as exported (09:05 in a 10-minute table is 09:00). */
  int64_t start = (int64_t)val_table_slot(t, t_local) * val_table_config(t)->slot_s;
  char start_text[8];
  snprintf(start_text, sizeof start_text, "%02d:%02d", (int)(start / 3600),
           (int)(start % 3600 / 60));
  const char *dt_text = val_table_config(t)->day_types == 1 ? "all" : (dtype ? "weekend"
                                                                             : "weekday");

  int status = 1;
  FILE *f = stdout;
  char tmp[4096];
  uint8_t *in = malloc((size_t)grid.n_cells);
  if (in == NULL) {
    cli_error(cmd, "out of memory for %d cells", grid.n_cells);
    goto done;
  }
  city_def_service_cells(&city, &grid, in);
  int32_t n_written = 0, n_learned = 0;
  if (out != NULL) {
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid()) >= sizeof tmp) {
      cli_error(cmd, "%s: file name too long", out);
      goto done;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
      cli_error(cmd, "%s: cannot write: %s", out, strerror(errno));
      goto done;
    }
  }
  int wrc = write_map(f, t, &grid, in, dtype, t_local, json, start_text, dt_text, city.name,
                      &n_written, &n_learned);
  if (out != NULL) {
    if (fclose(f) != 0) wrc = -1;
    if (wrc != 0 || rename(tmp, out) != 0) {
      cli_error(cmd, "%s: cannot write: %s", out, strerror(errno));
      unlink(tmp);
      goto done;
    }
  } else if (wrc != 0 || fflush(stdout) != 0) {
    cli_error(cmd, "cannot write to standard output");
    goto done;
  }
  fprintf(stderr,
          "value export: wrote %d cells, every cell in service of %s (of %d in its grid); "
          "%d learned at %s, the others read the table's fallback\n",
          n_written, city.name, grid.n_cells, n_learned, start_text);
  status = 0;
done:
  free(in);
  val_table_free(t);
  return status;
}

int cmd_value(int argc, char **argv) {
  const char *cmd = "value";
  if (argc < 2) return cli_usage_error(cmd, VALUE_USAGE, "no subcommand given");
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
    value_help();
    return 0;
  }
  int is_info = strcmp(sub, "info") == 0, is_export = strcmp(sub, "export") == 0;
  if (!is_info && !is_export)
    return cli_usage_error(cmd, VALUE_USAGE, "unknown subcommand '%s' (info or export)", sub);
  const char *path = NULL, *city = NULL, *slot = NULL, *daytype = NULL, *format = NULL,
             *out = NULL, *against = NULL, *run = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char **dst = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      value_help();
      return 0;
    }
    if (strcmp(a, "--city") == 0) dst = &city;
    else if (is_export && strcmp(a, "--slot") == 0) dst = &slot;
    else if (is_export && strcmp(a, "--daytype") == 0) dst = &daytype;
    else if (is_export && strcmp(a, "--format") == 0) dst = &format;
    else if (is_export && strcmp(a, "--out") == 0) dst = &out;
    else if (is_info && strcmp(a, "--against") == 0) dst = &against;
    else if (is_info && strcmp(a, "--run") == 0) dst = &run;
    else if (a[0] == '-' && a[1] != '\0')
      return cli_usage_error(cmd, VALUE_USAGE, "unknown option '%s' for %s", a, sub);
    else if (path == NULL) {
      path = a;
      continue;
    } else {
      return cli_usage_error(cmd, VALUE_USAGE, "one value table at a time ('%s')", a);
    }
    if (i + 1 >= argc) return cli_usage_error(cmd, VALUE_USAGE, "%s needs a value", a);
    *dst = argv[++i];
  }
  if (path == NULL) return cli_usage_error(cmd, VALUE_USAGE, "no value table given");
  int64_t run_id = 0;
  if (run != NULL && (cli_parse_i64(run, &run_id) != 0 || run_id < 1))
    return cli_usage_error(cmd, VALUE_USAGE, "--run: '%s' is not a run id", run);
  if (run != NULL && against == NULL)
    return cli_usage_error(cmd, VALUE_USAGE, "--run needs --against RESULTS.db");
  return is_info ? value_info(path, city, against, run_id)
                 : value_export(path, city, slot, daytype, format, out);
}
