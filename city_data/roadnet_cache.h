/*
 * roadnet_cache: files of arrays derived from a road network (its all-pairs
 * table, its hierarchy and hub labels), kept on disk by the network's
 * content hash so that a second load reads what the first one computed.
 *
 * A file holds a header (magic, format version, the kind of data, the
 * network's hash, the count, lengths and checksums of its arrays, and the
 * header's own checksum) and the arrays. Reading checks all of it: a file
 * that fails (truncated, corrupt, another network's, another version's or
 * kind's) is reported and the caller rebuilds and rewrites it. Writing goes
 * to a temporary file in the same directory renamed over the name, so a
 * reader never sees half a file and two writers of the same file leave one
 * whole copy. A cache is an optimisation: nothing here is ever an error of
 * the caller's work, only a reason in `why`.
 *
 * The directory: $XDG_CACHE_HOME/ridesim, else ~/.cache/ridesim, unless the
 * caller names one.
 */
#ifndef CITY_ROADNET_CACHE_H
#define CITY_ROADNET_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CITY_NET_CACHE_VERSION 1
#define CITY_NET_CACHE_BLOBS_MAX 16

typedef struct {
  void *p;         /* the array (read: malloc'd, the caller frees) */
  size_t bytes;    /* its length */
} city_net_blob;

/* The cache file of kind ("tbl", "hub") for a network of content hash,
 * under dir (NULL: the default directory) into buf; -1 when there is no
 * directory to use (no HOME) or the path does not fit. */
int city_net_cache_path(uint64_t hash, const char *kind, const char *dir, char *buf,
                        size_t size);

/* Reads n arrays from path when it is a valid file of (hash, kind): 0, or
 * -1 with the reason in why ("" when there is no file; nothing allocated). */
int city_net_cache_read(const char *path, uint64_t hash, uint32_t kind, int n,
                        city_net_blob *b, char *why, size_t why_size);
/* Writes n arrays (n <= CITY_NET_CACHE_BLOBS_MAX) atomically: 0, or -1 with
 * the reason in why. */
int city_net_cache_write(const char *path, uint64_t hash, uint32_t kind, int n,
                         const city_net_blob *b, char *why, size_t why_size);

/* The checksum the files use: n bytes in four lanes of multiply-xor (the
 * last partial word zero-padded), at memory speed. */
uint64_t city_net_cache_sum(const void *p, size_t n);

#endif
