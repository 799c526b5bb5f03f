#!/usr/bin/env bash
# Two goready builds timed on the same command, for "no slower" claims across a change:
#
#   ROUNDS=10 bench/before-after.sh BEFORE_BINARY AFTER_BINARY -- ARGS...
#
# Runs `BINARY ARGS...` from the current directory, rounds interleaved with the order
# alternating (load from other work hits both alike), output discarded, exit codes ignored
# (a verdict of "not ready" is a result too). Prints each run, then the medians and the
# median of the per-round ratios after / before.
set -euo pipefail
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); shift 2
[ "${1:-}" = -- ] && shift
ROUNDS=${ROUNDS:-10} BEFORE="$BEFORE" AFTER="$AFTER" python3 - "$@" <<'PY'
import os, statistics, subprocess, sys, time
args = sys.argv[1:]
bins = {"before": os.environ["BEFORE"], "after": os.environ["AFTER"]}
def once(b):
    t = time.perf_counter()
    p = subprocess.Popen([b, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss
for b in bins.values():  # warm-up: page cache, Go build cache
    once(b)
got = {k: [] for k in bins}
ratios = []
for r in range(int(os.environ["ROUNDS"])):
    order = ["before", "after"] if r % 2 else ["after", "before"]
    this = {}
    for k in order:
        this[k] = once(bins[k])
        got[k].append(this[k])
        print(f"{r + 1} {k} {this[k][0] * 1000:.0f} ms", flush=True)
    ratios.append(this["after"][0] / this["before"][0])
for k, runs in got.items():
    print(f"{k:6s} median {statistics.median(x[0] for x in runs) * 1000:9.1f} ms wall, "
          f"{statistics.median(x[1] for x in runs) * 1000:9.1f} ms CPU, "
          f"peak RSS median {statistics.median(x[2] for x in runs) / 1024:6.1f} MiB")
q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
print(f"after / before wall: median of rounds {statistics.median(ratios):.2f} "
      f"(quartiles {q[0]:.2f}..{q[2]:.2f}, {len(ratios)} rounds)")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
