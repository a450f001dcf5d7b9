#!/usr/bin/env bash
# test_agent: `ridesim evaluate` against small fake agents, one per kind of
# bad reply, plus the example submission through tools/kddcup_agent.py and
# the built-in policy behind the observations.
#
# Every fault must be counted on stderr, logged (with its request number,
# tick and the competition's error name) in the agent log, and the run must
# go on, or end with a clear status when the agent died, with the results so
# far in the DB.
#
# Usage: tests/test_agent.sh [RIDESIM_BIN]   (meson passes the binary)
# Needs python3 and sqlite3. Prints "N passed, M failed"; exit 1 on failure.
set -u
BIN=${1:-${RIDESIM_BIN:-build/tools/ridesim}}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BRIDGE="$ROOT/tools/kddcup_agent.py"
EXAMPLE="$ROOT/tools/kddcup_example"
for tool in python3 sqlite3; do
  command -v "$tool" >/dev/null || { echo "test_agent: $tool not found: skipped"; exit 77; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ridesim-agent-XXXXXX")
# RIDESIM_KEEP_TMP=1 keeps the agents, DBs and logs for inspection
if [ -z "${RIDESIM_KEEP_TMP:-}" ]; then trap 'rm -rf "$TMP"' EXIT; else echo "files in $TMP"; fi
PASS=0
FAIL=0
# A short synthetic run: 20 minutes, a few hundred orders.
RUN=(--synthetic --orders 20000 --drivers 150 --from 08:00 --to 08:20 --seed 7)

ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' "$2" | head -20; }

# The fake agent: one script, its behaviour chosen by MODE.
cat > "$TMP/fake.py" <<'EOF'
import json, os, sys, time
mode = sys.argv[1]
n_dispatch = 0
def send(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    tick = req["tick"]
    if req["type"] == "init":
        if mode == "init-exit":
            sys.exit(5)
        send({"ok": True, "tick": tick}); continue
    if req["type"] == "reposition":
        if mode == "repo-bad":
            drv = req["observ"]["driver_info"]
            res = [{"driver_id": -1, "destination": "0"}]
            if drv:
                res.append({"driver_id": drv[0]["driver_id"], "destination": "no-such-cell"})
                res.append({"driver_id": drv[0]["driver_id"], "destination": 17})
            send({"ok": True, "tick": tick, "result": res})
        else:
            send({"ok": True, "tick": tick, "result": []})
        continue
    n_dispatch += 1
    obs = req["observ"]
    first = obs[0]
    res = [{"order_id": first["order_id"], "driver_id": first["driver_id"]}]
    if mode == "unknown":
        res += [{"order_id": -12345, "driver_id": first["driver_id"]},
                {"order_id": first["order_id"], "driver_id": 10**9}]
    elif mode == "not-offered":
        pairs = {(c["order_id"], c["driver_id"]) for c in obs}
        orders = sorted({c["order_id"] for c in obs}); drivers = sorted({c["driver_id"] for c in obs})
        bad = [(o, d) for o in orders for d in drivers if (o, d) not in pairs]
        res = [{"order_id": o, "driver_id": d} for o, d in bad[:1]] + res
    elif mode == "duplicate":
        other = [c for c in obs if c["order_id"] != first["order_id"] and c["driver_id"] != first["driver_id"]]
        res += [{"order_id": first["order_id"], "driver_id": other[0]["driver_id"]} if other else res[0]]
        same_driver = [c for c in obs if c["driver_id"] == first["driver_id"] and c["order_id"] != first["order_id"]]
        res += [{"order_id": (same_driver[0] if same_driver else first)["order_id"], "driver_id": first["driver_id"]}]
    elif mode == "types":
        res += [{"order_id": str(first["order_id"]), "driver_id": first["driver_id"]}, 5,
                {"order_id": first["order_id"] + 0.5, "driver_id": True}, {"driver_id": 1}]
        if n_dispatch % 2 == 0:
            send({"ok": True, "tick": tick, "result": {"not": "a list"}}); continue
    elif mode == "not-json":
        if n_dispatch % 3 == 0:
            sys.stdout.write("this is not json\n"); sys.stdout.flush(); continue
    elif mode == "slow":
        if n_dispatch in (3, 9):
            time.sleep(0.6)
    elif mode == "exit-mid":
        if n_dispatch == 40:
            sys.exit(3)
    elif mode == "crash-mid":
        if n_dispatch == 40:
            os.kill(os.getpid(), 9)
    elif mode == "trivial":
        res = []
    send({"ok": True, "tick": tick, "result": res})
EOF

# Submissions for the bridge: one raising in dispatch now and then, one
# failing in its constructor, one printing on stdout (must not corrupt).
mkdir -p "$TMP/sub_raise/model" "$TMP/sub_init/model" "$TMP/sub_print/model"
cat > "$TMP/sub_raise/model/helper.py" <<'EOF'
def pick(obs):
    return [{"order_id": obs[0]["order_id"], "driver_id": obs[0]["driver_id"]}]
EOF
cat > "$TMP/sub_raise/model/agent.py" <<'EOF'
from helper import pick   # a sibling module, imported by bare name
class Agent:
    def __init__(self):
        self.n = 0
    def dispatch(self, obs):
        self.n += 1
        if self.n % 5 == 0:
            raise ValueError("deliberate failure %d" % self.n)
        return pick(obs)
    def reposition(self, obs):
        raise KeyError("no repositioning here")
EOF
cat > "$TMP/sub_init/model/agent.py" <<'EOF'
class Agent:
    def __init__(self):
        raise RuntimeError("model file missing")
EOF
cat > "$TMP/sub_print/model/agent.py" <<'EOF'
import numbers
class Agent:
    def __init__(self):
        print("loading the model...")
    def dispatch(self, obs):
        print("dispatch called with", len(obs), "candidates")
        return [{"order_id": obs[0]["order_id"], "driver_id": obs[0]["driver_id"]}]
    def reposition(self, obs):
        print("reposition")
        return []
EOF

# evaluate NAME AGENT [extra args]: runs and leaves out/err/db/log in $TMP/NAME.*
evaluate() {
  local name=$1 agent=$2
  shift 2
  "$BIN" evaluate --agent "$agent" "${RUN[@]}" --out "$TMP/$name.db" \
    --agent-log "$TMP/$name.log" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  echo $? >"$TMP/$name.rc"
}
status_of() { sqlite3 "$TMP/$1.db" "SELECT status FROM runs ORDER BY id DESC LIMIT 1"; }
orders_of() { sqlite3 "$TMP/$1.db" "SELECT count(*) FROM orders"; }
# logged NAME FAULT ERROR: a log line with that fault and error name, a request and a tick
logged() {
  grep "\"fault\":\"$2\"" "$TMP/$1.log" | grep "\"error\":\"$3\"" | grep -q '"request":[0-9]*,.*"tick":[0-9]*'
}
counted() { grep -Eq "^ +$2 +[1-9]" "$TMP/$1.err"; }
check() { # check NAME DESCRIPTION EXPECTED_STATUS EXPECTED_RC FAULT ERROR [FAULT ERROR ...]
  local name=$1 desc=$2 want_st=$3 want_rc=$4
  shift 4
  local st rc ok_=1
  st=$(status_of "$name" 2>/dev/null)
  rc=$(cat "$TMP/$name.rc")
  [ "$st" = "$want_st" ] || { ok_=0; echo "     status '$st', expected '$want_st'"; }
  [ "$rc" = "$want_rc" ] || { ok_=0; echo "     exit $rc, expected $want_rc"; }
  # results so far: a run that got going has its orders in the DB (after a
  # failed init no order has arrived yet: the run's row and status suffice)
  if [ "$want_st" != agent-init-failed ]; then
    [ "$(orders_of "$name")" -gt 0 ] || { ok_=0; echo "     no orders in the DB"; }
  fi
  while [ $# -ge 2 ]; do
    logged "$name" "$1" "$2" || { ok_=0; echo "     no '$1' $2 in the log"; }
    counted "$name" "$1" || { ok_=0; echo "     '$1' not counted on stderr"; }
    shift 2
  done
  if [ $ok_ = 1 ]; then ok "$desc"; else bad "$desc" "$TMP/$name.err"; fi
}

FAKE="python3 $TMP/fake.py"
evaluate unknown "$FAKE unknown"
check unknown "unknown order and driver ids dropped, run goes on" completed 0 \
  unknown-order DispatchAgentError unknown-driver DispatchAgentError
evaluate notoff "$FAKE not-offered"
check notoff "pair not offered dropped" completed 0 not-offered DispatchAgentError
evaluate dup "$FAKE duplicate"
check dup "duplicate order and driver: the later dropped" completed 0 \
  duplicate-order DispatchAgentError duplicate-driver DispatchAgentError
evaluate types "$FAKE types"
check types "wrong types dropped, non-list result fails the reply" completed 0 \
  wrong-type DispatchAgentError bad-reply DispatchAgentError
evaluate notjson "$FAKE not-json" --fallback batch-distance
check notjson "non-JSON reply: the fallback decides" completed 0 not-json DispatchAgentError
if grep -q "ticks decided by the fallback" "$TMP/notjson.err" &&
   ! grep -q " 0 ticks decided by the fallback" "$TMP/notjson.err"; then
  ok "fallback counted"
else bad "fallback counted" "$TMP/notjson.err"; fi
evaluate slow "$FAKE slow" --agent-timeout 0.3
check slow "late reply: timeout, then the late line discarded" completed 0 \
  timeout DispatchAgentError late DispatchAgentError
evaluate repo "$FAKE repo-bad"
check repo "reposition faults: unknown driver, bad destination, wrong type" completed 0 \
  unknown-driver RepositionAgentError bad-destination RepositionAgentError \
  wrong-type RepositionAgentError
evaluate raise "python3 $BRIDGE $TMP/sub_raise"
check raise "exception in the agent: DispatchAgentError and RepositionAgentError" completed 0 \
  exception DispatchAgentError exception RepositionAgentError
evaluate exitmid "$FAKE exit-mid"
check exitmid "agent exits mid-run: status agent-died, results kept" agent-died 1 \
  died DispatchAgentError
grep -q "exited with status 3" "$TMP/exitmid.err" && ok "exit status reported" ||
  bad "exit status reported" "$TMP/exitmid.err"
evaluate crashmid "$FAKE crash-mid"
check crashmid "agent killed mid-run: status agent-died, results kept" agent-died 1 \
  died DispatchAgentError
evaluate initexc "python3 $BRIDGE $TMP/sub_init"
check initexc "exception at init: InitAgentError, status agent-init-failed" agent-init-failed 1 \
  exception InitAgentError
evaluate initexit "$FAKE init-exit"
check initexit "agent dies at init: InitAgentError" agent-init-failed 1 died InitAgentError
evaluate nosub "python3 $BRIDGE $TMP/no-such-folder"
check nosub "missing submission folder: InitAgentError" agent-init-failed 1 exception InitAgentError

# The agent's own prints must not corrupt the protocol.
evaluate prints "python3 $BRIDGE $TMP/sub_print"
if [ "$(status_of prints)" = completed ] && [ ! -s "$TMP/prints.log" ] &&
   grep -q "dispatch called with" "$TMP/prints.err"; then
  ok "agent prints go to stderr, protocol intact"
else bad "agent prints go to stderr, protocol intact" "$TMP/prints.err"; fi

# The example submission (folder or its model folder) through the bridge.
for dir in "$EXAMPLE" "$EXAMPLE/model"; do
  evaluate example "python3 $BRIDGE $dir"
  J=$(awk '/dispatch score J/ {print $4}' "$TMP/example.out")
  if [ "$(status_of example)" = completed ] && [ ! -s "$TMP/example.log" ] &&
     awk -v j="$J" 'BEGIN {exit !(j > 0)}'; then
    ok "example agent ($(basename "$dir")): J = $J, no faults"
  else bad "example agent ($(basename "$dir"))" "$TMP/example.err"; fi
  rm -f "$TMP/example.db" "$TMP/example.log"
done

# The built-in policy behind the observations equals the plain run.
"$BIN" run "${RUN[@]}" --dispatch batch-distance --out "$TMP/plain.db" >/dev/null 2>&1
evaluate builtin builtin:batch-distance
same=1
for t in orders drivers kpi_series; do
  a=$(sqlite3 "$TMP/plain.db" "SELECT * FROM $t" | md5sum)
  b=$(sqlite3 "$TMP/builtin.db" "SELECT * FROM $t" | md5sum)
  [ "$a" = "$b" ] || { same=0; echo "     table $t differs"; }
done
[ $same = 1 ] && [ "$(status_of builtin)" = completed ] &&
  ok "builtin:batch-distance identical to run --dispatch batch-distance" ||
  bad "builtin:batch-distance identical to run --dispatch batch-distance" "$TMP/builtin.err"

# The trivial agent: answers nothing, no faults.
evaluate trivial "$FAKE trivial"
[ "$(status_of trivial)" = completed ] && [ ! -s "$TMP/trivial.log" ] &&
  ok "trivial agent: no faults" || bad "trivial agent: no faults" "$TMP/trivial.err"

# Usage errors.
"$BIN" evaluate "${RUN[@]}" >/dev/null 2>&1
[ $? = 2 ] && ok "missing --agent is a usage error" || bad "missing --agent is a usage error"
"$BIN" evaluate --agent builtin:no-such-policy "${RUN[@]}" >/dev/null 2>&1
[ $? = 2 ] && ok "unknown builtin is a usage error" || bad "unknown builtin is a usage error"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
