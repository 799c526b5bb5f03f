#!/usr/bin/env bash
# Benchmark: `goready check` on a copy of examples/hello-svc, against the very commands it runs
# (taken from its own `--dry-run`) run one after another by a shell, followed by
# `goready report` on their result files — what a CI script without `check` would do. The
# difference is `check`'s own cost: planning, starting the steps, merging, publishing.
# Go build cache warm; `dist/` removed before every run so every target is linked.
# Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
G=$PWD/target/release/goready
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/hello-svc" "$W/r"
cp examples/hello-svc/{go.mod,main.go,main_test.go,goready.toml} "$W/hello-svc/"
SVC=$W/hello-svc
# --offline: the release feed's network round trip is not what is measured.
ARGS=(--set env.offline=true --junit "$W/a.xml" --sarif "$W/a.sarif" --json "$W/a.json")
# The shell version: check's own plan, each step writing a result file, then report.
"$G" check "$SVC" "${ARGS[@]}" --dry-run | grep '^goready ' | while read -r line; do
  step=$(echo "$line" | cut -d' ' -f2)
  if [[ "$step" == report ]]; then
    echo "${line/RESULTS…/$W/r/*.json} --json $W/b.json"
  else
    echo "${line/goready $step /goready $step --json $W/r/$step.json --config $SVC/goready.toml }"
  fi
done | sed "s|^goready |$G |; s|--junit=$W/a.xml|--junit=$W/b.xml|; s|--sarif=$W/a.sarif|--sarif=$W/b.sarif|" > "$W/steps.sh"
echo "the shell's commands:"; cat "$W/steps.sh"
hyperfine -i --warmup 1 --runs "${RUNS:-10}" --prepare "rm -rf $SVC/dist $W/r/*.json" \
  --export-json "$W/check.json" \
  "$G check $SVC ${ARGS[*]}" \
  "bash $W/steps.sh" >/dev/null
python3 - "$W" <<'PY'
import json, statistics, sys
runs = json.load(open(f"{sys.argv[1]}/check.json"))["results"]
c, s = (statistics.median(r["times"]) for r in runs)
print(f"goready check            {c:7.2f} s")
print(f"the steps in a shell     {s:7.2f} s")
print(f"ratio                    {c / s:7.2f}x  (difference {1000 * (c - s):+.0f} ms)")
PY
