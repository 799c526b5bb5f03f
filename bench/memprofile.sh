#!/usr/bin/env bash
# Benchmark: `goready test --memprofile` against what a user has to do without it — a shell
# loop of `go test -memprofile` over the packages (go refuses -memprofile with several) — and
# against a plain `go test -count=1 ./...` (the cost of profiling at all), in one run, on a
# generated module of 8 packages whose tests allocate.
# Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
G=$PWD/target/release/goready
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mod=$W/mod
mkdir -p "$mod"
printf 'module example.com/bench\n\ngo 1.22\n' >"$mod/go.mod"
python3 - "$mod" <<'PY'
import os, sys
mod = sys.argv[1]
for p in range(8):
    d = f"{mod}/p{p}"
    os.makedirs(d)
    open(f"{d}/p.go", "w").write(f'''package p{p}

import "strings"

//go:noinline
func Buf(n int) []byte {{ return make([]byte, n) }}

func Words(n int) string {{
	var b strings.Builder
	for i := 0; i < n; i++ {{
		b.WriteString("word ")
	}}
	return b.String()
}}
''')
    tests = [f'package p{p}\n\nimport "testing"\n\nvar sink any\n']
    for t in range(20):
        tests.append(f'''
func Test{t}(t *testing.T) {{
	for i := 0; i < 200; i++ {{
		sink = Buf(4096 + {t})
		sink = Words(64)
	}}
}}
''')
    open(f"{d}/p_test.go", "w").write("".join(tests))
PY
cd "$mod"
cat >"$W/loop.sh" <<SH
#!/bin/sh
set -e
cd "$mod"
rm -rf "$W/loop"   # fresh output directories, as goready's: an up-to-date -o binary is not relinked
i=0
for p in \$(go list ./...); do
  i=\$((i+1)); mkdir -p "$W/loop/\$i"
  go test -json -memprofile mem.pprof -outputdir "$W/loop/\$i" -o "$W/loop/\$i/pkg.test" "\$p" >/dev/null
done
SH
chmod +x "$W/loop.sh"
go test -count=1 ./... >/dev/null   # warm the build cache
echo "$(go version), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N -i --warmup 1 --runs "${RUNS:-10}" --export-json "$W/run.json" \
  "go test -json -count=1 ./..." \
  "$W/loop.sh" \
  "$G test --memprofile ./..." >/dev/null
python3 - "$W" <<'PY'
import json, statistics, sys
runs = json.load(open(f"{sys.argv[1]}/run.json"))["results"]
meds = [statistics.median(r["times"]) for r in runs]
for r, m in zip(runs, meds):
    print(f"{r['command'].split('/')[-1][:50]:50s} median {m*1000:7.1f} ms  user {r['user']*1000:7.1f} ms")
print(f"goready --memprofile / shell loop: {meds[2] / meds[1]:.2f}")
print(f"goready --memprofile / plain go test: {meds[2] / meds[0]:.2f}")
PY
