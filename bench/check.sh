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
# The machine is shared and the load drifts over minutes: the same two commands again in
# interleaved rounds, and check's own cost measured inside each run (its wall time minus the
# wall time of its steps, which it prints).
python3 - "$W" "$G" "$SVC" "${ROUNDS:-10}" "${ARGS[@]}" <<'PY'
import json, re, shutil, statistics, subprocess, sys, time
w, g, svc, rounds, args = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
runs = json.load(open(f"{w}/check.json"))["results"]
c, s = (statistics.median(r["times"]) for r in runs)
print(f"hyperfine  goready check {c:6.2f} s | the steps in a shell {s:6.2f} s | ratio {c / s:.2f}x")
check, shell, overhead = [], [], []
for _ in range(rounds):
    shutil.rmtree(f"{svc}/dist", ignore_errors=True)
    t = time.monotonic()
    out = subprocess.run([g, "check", svc, *args], capture_output=True, text=True)
    check.append(time.monotonic() - t)
    steps = float(re.search(r"\(([\d.]+) s in the steps themselves\)", out.stderr).group(1))
    overhead.append(check[-1] - steps)
    shutil.rmtree(f"{svc}/dist", ignore_errors=True)
    t = time.monotonic()
    subprocess.run(["bash", f"{w}/steps.sh"], capture_output=True)
    shell.append(time.monotonic() - t)
c, s, o = statistics.median(check), statistics.median(shell), statistics.median(overhead)
faster = sum(a < b for a, b in zip(check, shell))
print(f"interleaved goready check {c:6.2f} s | the steps in a shell {s:6.2f} s | ratio {c / s:.2f}x "
      f"(check faster in {faster} of {rounds} rounds)")
print(f"check's own cost (wall time minus its steps'): median {1000 * o:.0f} ms = {100 * o / c:.1f} %")
PY
