#!/usr/bin/env bash
# Benchmark: `goready inspect` (all facts, JSON) against `go version -m` (build info only) on
# every file in $(go env GOROOT)/bin and $(go env GOROOT)/pkg/tool/*/, in one run.
# Rounds are interleaved and paired (the two commands back to back, order alternating), so
# load from other work on the machine hits both alike; the figure is the median of the
# per-round ratios. Needs GNU time (/usr/bin/time) for peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
GOROOT=$(go env GOROOT)
FILES=$(ls "$GOROOT"/bin/* "$GOROOT"/pkg/tool/*/*)
echo "files: $(echo "$FILES" | wc -l), $(du -cb $FILES | tail -1 | cut -f1) bytes, $(go version)"
ROUNDS="${ROUNDS:-300}" FILES="$FILES" python3 - <<'PY'
import os, resource, statistics, subprocess, time
files = os.environ["FILES"].split()
cmds = {
    "goready": ["target/release/goready", "inspect", "--format", "json", *files],
    "go version -m": ["go", "version", "-m", *files],
}
cpu = {k: [] for k in cmds}
def once(cmd, name=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if name:
        cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall
for _ in range(10):  # warm-up: page cache, binaries
    for c in cmds.values():
        once(c)
times = {k: [] for k in cmds}
ratios = []
for r in range(int(os.environ["ROUNDS"])):
    order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
    got = {k: once(cmds[k], k) for k in order}
    for k, v in got.items():
        times[k].append(v)
    ratios.append(got["goready"] / got["go version -m"])
for k, v in times.items():
    print(f"{k:14s} median {statistics.median(v)*1000:.2f} ms wall, "
          f"mean {statistics.mean(cpu[k])*1000:.2f} ms CPU (user+sys) over {len(v)} runs")
print(f"ratio goready / go version -m: median of paired rounds {statistics.median(ratios):.2f} "
      f"(quartiles {statistics.quantiles(ratios, n=4)[0]:.2f}..{statistics.quantiles(ratios, n=4)[2]:.2f})")
PY
# shellcheck disable=SC2086
/usr/bin/time -f "goready peak RSS %M KB" target/release/goready inspect --format json $FILES >/dev/null
# shellcheck disable=SC2086
/usr/bin/time -f "go version -m peak RSS %M KB" go version -m $FILES >/dev/null
