#!/usr/bin/env bash
# Benchmark: `goready env --offline` on a module with one downloaded dependency, against the
# go commands it runs, run by a shell (`go env -json; go mod verify; go mod tidy -diff`).
# goready's own work (reading GOROOT's files and both go binaries' build info, go.mod, the
# snapshot, judging, writing the table) is the difference. Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
W=$(mktemp -d)
trap 'chmod -R u+w "$W"; rm -rf "$W"' EXIT
(cd tests/tools/modproxy && go build -o "$W/modproxy" .)
mkdir -p "$W/dep" "$W/app"
printf 'module example.com/dep\n\ngo 1.22\n' > "$W/dep/go.mod"
printf 'package dep\n\nfunc Answer() int { return 42 }\n' > "$W/dep/dep.go"
"$W/modproxy" "$W/proxy" example.com/dep v1.0.0 "$W/dep"
printf 'module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n' > "$W/app/go.mod"
printf 'package main\n\nimport "example.com/dep"\n\nfunc main() { println(dep.Answer()) }\n' > "$W/app/main.go"
export GOPROXY="file://$W/proxy" GOMODCACHE="$W/modcache" GONOSUMDB=example.com GOTOOLCHAIN=local
(cd "$W/app" && go mod tidy)
echo "$(go version); module with 1 dependency in $W/app"
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json target/bench-env.json \
  "target/release/goready env --offline $W/app" \
  "bash -c 'go env -json >/dev/null; cd $W/app && go mod verify >/dev/null && go mod tidy -diff >/dev/null'" \
  >/dev/null
python3 - <<'PY'
import json, statistics
runs = json.load(open("target/bench-env.json"))["results"]
med = {("goready" if "goready" in r["command"] else "go commands"): statistics.median(r["times"]) for r in runs}
for name, t in med.items():
    print(f"{name:12s} median {t*1000:.1f} ms")
print(f"ratio goready / go commands = {med['goready'] / med['go commands']:.2f}")
PY
