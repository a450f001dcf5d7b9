#!/bin/sh
# eval_v1d3.sh: the V1D3 evaluation protocol of docs/v1d3.md on a trip store of several days.
#
# Leave one day out: for every day D of the store, a table is trained offline on the other days
# (ridesim train) and one online through the other days in sequence (ridesim train --online);
# then `ridesim compare` runs every combination on D over the seeds with common random numbers
# against batch-distance/stay:
#   ens       v1d3 ensemble (offline table) with stay and with v1d3 repositioning, and
#             batch-distance with v1d3 repositioning
#   flat      the same ensemble with --value-flatten (each slot its mean over cells)
#   warm      v1d3 online, warm-started from the table learnt online on the other days
#   warmd     the same with weekday and weekend tables (--split-daytype): the test day starts
#             from the table of the other days of its own day type
#   cold      v1d3 online from nothing
# and prints one line per day, fleet and combination: the paired difference of total driver
# income against batch-distance/stay with its 95 % interval, and the answer-rate swing (the
# standard deviation over 5-minute windows of the share of orders requested in the window that
# were matched, mean over seeds) of the combination.
#
# usage: tools/eval_v1d3.sh TRIPS.db OUTDIR [DRIVERS...]    (default drivers: 2500 3000)
# environment: RIDESIM (the binary, default build/tools/ridesim), SEEDS (default 1-5),
#              DAYS (default every day of the store), JOBS (default 2),
#              COMBOS (default "ens flat warm warmd cold"),
#              NETWORK (a road network: travel on it, as --network) and CITY (a city
#              definition, e.g. `ridesim calibrate`'s, as --city): the world, given alike to
#              train, train --online and compare, so that tables are learnt on the world they
#              are tested on (the faithful world of docs/v1d3.md: both),
#              V1D3_OPTS (v1d3 options, e.g. "--lr 0.25", given to train --online and to
#              every compare: the online learner of the ensemble and online modes).
set -eu
trips=$1
out=$2
shift 2
fleets=${*:-2500 3000}
R=${RIDESIM:-build/tools/ridesim}
seeds=${SEEDS:-1-5}
jobs=${JOBS:-2}
combos=${COMBOS:-ens flat warm warmd cold}
world=""
if [ -n "${NETWORK:-}" ]; then world="--network $NETWORK"; fi
if [ -n "${CITY:-}" ]; then world="$world --city $CITY"; fi
vopts=${V1D3_OPTS:-}
mkdir -p "$out"
all=$(sqlite3 "$trips" "select distinct date(t_request, 'unixepoch', 'localtime') from trips order by 1" 2>/dev/null ||
      true)
if [ -z "$all" ]; then
  all=$("$R" trips "$trips" | sed -n 's/^  #[0-9]* .*\/\([0-9-]*\)\.csv .*/\1/p')
fi
days=${DAYS:-$all}

# swing DB: per combination, the mean over runs of the sd of the 5-minute answer rates
swing() {
  /usr/bin/python3 - "$1" <<'EOF'
import sqlite3, sys, statistics, collections
db = sqlite3.connect(sys.argv[1])
by = collections.defaultdict(list)
for rid, d, r in db.execute("select id, dispatch, reposition from runs"):
    w = collections.defaultdict(lambda: [0, 0])
    for t, st in db.execute("select t_request, status from orders where run_id=?", (rid,)):
        c = w[t // 300]
        c[0] += 1
        c[1] += st != "expired"
    rates = [m / n for n, m in w.values() if n > 0]
    by[(d, r)].append(statistics.pstdev(rates))
for (d, r), s in sorted(by.items()):
    print(f"{d}/{r} {100 * statistics.mean(s):.2f}")
EOF
}

row() { # label csv
  /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import csv, sys
label, path, swings = sys.argv[1], sys.argv[2], sys.argv[3]
sw = dict(l.split() for l in open(swings) if l.strip())
for r in csv.reader(open(path)):
    if len(r) < 14 or r[2] != "income":
        continue
    combo = f"{r[0]}/{r[1]}"
    s = sw.get(combo, "?")
    if r[10] == "":
        print(f"  {label:5} {combo:22} income {float(r[4]):10.0f}  (baseline)          swing {s}")
    else:
        rel = float(r[13])  # already in per cent
        dlo, dhi = float(r[11]), float(r[12])
        print(f"  {label:5} {combo:22} income {float(r[4]):10.0f}  {rel:+6.2f} %  "
              f"diff [{dlo:+8.0f}, {dhi:+8.0f}]  swing {s}")
EOF
}

for d in $days; do
  others=$(printf '%s\n' $all | grep -v "^$d\$" | paste -sd, -)
  dp=$out/dp-$d.db
  # shellcheck disable=SC2086
  [ -f "$dp" ] || "$R" train --trips "$trips" --days "$others" $world --out "$dp" > "$out/dp-$d.log"
  for n in $fleets; do
    on=$out/on-$d-$n.db
    ond=$out/ond-$d-$n.db
    case " $combos " in *" warm "*)
      # shellcheck disable=SC2086
      [ -f "$on" ] || "$R" train --online --trips "$trips" --days "$others" --drivers "$n" $world \
                        $vopts --out "$on" --runs "$out/on-$d-$n-runs.db" > "$out/on-$d-$n.log" ;;
    esac
    case " $combos " in *" warmd "*)
      # shellcheck disable=SC2086
      [ -f "$ond" ] || "$R" train --online --split-daytype --trips "$trips" --days "$others" \
                         --drivers "$n" $world $vopts --out "$ond" --runs "$out/ond-$d-$n-runs.db" \
                         > "$out/ond-$d-$n.log" ;;
    esac
    echo "$d, $n drivers (trained on $others)"
    common="--trips $trips --day $d --drivers $n --seeds $seeds --jobs $jobs --csv $world $vopts"
    for c in $combos; do
      case $c in
        ens)  opts="--policies batch-distance,v1d3 --reposition stay,v1d3 --value-mode ensemble --value-table $dp" ;;
        flat) opts="--policies batch-distance,v1d3 --value-mode ensemble --value-table $dp --value-flatten" ;;
        warm) opts="--policies batch-distance,v1d3 --value-mode online --value-table $on" ;;
        warmd) opts="--policies batch-distance,v1d3 --value-mode online --value-table $ond" ;;
        cold) opts="--policies batch-distance,v1d3 --value-mode online" ;;
        *) echo "eval_v1d3.sh: unknown combination '$c'" >&2; exit 2 ;;
      esac
      db=$out/cmp-$d-$n-$c.db
      rm -f "$db"
      # shellcheck disable=SC2086
      "$R" compare $common $opts --out "$db" > "$out/cmp-$d-$n-$c.csv" 2> "$out/cmp-$d-$n-$c.log"
      swing "$db" > "$out/swing-$d-$n-$c.txt"
      row "$c" "$out/cmp-$d-$n-$c.csv" "$out/swing-$d-$n-$c.txt"
    done
  done
done
