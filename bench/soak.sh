#!/usr/bin/env bash
# No false alarms: the steady runtime fixture (graceful shutdown, no leaks) soaked RUNS times
# (default 20) by `goready probe --soak`, each with --drain and the CPU profile, while another
# build runs beside it the whole time (`go build -a` of the fixture in a loop, which keeps
# both cores busy compiling). Every soak rule must pass in every run; the script prints the
# count and exits 1 if any run had a failing rule.
# Usage: bench/soak.sh [RUNS] [SOAK]   (defaults: 20 runs of a 5s soak)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
SOAK=${2:-5s}
# GOREADY=path uses that binary (e.g. target/debug/goready when a release build is too slow
# on a busy machine: the verdicts do not depend on the optimisation level).
if [ -z "${GOREADY:-}" ]; then
  cargo build --release --quiet
  GOREADY=$PWD/target/release/goready
fi
G=$GOREADY
W=$(mktemp -d)
BUSY=
cleanup() {
  if [ -n "$BUSY" ]; then kill "$BUSY" 2>/dev/null || true; wait "$BUSY" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
(cd tests/fixtures/svc/runtime && go build -o "$W/svc" .)

# The build beside it: a full rebuild (-a ignores the cache) of the same program, forever.
(
  cd tests/fixtures/svc/runtime
  while :; do go build -a -o "$W/busy" . >/dev/null 2>&1 || true; done
) &
BUSY=$!

RULES="runtime.load runtime.cpu runtime.goroutine_leak runtime.heap_growth runtime.drain runtime.shutdown"
passed=0
for i in $(seq 1 "$RUNS"); do
  "$G" probe --exec "$W/svc -mode steady -slow 500ms --addr {addr} --admin {admin}" \
    --load 'GET /hello' --soak "$SOAK" --drain 'GET /slow' --format json \
    >"$W/run.json" 2>"$W/run.err" || true
  bad=$(python3 - "$W/run.json" $RULES <<'PY'
import json, sys
checks = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
bad = [f'{r}: {checks[r]["status"] if r in checks else "missing"} {checks.get(r, {}).get("message", "")}'
       for r in sys.argv[2:] if checks.get(r, {}).get("status") != "pass"]
print("\n".join(bad))
PY
)
  took=$(grep -o 'probe took [^ ]*' "$W/run.err" || true)
  if [ -z "$bad" ]; then
    passed=$((passed + 1))
    echo "run $i: every soak rule passed ($took)"
  else
    echo "run $i: FALSE ALARM ($took)"
    echo "$bad" | sed 's/^/    /'
  fi
done
echo "steady service: $passed of $RUNS soaks passed every rule ($RULES) with a build beside them"
[ "$passed" -eq "$RUNS" ]
