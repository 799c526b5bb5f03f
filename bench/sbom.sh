#!/usr/bin/env bash
# Benchmark: `goready sbom` on a release matrix's binaries in one run, against
# `cyclonedx-gomod bin` (v1.10.0, ci/install-tools.sh) run once per binary, as CI has to run it.
#
#   bench/sbom.sh                 # builds the set (below) in /tmp/goready-sbom-set, then
#                                 # ROUNDS=10 interleaved rounds
#   NO_BUILD=1 bench/sbom.sh      # the set as it is in SET_DIR (default /tmp/goready-sbom-set)
#   FORMAT=spdx bench/sbom.sh     # goready's SPDX instead of CycloneDX
#
# The set: nats-server v2.9.0 (from the Go module proxy only, built as a dependency of a scratch
# module, as bench/vuln.sh builds it) for linux/amd64, linux/arm64, darwin/arm64 and
# windows/amd64, and tests/fixtures/sbom (a proxy module, two replaces) for the same four
# targets; -trimpath, no VCS stamping. Both tools write CycloneDX JSON files of
# every binary into a scratch directory. Rounds are interleaved (the order alternating), the
# figures are medians of wall time and the median of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SET=${SET_DIR:-/tmp/goready-sbom-set}
NATS=github.com/nats-io/nats-server/v2@v2.9.0
GOBIN_DIR=$(go env GOBIN)
GOBIN_DIR=${GOBIN_DIR:-$(go env GOPATH)/bin}
GOMOD=${CYCLONEDX_GOMOD:-$GOBIN_DIR/cyclonedx-gomod}
"$GOMOD" version | head -1 >&2
[ "${NO_CARGO:-0}" = 1 ] || cargo build --release --quiet  # NO_CARGO=1: the release binary as it is

build() { # build NAME DIR PKG GOOS GOARCH
  local out="$SET/$1"
  [ "$4" = windows ] && out="$out.exe"
  [ -s "$out" ] && return 0
  echo "build $1" >&2
  (cd "$2" && CGO_ENABLED=0 GOOS=$4 GOARCH=$5 GOFLAGS=-buildvcs=false nice go build -trimpath -o "$out" "$3")
}
if [ "${NO_BUILD:-0}" != 1 ]; then
  mkdir -p "$SET"
  work=$(mktemp -d)
  (cd "$work" && go mod init bench >/dev/null 2>&1 && GOFLAGS=-mod=mod go get "$NATS" >&2)
  for t in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
    out="$SET/nats-server-${t%/*}-${t#*/}"
    [ "${t%/*}" = windows ] && out="$out.exe"
    if [ ! -s "$out" ]; then
      echo "build $out" >&2
      (cd "$work" && CGO_ENABLED=0 GOOS=${t%/*} GOARCH=${t#*/} GOFLAGS=-mod=mod nice go build \
        -trimpath -buildvcs=false -o "$out" github.com/nats-io/nats-server/v2)
    fi
    build "sbomsvc-${t%/*}-${t#*/}" "$ROOT/tests/fixtures/sbom" . "${t%/*}" "${t#*/}"
  done
  rm -rf "$work"
fi
FILES=$(ls "$SET"/*)
# shellcheck disable=SC2086
echo "files: $(echo "$FILES" | wc -l), $(du -cb $FILES | tail -1 | cut -f1) bytes, $(go version), $(nproc) CPUs"
ROUNDS="${ROUNDS:-10}" FILES="$FILES" GOMOD="$GOMOD" FORMAT="${FORMAT:-cyclonedx}" python3 - <<'PY'
import os, statistics, subprocess, tempfile, time
files = os.environ["FILES"].split()
out = tempfile.mkdtemp(prefix="goready-sbom-bench-")

def goready():
    subprocess.run(["target/release/goready", "sbom", "--format", os.environ["FORMAT"],
                    "--out", out, *files], check=True, stdout=subprocess.DEVNULL)

def gomod():
    for i, f in enumerate(files):
        subprocess.run([os.environ["GOMOD"], "bin", "-json", "-output",
                        os.path.join(out, f"{i}.gomod.json"), f],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t

cmds = {"goready sbom (one run)": goready, "cyclonedx-gomod bin (once per binary)": gomod}
for fn in cmds.values():  # warm-up: page cache, binaries
    fn()
wall = {k: [] for k in cmds}
ratios = []
names = list(cmds)
for r in range(int(os.environ["ROUNDS"])):
    got = {}
    for k in (names if r % 2 == 0 else names[::-1]):
        got[k] = timed(cmds[k])
        wall[k].append(got[k])
    ratios.append(got[names[0]] / got[names[1]])
for k in names:
    print(f"{k:40s} median {statistics.median(wall[k])*1000:8.1f} ms wall over {len(wall[k])} rounds")
q = statistics.quantiles(ratios, n=4)
print(f"goready / cyclonedx-gomod wall: median of rounds {statistics.median(ratios):.3f} "
      f"(quartiles {q[0]:.3f}..{q[2]:.3f})")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
