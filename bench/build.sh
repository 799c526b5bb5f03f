#!/usr/bin/env bash
# Benchmark: `goready build` of examples/hello-svc's default matrix (5 targets), Go build cache
# warm, against a plain shell loop of the very same `go build` commands (taken from goready's
# own result file). Every run starts without dist/, so every target is linked.
#
# 1. hyperfine: goready (--jobs = CPUs), goready --jobs 1, the loop.
# 2. Interleaved rounds of the same three commands (loop, goready --jobs 1, goready, in turn):
#    on a shared machine the load drifts over minutes, and hyperfine runs one command's runs
#    back to back, so the rounds compare commands under the same load. goready's own overhead
#    is measured inside each --jobs 1 run: its wall time minus the wall time of its go build
#    children (the build.compile checks' duration_ms).
# Needs hyperfine, jq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
GOREADY=$PWD/target/release/goready
OUT=$PWD/target
cd examples/hello-svc
go version
nproc
rm -rf dist
# Warms the build cache and records the exact commands goready runs.
"$GOREADY" build . --json "$OUT/bench-build-warm.json" >/dev/null 2>&1 || true
LOOP=$(jq -r '[.checks[] | select(.id == "build.compile") | .data.command] | join(" && ")' \
  "$OUT/bench-build-warm.json")
echo "loop: $LOOP"

hyperfine --warmup 1 --runs "${RUNS:-10}" --prepare 'rm -rf dist' \
  --export-json "$OUT/bench-build.json" \
  -n "goready build" "$GOREADY build . >/dev/null 2>&1" \
  -n "goready build --jobs 1" "$GOREADY build . --jobs 1 >/dev/null 2>&1" \
  -n "go build loop" "$LOOP" >/dev/null

ms() { echo $(($(date +%s%N) / 1000000)); }
: >"$OUT/bench-build-rounds.txt"
for round in $(seq "${ROUNDS:-10}"); do
  for which in loop j1 jn; do
    rm -rf dist
    start=$(ms)
    case $which in
      loop) sh -c "$LOOP" ;;
      j1) "$GOREADY" build . --jobs 1 --json "$OUT/bench-build-j1.json" >/dev/null 2>&1 || true ;;
      jn) "$GOREADY" build . >/dev/null 2>&1 || true ;;
    esac
    wall=$(($(ms) - start))
    go=0
    if [ "$which" = j1 ]; then
      go=$(jq '[.checks[] | select(.id == "build.compile") | .duration_ms] | add' "$OUT/bench-build-j1.json")
    fi
    echo "$round $which $wall $go" >>"$OUT/bench-build-rounds.txt"
  done
done
rm -rf dist

python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
print("hyperfine medians:")
runs = {r["command"]: statistics.median(r["times"])
        for r in json.load(open(f"{out}/bench-build.json"))["results"]}
loop = runs["go build loop"]
for name, t in runs.items():
    print(f"  {name:24s} {t:6.2f} s  ({t / loop:.2f}x the loop)")
rows = [line.split() for line in open(f"{out}/bench-build-rounds.txt")]
wall = {w: [int(r[2]) / 1000 for r in rows if r[1] == w] for w in ("loop", "j1", "jn")}
print(f"interleaved rounds ({len(wall['loop'])}), medians:")
med = {w: statistics.median(v) for w, v in wall.items()}
for w, name in (("jn", "goready build"), ("j1", "goready build --jobs 1"), ("loop", "go build loop")):
    print(f"  {name:24s} {med[w]:6.2f} s  ({med[w] / med['loop']:.2f}x the loop)")
wins = sum(1 for r in range(len(wall["loop"])) if wall["jn"][r] < wall["loop"][r])
print(f"  goready build faster than the loop in {wins} of {len(wall['loop'])} rounds")
over = [(int(r[2]) - int(r[3]), int(r[2])) for r in rows if r[1] == "j1"]
o = statistics.median(a for a, _ in over)
pct = statistics.median(100 * a / w for a, w in over)
print(f"goready overhead (wall - go build, --jobs 1): median {o:.0f} ms, {pct:.1f}% of its wall time")
PY
