#!/usr/bin/env bash
# runtime.drain on the services of issue 19 (tests/fixtures/svc/drain, GET /slow of 300 ms):
# RUNS probes (default 20) of each — `-stop exit` (os.Exit(0) on SIGTERM: must fail every
# time), `-stop shutdown` (http.Server.Shutdown: must pass every time) — and of `GET /fast`
# on the exiting one (must be not evaluated, never a pass). With BUSY=1 a `go build -a` loop
# runs beside the probes the whole time. Prints per run the status, how many of the 8
# requests were proven in flight at SIGTERM and the message; exits 1 on any unexpected status.
# Usage: bench/drain.sh [RUNS]      GOREADY=path uses that binary (default: release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
if [ -z "${GOREADY:-}" ]; then
  cargo build --release --quiet
  GOREADY=$PWD/target/release/goready
fi
W=$(mktemp -d)
LOOP=
cleanup() {
  if [ -n "$LOOP" ]; then kill "$LOOP" 2>/dev/null || true; wait "$LOOP" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
(cd tests/fixtures/svc/drain && go build -o "$W/svc" .)
if [ "${BUSY:-0}" = 1 ]; then
  (
    cd tests/fixtures/svc/drain
    while :; do go build -a -o "$W/busy" . >/dev/null 2>&1 || true; done
  ) &
  LOOP=$!
fi

unexpected=0
for case in "exit GET /slow fail" "shutdown GET /slow pass" "exit GET /fast skip"; do
  set -- $case
  stop=$1 request="$2 $3" want=$4
  counts=""
  for i in $(seq 1 "$RUNS"); do
    "$GOREADY" probe --exec "$W/svc -stop $stop -slow 300ms --addr {addr} --admin {admin}" \
      --drain "$request" --format json >"$W/run.json" 2>/dev/null || true
    line=$(python3 - "$W/run.json" <<'PY'
import json, sys
c = next(c for c in json.load(open(sys.argv[1]))["checks"] if c["id"] == "runtime.drain")
d = c["data"]["drain"]
held = [r for r in d["requests"]
        if r.get("sent_ms") is not None and r["sent_ms"] < 0 and r["unanswered_at_sigterm"]
        and (r.get("answered_ms") is None or r["answered_ms"] >= 0)]
print(c["status"], len(held), len(d["requests"]), c["message"][:110])
PY
)
    set -- $line
    status=$1 held=$2
    counts="$counts $held"
    echo "-stop $stop, $request, run $i: $line"
    if [ "$status" != "$want" ]; then
      unexpected=$((unexpected + 1))
      echo "    unexpected: $status, want $want"
    fi
  done
  echo "== -stop $stop, $request: want $want; requests in flight at SIGTERM per run:$counts"
done
echo "unexpected statuses: $unexpected"
[ "$unexpected" -eq 0 ]
