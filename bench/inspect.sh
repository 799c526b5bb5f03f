#!/usr/bin/env bash
# Benchmark: `goready inspect` (all facts, JSON) against `go version -m` (build info only) on
# every file in $(go env GOROOT)/bin and $(go env GOROOT)/pkg/tool/*/, in one run.
# Needs hyperfine (apt-get install hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
GOROOT=$(go env GOROOT)
FILES=$(ls "$GOROOT"/bin/* "$GOROOT"/pkg/tool/*/*)
echo "files: $(echo "$FILES" | wc -l), $(du -cb $FILES | tail -1 | cut -f1) bytes, $(go version)"
# shellcheck disable=SC2086
hyperfine -N --warmup 5 --runs "${RUNS:-100}" --export-json target/bench-inspect.json \
  "target/release/goready inspect --format json $FILES" \
  "go version -m $FILES" >/dev/null
python3 - <<'PY'
import json, statistics
runs = json.load(open("target/bench-inspect.json"))["results"]
med = {("goready" if "goready" in r["command"] else "go version -m"): statistics.median(r["times"]) for r in runs}
for name, t in med.items():
    print(f"{name:14s} median {t*1000:.2f} ms")
print(f"ratio goready / go version -m = {med['goready'] / med['go version -m']:.2f}")
PY
# shellcheck disable=SC2086
/usr/bin/time -f "goready peak RSS %M KB" target/release/goready inspect --format json $FILES >/dev/null
# shellcheck disable=SC2086
/usr/bin/time -f "go version -m peak RSS %M KB" go version -m $FILES >/dev/null
