#!/usr/bin/env bash
# Benchmark: `goready check` against its steps run one after another by a shell — what a CI
# script without `check` would do: `goready env`, `goready build` (the whole matrix),
# `goready probe`, `goready test`, each writing a result file, then `goready report` on them.
# The commands are check's own (from its `--dry-run`), except that the parts check builds the
# matrix in (the native target first, so that the probe starts while the rest builds) are one
# `goready build` again (their --target/--cgo dropped: the matrix the settings give).
#
#   bench/check.sh                      # a copy of examples/hello-svc
#   bench/check.sh DIR [GOREADY_TOML]   # a copy of the Go module in DIR, with that goready.toml
#
# Go build cache warm (one untimed run of each first); `dist/` removed before every run so
# every target is linked. Medians of ROUNDS (default 10) interleaved rounds: the machine is
# shared and the load drifts over minutes. HYPERFINE=1 adds a hyperfine run (needs hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
# GOREADY=path measures that binary instead of a fresh release build.
if [[ -z "${GOREADY:-}" ]]; then
  cargo build --release --quiet
fi
G=${GOREADY:-$PWD/target/release/goready}
W=$(mktemp -d)
trap 'chmod -R u+w "$W"; rm -rf "$W"' EXIT
mkdir -p "$W/r"
SVC=$W/svc
if [[ $# -ge 1 ]]; then
  cp -r "$1" "$SVC"
  chmod -R u+w "$SVC"
  rm -rf "$SVC/dist"
  if [[ $# -ge 2 ]]; then cp "$2" "$SVC/goready.toml"; fi
else
  mkdir -p "$SVC"
  cp examples/hello-svc/{go.mod,main.go,main_test.go,goready.toml} "$SVC/"
fi
# --offline: the release feed's network round trip is not what is measured.
ARGS=(--set env.offline=true --junit "$W/a.xml" --sarif "$W/a.sarif" --json "$W/a.json")
# The shell version: check's own plan, each step writing a result file, then report.
"$G" check "$SVC" "${ARGS[@]}" --dry-run | grep '^goready ' | awk '
  $2 == "build" { if (built++) next; line = ""
    for (i = 1; i <= NF; i++) if ($i !~ /^--(target|cgo)=/) line = line (line ? " " : "") $i
    $0 = line }
  { print }' | { n=0; while read -r line; do
  step=$(echo "$line" | cut -d' ' -f2)
  n=$((n + 1))
  if [[ "$step" == report ]]; then
    echo "${line/RESULTS…/$W/r/*.json} --json $W/b.json"
  else
    echo "${line/goready $step /goready $step --json $W/r/$n-$step.json --config $SVC/goready.toml }"
  fi
done; } | sed "s|^goready |$G |; s|--junit=$W/a.xml|--junit=$W/b.xml|; s|--sarif=$W/a.sarif|--sarif=$W/b.sarif|" > "$W/steps.sh"
echo "goready check $SVC ${ARGS[*]}"
echo "against the shell's commands:"; cat "$W/steps.sh"
if [[ "${HYPERFINE:-0}" == 1 ]]; then
  hyperfine -i --warmup 1 --runs "${RUNS:-10}" --prepare "rm -rf $SVC/dist $W/r/*.json" \
    "$G check $SVC ${ARGS[*]}" "bash $W/steps.sh"
fi
python3 - "$W" "$G" "$SVC" "${ROUNDS:-10}" "${ARGS[@]}" <<'PY'
import shutil, statistics, subprocess, sys, time, glob, os, json
w, g, svc, rounds, args = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
def check():
    return subprocess.run([g, "check", svc, *args], capture_output=True)
def shell():
    for f in glob.glob(f"{w}/r/*.json"):
        os.remove(f)
    return subprocess.run(["bash", f"{w}/steps.sh"], capture_output=True)
def timed(run):
    shutil.rmtree(f"{svc}/dist", ignore_errors=True)
    t = time.monotonic()
    out = run()
    return time.monotonic() - t, out
# Warm-up (untimed): Go's build and test caches, the page cache.
timed(check); timed(shell)
# The same checks in the same order from both (durations, ports, pids aside).
def ids(path):
    return [(c["id"], c.get("target"), c["status"]) for c in json.load(open(path))["checks"]]
a, b = ids(f"{w}/a.json"), ids(f"{w}/b.json")
print(f"same checks, same order: {a == b} ({len(a)} checks)")
cs, ss = [], []
for _ in range(rounds):
    cs.append(timed(check)[0])
    ss.append(timed(shell)[0])
c, s = statistics.median(cs), statistics.median(ss)
faster = sum(x < y for x, y in zip(cs, ss))
print(f"interleaved goready check {c:6.2f} s | the steps one after another {s:6.2f} s | "
      f"ratio {c / s:.2f}x (check faster in {faster} of {rounds} rounds)")
print("check:", " ".join(f"{x:.2f}" for x in cs))
print("shell:", " ".join(f"{x:.2f}" for x in ss))
PY
