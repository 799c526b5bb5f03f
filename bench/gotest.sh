#!/usr/bin/env bash
# Benchmark: `goready test` against `go test -json` on a generated module with many tests, in
# one run; then goready's own share, replaying the recorded stream through a stand-in `go`.
# Needs hyperfine (apt-get install hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
G=$PWD/target/release/goready
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mod=$W/mod
mkdir -p "$mod/big" "$mod/failing"
git init -q "$mod"
printf 'module example.com/bench\n\ngo 1.22\n' >"$mod/go.mod"
python3 - "$mod" <<'PY'
import sys
mod = sys.argv[1]
big = ['package big\n\nimport "testing"\n']
for i in range(3000):
    big.append(f'''
func Test{i}(t *testing.T) {{
	t.Logf("step one of %d", {i})
	for _, n := range []string{{"a", "b", "c"}} {{
		t.Run(n, func(t *testing.T) {{ t.Log("sub", n) }})
	}}
}}
''')
open(f"{mod}/big/big_test.go", "w").write("".join(big))
failing = ['package failing\n\nimport "testing"\n']
for i in range(200):
    failing.append(f'''
func TestF{i}(t *testing.T) {{
	for j := 0; j < 20; j++ {{
		t.Errorf("mismatch %d at row %d", {i}, j)
	}}
}}
''')
open(f"{mod}/failing/failing_test.go", "w").write("".join(failing))
PY
cd "$mod"
# The first run fills go's test cache; the measured runs replay cached results, where
# goready's own work weighs most.
go test -json ./... >"$W/stream.json" || true
echo "events: $(wc -l <"$W/stream.json"), bytes: $(wc -c <"$W/stream.json"), $(go version)"
hyperfine -N -i --warmup 2 --runs "${RUNS:-20}" --export-json "$W/run.json" \
  "go test -json ./..." "$G test" >/dev/null
# A stand-in go: `go test` replays the recording, `go list` answers nothing.
cat >"$W/go" <<SH
#!/bin/sh
if [ "\$1" = test ]; then cat "$W/stream.json"; exit 1; fi
exit 0
SH
chmod +x "$W/go"
hyperfine -N -i --warmup 2 --runs "${RUNS:-20}" --export-json "$W/replay.json" \
  "cat $W/stream.json" "env GOREADY_GO=$W/go $G test" >/dev/null
python3 - "$W" <<'PY'
import json, statistics, sys
w = sys.argv[1]
for name in ("run", "replay"):
    runs = json.load(open(f"{w}/{name}.json"))["results"]
    meds = [statistics.median(r["times"]) for r in runs]
    for r, m in zip(runs, meds):
        print(f"{r['command'][:60]:60s} median {m*1000:7.1f} ms  user {r['user']*1000:6.1f} ms")
    print(f"  ratio {meds[1] / meds[0]:.2f}")
PY
GOREADY_GO=$W/go /usr/bin/time -f "goready (replay) peak RSS %M KB" "$G" test >/dev/null 2>"$W/time" || true
tail -1 "$W/time"
