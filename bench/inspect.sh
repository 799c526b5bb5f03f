#!/usr/bin/env bash
# Benchmark: `goready inspect --format json` (every fact and rule, JSON) against
# `go version -m` (build info only) on the same files, in one run each.
#
#   bench/inspect.sh              # the large set: bench/inspect-set.sh builds it (70+ Go
#                                 # binaries, ~1 GB) in /tmp/goready-inspect-set
#   SET=goroot bench/inspect.sh   # only GOROOT's tool binaries (the earlier, small set)
#   BASE=path/to/goready bench/inspect.sh   # also time another goready build, e.g. main's
#   NO_BUILD=1 bench/inspect.sh   # the set as it is in /tmp/goready-inspect-set (SET_DIR)
#   GOREADY=path/to/goready bench/inspect.sh   # time that build instead of this checkout's
#                                 # release build (which is then not built)
#
# Rounds are interleaved (every command once per round, the order rotating), so load from
# other work on the machine hits all alike; the figures are medians over rounds of wall time
# and of peak RSS (each child's own ru_maxrss from wait4), and the median of the per-round
# ratios goready / go version -m.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GOREADY:-}" ]; then
  cargo build --release --quiet
  GOREADY=target/release/goready
fi
export GOREADY
if [ "${SET:-large}" = goroot ]; then
  GOROOT=$(go env GOROOT)
  FILES=$(ls "$GOROOT"/bin/* "$GOROOT"/pkg/tool/*/*)
else
  DIR=${SET_DIR:-/tmp/goready-inspect-set}
  # NO_BUILD=1 measures the files already in DIR.
  [ "${NO_BUILD:-0}" = 1 ] || bench/inspect-set.sh "$DIR" >&2
  FILES=$(ls "$DIR"/*)
fi
# shellcheck disable=SC2086
echo "files: $(echo "$FILES" | wc -l), $(du -cb $FILES | tail -1 | cut -f1) bytes, $(go version), $(nproc) CPUs"
ROUNDS="${ROUNDS:-20}" FILES="$FILES" BASE="${BASE:-}" python3 - <<'PY'
import os, statistics, subprocess, time
files = os.environ["FILES"].split()
cmds = {
    "goready": [os.environ["GOREADY"], "inspect", "--format", "json", *files],
    "go version -m": ["go", "version", "-m", *files],
}
if os.environ["BASE"]:
    cmds["base goready"] = [os.environ["BASE"], "inspect", "--format", "json", *files]

def once(cmd):
    """Wall seconds and peak RSS (KiB) of one run; go's peak is the go command's own."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t, usage.ru_maxrss, usage.ru_utime + usage.ru_stime

for _ in range(2):  # warm-up: page cache, binaries
    for c in cmds.values():
        once(c)
names = list(cmds)
wall = {k: [] for k in names}
rss = {k: [] for k in names}
cpu = {k: [] for k in names}
ratios = {k: [] for k in names if k != "go version -m"}
for r in range(int(os.environ["ROUNDS"])):
    order = names[r % len(names):] + names[:r % len(names)]
    got = {}
    for k in order:
        got[k] = once(cmds[k])
        wall[k].append(got[k][0]); rss[k].append(got[k][1]); cpu[k].append(got[k][2])
    for k in ratios:
        ratios[k].append(got[k][0] / got["go version -m"][0])
for k in names:
    print(f"{k:14s} median {statistics.median(wall[k])*1000:8.1f} ms wall, "
          f"{statistics.median(cpu[k])*1000:8.1f} ms CPU (user+sys), "
          f"peak RSS median {statistics.median(rss[k])/1024:5.1f} MiB (max {max(rss[k])/1024:.1f}) "
          f"over {len(wall[k])} rounds")
for k, v in ratios.items():
    q = statistics.quantiles(v, n=4)
    print(f"{k} / go version -m wall: median of rounds {statistics.median(v):.2f} "
          f"(quartiles {q[0]:.2f}..{q[2]:.2f})")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
