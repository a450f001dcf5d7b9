#!/usr/bin/env python3
"""digest: a fingerprint of one run's results, for the pinned-results test.

Usage: digest.py RESULTS.db RUN_ID

Prints one line per table, "TABLE SHA256", over the run's rows of orders,
drivers and kpi_series in key order. Every value is written with repr(), so
a float that moves by one unit in the last place changes the digest. The
run_id column is left out (it numbers runs within one DB), and so is every
wall-clock field: these tables hold none.
"""
import hashlib
import sqlite3
import sys

TABLES = (
    ("orders", "order_id"),
    ("drivers", "driver"),
    ("kpi_series", "t_start"),
)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: digest.py RESULTS.db RUN_ID")
    con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    run = int(sys.argv[2])
    for table, key in TABLES:
        cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)
                if r[1] != "run_id"]
        h = hashlib.sha256()
        n = 0
        for row in con.execute("SELECT %s FROM %s WHERE run_id = ? ORDER BY %s"
                               % (", ".join(cols), table, key), (run,)):
            h.update((" ".join(repr(v) for v in row) + "\n").encode())
            n += 1
        print("%s %d %s" % (table, n, h.hexdigest()))


if __name__ == "__main__":
    main()
