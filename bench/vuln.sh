#!/usr/bin/env bash
# Benchmark: `goready vuln` on a release matrix's binaries in one run against govulncheck
# v1.9.0 once per binary (`-mode binary`), on the same database.
#
#   bench/vuln.sh DB.zip            # DB: a vulndb.zip (the Go database's bulk download)
#   NO_BUILD=1 bench/vuln.sh DB.zip # the binaries already in SET_DIR
#
# goready reads the zip as it is; govulncheck needs it unzipped (`-db file:///DIR`), which is
# done once into a temporary folder before timing. The set: nats-server v2.9.0 (2022, so its
# dependencies have advisories), built from the Go module proxy only for linux/amd64,
# linux/arm64, darwin/arm64 and windows/amd64, each plain and `-s -w` (8 binaries).
# Rounds are interleaved (each command once per round, order rotating); figures are medians
# of wall time, CPU and peak RSS (each process's own ru_maxrss; govulncheck's is the largest
# of its runs in the round), and the median of per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:?usage: bench/vuln.sh path/to/vulndb.zip}
DB=$(realpath "$DB")
SET=${SET_DIR:-/tmp/goready-vuln-set}
GOVULNCHECK=${GOVULNCHECK:-$(go env GOPATH)/bin/govulncheck}
"$GOVULNCHECK" -version | grep -q 'govulncheck@v1.9.0' || {
  echo "govulncheck v1.9.0 is needed: ci/install-tools.sh installs it" >&2
  exit 2
}
cargo build --release --quiet
mkdir -p "$SET"
if [ "${NO_BUILD:-0}" != 1 ]; then
  for mod in github.com/nats-io/nats-server/v2@v2.9.0; do
    name=$(basename "${mod%%@*}")
    [ "$name" = v2 ] && name=nats-server
    work=$(mktemp -d)
    (cd "$work" && go mod init bench >/dev/null 2>&1 && GOFLAGS=-mod=mod go get "$mod" >/dev/null 2>&1)
    for t in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
      goos=${t%/*} goarch=${t#*/}
      for strip in plain stripped; do
        out="$SET/$name-$goos-$goarch-$strip"
        [ -f "$out" ] && continue
        flags=()
        [ "$strip" = stripped ] && flags=(-ldflags=-s\ -w)
        (cd "$work" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOFLAGS=-mod=mod \
          go build -trimpath -buildvcs=false "${flags[@]}" -o "$out" "${mod%%@*}")
      done
    done
    rm -rf "$work"
  done
fi
UNZIPPED=$(mktemp -d)
trap 'rm -rf "$UNZIPPED"' EXIT
unzip -q "$DB" -d "$UNZIPPED"
FILES=$(ls "$SET"/*)
# shellcheck disable=SC2086
echo "files: $(echo "$FILES" | wc -l), $(du -cb $FILES | tail -1 | cut -f1) bytes, $(go version), $(nproc) CPUs"
echo "goready:     target/release/goready vuln --db $DB --cache off --format json FILES"
echo "govulncheck: for f in FILES; do govulncheck -mode binary -db file://$UNZIPPED -format json \$f; done"
ROUNDS="${ROUNDS:-10}" FILES="$FILES" DB="$DB" UNZIPPED="$UNZIPPED" GOVULNCHECK="$GOVULNCHECK" python3 - <<'PY'
import os, statistics, subprocess, time
files = os.environ["FILES"].split()

def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, u = os.wait4(p.pid, 0)
    return time.perf_counter() - t, u.ru_maxrss, u.ru_utime + u.ru_stime

def goready():
    return run(["target/release/goready", "vuln", "--db", os.environ["DB"], "--cache", "off",
                "--format", "json", *files])

def govulncheck():
    wall = cpu = 0.0
    rss = 0
    for f in files:
        w, r, c = run([os.environ["GOVULNCHECK"], "-mode", "binary", "-db",
                       "file://" + os.environ["UNZIPPED"], "-format", "json", f])
        wall += w; cpu += c; rss = max(rss, r)
    return wall, rss, cpu

cmds = {"goready": goready, "govulncheck": govulncheck}
for c in cmds.values():  # warm-up
    c()
res = {k: [] for k in cmds}
ratios = []
names = list(cmds)
for r in range(int(os.environ["ROUNDS"])):
    got = {}
    for k in names[r % 2:] + names[:r % 2]:
        got[k] = cmds[k]()
        res[k].append(got[k])
    ratios.append(got["goready"][0] / got["govulncheck"][0])
for k, v in res.items():
    print(f"{k:12s} median {statistics.median(x[0] for x in v)*1000:9.1f} ms wall, "
          f"{statistics.median(x[2] for x in v)*1000:9.1f} ms CPU, "
          f"peak RSS median {statistics.median(x[1] for x in v)/1024:6.1f} MiB over {len(v)} rounds")
q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
print(f"goready / govulncheck wall: median of rounds {statistics.median(ratios):.3f} "
      f"(quartiles {q[0]:.3f}..{q[2]:.3f})")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# Not a timing: the same advisories, levels, symbols and fixed versions per binary (toolchain
# notices aside, which govulncheck's binary mode never reports); a stripped binary is compared
# with govulncheck on its unstripped twin.
FILES="$FILES" DB="$DB" UNZIPPED="$UNZIPPED" GOVULNCHECK="$GOVULNCHECK" python3 - <<'PY'
import json, os, subprocess
files = os.environ["FILES"].split()
out = subprocess.run(["target/release/goready", "vuln", "--db", os.environ["DB"], "--cache", "off",
                      "--format", "json", *files], capture_output=True, text=True)
ours = {}
for c in json.loads(out.stdout)["checks"]:
    d = c.get("data") or {}
    if "id" in d and d["module"] != "toolchain" and c["status"] in ("fail", "skip"):
        ours.setdefault(c["target"], {})[d["id"]] = (d["level"], tuple(sorted(d["symbols"])), d.get("fixed"))
rank = {"symbol": 0, "package": 1, "module": 2}
for f in files:
    twin = f.replace("-stripped", "-plain")
    g = subprocess.run([os.environ["GOVULNCHECK"], "-mode", "binary", "-db", "file://" + os.environ["UNZIPPED"],
                        "-format", "json", twin], capture_output=True, text=True).stdout
    dec, i, theirs = json.JSONDecoder(), 0, {}
    while i < len(g):
        while i < len(g) and g[i].isspace():
            i += 1
        if i >= len(g):
            break
        msg, i = dec.raw_decode(g, i)
        fi = msg.get("finding")
        if not fi:
            continue
        fr = fi["trace"][0]
        lvl = "symbol" if fr.get("function") else "package" if fr.get("package") else "module"
        cur = theirs.setdefault(fi["osv"], [lvl, set(), fi.get("fixed_version")])
        if rank[lvl] < rank[cur[0]]:
            cur[0] = lvl
        if lvl == "symbol":
            recv = "." + fr["receiver"] if fr.get("receiver") else ""
            cur[1].add(f'{fr["package"]}{recv}.{fr["function"]}')
    theirs = {k: (v[0], tuple(sorted(v[1])), v[2]) for k, v in theirs.items()}
    mine = ours.get(f, {})
    print(f"{os.path.basename(f)}: {len(mine)} advisories, govulncheck {len(theirs)} on {os.path.basename(twin)}: "
          + ("EQUAL" if mine == theirs else "DIFFERENT " + str(sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)))))
PY
