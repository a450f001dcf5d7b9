/*
 * travel_net: the road-network travel model (the second backend of
 * travel.h).
 *
 * A point snaps to its nearest network node (roadnet.h: a kd-tree). A drive
 * from a to b is the access leg from a to its node, the fastest network
 * drive between the two nodes, and the access leg from b's node to b:
 *
 *   secs   = acc(a) / v(t) + net_secs(na -> nb) x f(t) + acc(b) / v(t)
 *   metres = acc(a) + net_metres(na -> nb) + acc(b)
 *
 * where acc is the straight-line distance between a point and its node,
 * v(t) the city's mean taxi speed for the hour of departure
 * (speed_mps_by_hour), and f(t) the speed factor of that hour and day type
 * (weekday, weekend), which scales every free-flow link time. Access legs
 * are driven as the great-circle model would over that short distance
 * (without its detour factor: the snap distance is already a street
 * stretch, median a few tens of metres in Manhattan; and without cell
 * factors, which the network's links carry); a point farther than
 * the snap limit (CITY_NET_SNAP_LIMIT_M) from every node is still served
 * this way, and counted as off the network (city_travel_net_offnet).
 *
 * Network drives come from the all-pairs table (roadnet_table.h) on city
 * networks (up to CITY_NET_TABLE_MAX_NODES nodes, unless the options say
 * otherwise) and from hub labels (roadnet_ch.h) otherwise; the links of a
 * drive, for a driver's position part-way along it, always from the hub
 * labels. A driver part-way is at the point of its drive's polyline
 * (access legs and links as straight segments between node coordinates)
 * reached after the fraction of the drive's time elapsed, its node the
 * next node it will reach, having driven the metres up to that point.
 *
 * Cell factors (field.h): with the city's network_factors come their
 * cells (network_factors.cells, when the options do not say no_field):
 * every link's free-flow time is multiplied by the mean cell factor along
 * it, once, when the model is made, and the drives are the fastest on the
 * network so retimed (a slow district is driven around when that is
 * faster), scaled by the hourly factors as above. The retimed network has
 * its own content hash (its table and labels are cached under it); the
 * factors' network_hash names the network as loaded
 * (city_travel_net_base). A scenario's factors replace the city's hourly
 * factors and cells together (they were fitted together).
 *
 * Factors: those the options give (a scenario's), else the city's
 * network_factors (city.h: as `ridesim calibrate --network` fits them; a
 * city whose factors name another network's content hash is refused),
 * else the defaults f = (median free-flow speed of the network's links) /
 * (city speed of the hour), for both day types: OSMnx's imputed free-flow
 * speeds are 2.5-3 times the mean speed of Manhattan's taxis by day, and
 * these factors bring the median link to the city's hourly speed until
 * calibrated factors are given.
 *
 * The model owns its network, table and labels; all its functions only
 * read them, so one model serves any number of runs on any threads.
 */
#ifndef CITY_TRAVEL_NET_H
#define CITY_TRAVEL_NET_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/roadnet.h"
#include "city_data/roadnet_ch.h"
#include "city_data/roadnet_table.h"
#include "city_data/travel.h"
#include "city_data/tripstore.h"

#define CITY_NET_TABLE_MAX_NODES 6000 /* 4 n^2 bytes: 144 MB at most */

enum { CITY_NET_TABLE_AUTO = -1, CITY_NET_TABLE_NEVER = 0, CITY_NET_TABLE_ALWAYS = 1 };

/* Where a model's factors came from. */
enum {
  CITY_NET_FACTORS_DERIVED = 0, /* the defaults (median link at the city's speed) */
  CITY_NET_FACTORS_CITY = 1,    /* the city's network_factors */
  CITY_NET_FACTORS_GIVEN = 2,   /* the options' (a scenario's), or set since */
};

typedef struct {
  const char *cache_dir;  /* table cache: NULL the default, "" none */
  int table;              /* CITY_NET_TABLE_* */
  int threads;            /* table and label building; 0: online CPUs */
  int no_field;           /* drive free-flow links even where the city has
                             network cell factors (calibration starts there) */
  int have_factors;       /* factors below are given (else the defaults) */
  double factors[2][24];  /* [weekday 0 / weekend 1][local hour] */
} city_net_model_opts;

void city_net_model_defaults(city_net_model_opts *o);

/* The model of a city on network net, whose ownership it takes (also on
 * failure). The city is borrowed and must outlive the model. RS_ENOMEM,
 * RS_EINVAL (a factor not positive and finite, or city factors fitted to
 * another network). */
int city_travel_net(const city_def *city, city_net *net, const city_net_model_opts *o,
                    city_travel *out, rs_err *e);
/* Loads a network file and makes its model. */
int city_travel_net_open(const city_def *city, const char *path, const city_net_model_opts *o,
                         city_travel *out, rs_err *e);

/* The network of a road-network model; NULL for another backend. */
const city_net *city_travel_net_network(const city_travel *tm);
/* The network as loaded, before cell factors retimed it (its content hash
 * is the one network_factors name); NULL for another backend. */
const city_net *city_travel_net_base(const city_travel *tm);
/* The cell factors its links drive under (n 0: none); NULL for another
 * backend. */
const city_field *city_travel_net_field(const city_travel *tm);
/* The access leg's metres of a place: from the point to its node (0 for
 * another backend). */
double city_travel_net_access_m(const city_travel *tm, const city_loc *p);
/* Drives the base network under cell factors f (NULL or empty: free flow),
 * retimed and with new labels and table (calibration), read from and
 * written to the model's cache when `cache` (else built and kept in memory
 * only: a calibration's intermediate fits would leave a table of tens of
 * megabytes each in the cache). Not while any run uses the model.
 * RS_EINVAL (another backend, a field failing its check), RS_ENOMEM and
 * the cache's errors, the model unchanged then. */
int city_travel_net_set_field(city_travel *tm, const city_field *f, int cache, rs_err *e);
/* Its table (NULL when it uses hub labels) and labels. */
const city_net_table *city_travel_net_table(const city_travel *tm);
const city_net_hubs *city_travel_net_hubs(const city_travel *tm);
/* Its speed factor at local time t. */
double city_travel_net_factor(const city_travel *tm, int64_t t);
/* Copies its factors [weekday 0 / weekend 1][local hour] into out and
 * returns where they came from (CITY_NET_FACTORS_*); -1, out untouched,
 * for another backend. */
int city_travel_net_factors(const city_travel *tm, double out[2][24]);
/* Replaces its factors by f (read only; calibration). Not while any run uses the model:
 * the model is otherwise read only. RS_EINVAL, the model unchanged, for a
 * factor not positive and finite or another backend. */
int city_travel_net_set_factors(city_travel *tm, double f[2][24], rs_err *e);
/* How many of the 2 n ends of trips (pickups and dropoffs) lie farther
 * than CITY_NET_SNAP_LIMIT_M from every node (0 for another backend). */
int64_t city_travel_net_offnet(const city_travel *tm, const city_trip *trips, size_t n);

#endif
