#!/usr/bin/env bash
# Comparisons with evidence (issue 19): `goready probe --baseline` on the same code must report
# no runtime.cpu_regression / runtime.alloc_regression, and a function planted in a handler
# must be reported by name every time.
#
#   1. hello-svc (examples/hello-svc), the issue's service: one baseline run, then RUNS runs of
#      the same binary against it.
#   2. the runtime fixture (tests/fixtures/svc/runtime): a baseline of -mode steady, then RUNS
#      runs each of -mode steady (same code), -mode burn (main.burnCPU burns CPU in the
#      handler) and -mode keep (main.keepRequest allocates 4 KiB per request).
#
# Every run loads GET /hello (200 requests) and soaks for SOAK (the CPU profile covers it), as
# hello-svc's goready.toml does. For the same code the script also prints what the rule before
# issue 19 would have said: a failure whenever a share grew more than 10 points, noise or not.
# It exits 1 if any same-code run reports a regression or any planted run misses its function.
# Usage: bench/regression.sh [RUNS] [SOAK]   (defaults: 20 runs, 5s)
# SETS="hello steady burn keep" (the default) chooses the sets; burn and keep compare with a
# baseline of -mode steady, taken first when the steady set does not run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
SOAK=${2:-5s}
# GOREADY=path uses that binary (e.g. target/debug/goready on a busy machine).
if [ -z "${GOREADY:-}" ]; then
  cargo build --release --quiet
  GOREADY=$PWD/target/release/goready
fi
G=$GOREADY
W=$(mktemp -d)
# KEEP=dir keeps every result file there (for a closer look at the noise).
trap 'if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$W"/*.json "$KEEP"/ || true; fi; rm -rf "$W"' EXIT
(cd examples/hello-svc && go build -o "$W/hello" .)
(cd tests/fixtures/svc/runtime && go build -o "$W/svc" .)

probe() { # EXEC OUT [BASELINE]
  local base=()
  [ -n "${3:-}" ] && base=(--baseline "$3")
  "$G" probe --exec "$1" --load 'GET /hello' --requests 200 --soak "$SOAK" \
    "${base[@]}" --json "$2" --format json >/dev/null 2>"$2.err" || true
}

# Prints one line per run: the failing regression targets, the largest growth, the counts.
verdict() { # RESULT
  python3 - "$1" <<'PY'
import json, sys
checks = json.load(open(sys.argv[1]))["checks"]
out = []
for rule in ("runtime.cpu_regression", "runtime.alloc_regression"):
    cs = [c for c in checks if c["id"] == rule]
    if not cs:
        out.append(f"{rule}: missing"); continue
    fails = [c["target"] for c in cs if c["status"] == "fail"]
    d = cs[0].get("data", {})
    ev = f'{d.get("old_events")}/{d.get("new_events")}'
    if fails:
        out.append(f'{rule}: FAIL {",".join(fails)} ({ev}; lower bound {cs[0]["data"].get("lower_bound", 0):.1f})')
    elif cs[0]["status"] != "pass":
        out.append(f'{rule}: {cs[0]["status"]} {cs[0]["message"]}')
    else:
        g = d.get("largest") or {}
        old = " OLD-RULE-WOULD-FLAG" if g.get("growth", 0) > d.get("max_growth_points", 10) else ""
        out.append(f'{rule}: pass ({ev}; largest {g.get("function","-")} {g.get("growth",0):+.1f} pts, bound {g.get("lower_bound",0):+.1f}){old}')
print(" | ".join(out))
PY
}

status=0
same() { # NAME EXEC
  local name=$1 exec=$2 bad=0 old=0
  probe "$exec" "$W/$name-base.json"
  for i in $(seq 1 "$RUNS"); do
    probe "$exec" "$W/$name-$i.json" "$W/$name-base.json"
    v=$(verdict "$W/$name-$i.json")
    echo "$name run $i: $v"
    case "$v" in *": FAIL "*|*missing*|*": skip "*|*": error "*) bad=$((bad + 1)) ;; esac
    case "$v" in *OLD-RULE-WOULD-FLAG*) old=$((old + 1)) ;; esac
  done
  echo "== $name against its own baseline: $bad of $RUNS runs reported a regression (the rule before issue 19 would have failed $old)"
  [ "$bad" -eq 0 ] || status=1
}

planted() { # NAME EXEC BASE RULE FUNCTION
  local name=$1 exec=$2 base=$3 rule=$4 fn=$5 hit=0
  for i in $(seq 1 "$RUNS"); do
    probe "$exec" "$W/$name-$i.json" "$base"
    v=$(verdict "$W/$name-$i.json")
    echo "$name run $i: $v"
    if python3 - "$W/$name-$i.json" "$rule" "$fn" <<'PY'
import json, sys
cs = json.load(open(sys.argv[1]))["checks"]
sys.exit(0 if any(c["id"] == sys.argv[2] and c["status"] == "fail" and c["target"] == sys.argv[3] for c in cs) else 1)
PY
    then hit=$((hit + 1)); fi
  done
  echo "== $name: $rule named $fn in $hit of $RUNS runs"
  [ "$hit" -eq "$RUNS" ] || status=1
}

SETS=${SETS:-hello steady burn keep}
for set in $SETS; do
  case $set in
    hello) same hello "$W/hello --addr {addr} --admin {admin}" ;;
    steady) same steady "$W/svc -mode steady --addr {addr} --admin {admin}" ;;
  esac
done
case " $SETS " in *" burn "*|*" keep "*)
  [ -f "$W/steady-base.json" ] || probe "$W/svc -mode steady --addr {addr} --admin {admin}" "$W/steady-base.json" ;;
esac
case " $SETS " in *" burn "*) planted burn "$W/svc -mode burn --addr {addr} --admin {admin}" "$W/steady-base.json" runtime.cpu_regression main.burnCPU ;; esac
case " $SETS " in *" keep "*) planted keep "$W/svc -mode keep --addr {addr} --admin {admin}" "$W/steady-base.json" runtime.alloc_regression main.keepRequest ;; esac
exit $status
