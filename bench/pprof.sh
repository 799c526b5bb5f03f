#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md: `goready pprof` against `go tool pprof -top` on one large
# allocation profile (2^20 = 1,048,576 distinct stacks, ~7.6 MB gzipped), written by
# bench/pprofgen. Checks that both print the same top rows, then measures wall time
# (hyperfine, medians) and peak RSS (/usr/bin/time -v) of both, in one run.
#
#   bench/pprof.sh            # everything under target/bench-pprof/
#   RUNS=10 bench/pprof.sh    # more hyperfine runs (default 5; go tool pprof takes ~40 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-pprof
runs=${RUNS:-5}
mkdir -p "$out"

# The tools: goready (release), the generator, and cmd/pprof — the program `go tool pprof`
# runs — built once so that the go command's own start-up is not measured.
cargo build --release --quiet
goready=target/release/goready
(cd bench/pprofgen && go build -buildvcs=false -o "../../$out/pprofgen" .)
go build -o "$out/pprof" cmd/pprof
go version > "$out/versions.txt"
"$goready" --version >> "$out/versions.txt"

profile="$out/big.pb.gz"
if [ ! -s "$profile" ]; then
  "$out/pprofgen" -o "$profile"
fi
ls -l "$profile"

ours="$goready pprof $profile --sample-index alloc_space --top 20"
theirs="$out/pprof -top -nodecount=20 -sample_index=alloc_space $profile"
both="$goready pprof $profile"

# Same rows, same values, same text.
$ours > "$out/goready.txt"
$theirs > "$out/pprof.txt" 2>/dev/null
diff <(sed -n '/^      flat  flat%/,/^$/p' "$out/goready.txt" | sed '/^$/d') \
     <(sed -n '/^      flat  flat%/,$p' "$out/pprof.txt")
grep -h '^Showing\|^Dropped' "$out/goready.txt" "$out/pprof.txt"
echo "same top rows"

# Wall time.
hyperfine --warmup 1 --runs "$runs" --export-json "$out/hyperfine.json" \
  -n "goready pprof (alloc_space)" "$ours" \
  -n "go tool pprof -top (alloc_space)" "$theirs" \
  -n "goready pprof (default: alloc_space + alloc_objects)" "$both"
python3 - "$out/hyperfine.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f'{x["command"]}: median {x["median"]:.3f} s (user {x["user"]:.2f} s, system {x["system"]:.2f} s)')
print(f'ratio (go tool pprof / goready): {r[1]["median"] / r[0]["median"]:.1f}x')
PY

# Peak memory.
for cmd in "$ours" "$theirs" "$both"; do
  /usr/bin/time -v $cmd 2>"$out/time.txt" >/dev/null
  echo "$(grep 'Maximum resident' "$out/time.txt" | awk '{print $NF}') kB peak RSS: $cmd"
done
