#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md: goready's load generator (`goready probe --load`) against
# `oha` (cargo install oha) on examples/hello-svc's GET /hello, with the same number of
# requests and the same kept-alive connections, interleaved (order alternating) in one run.
# Prints each run and the medians of requests per second and p50/p90/p99 latency.
#
#   bench/load.sh                                   # 7 rounds of 20,000 requests over 16 connections
#   RUNS=9 REQUESTS=50000 CONNECTIONS=32 bench/load.sh
#   GOREADY=target/release/goready bench/load.sh   # skip the release build
#
# goready's figures are the `runtime.load` data of a probe (the load phase alone: its own
# wall time and HDR histogram); oha's are its JSON summary. Each tool gets its own hello-svc
# process of the same build (goready starts one per probe; oha's is started here), bound to
# 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-load
runs=${RUNS:-7}
n=${REQUESTS:-20000}
c=${CONNECTIONS:-16}
mkdir -p "$out"
command -v oha >/dev/null || { echo "oha not found: cargo install oha" >&2; exit 2; }

# GOREADY=path/to/goready uses an existing release build instead of building one.
goready=${GOREADY:-}
if [ -z "$goready" ]; then
  cargo build --release --quiet
  goready=target/release/goready
fi
(cd examples/hello-svc && go build -buildvcs=false -o "../../$out/hello-svc" .)
{ go version; "$goready" --version; oha --version; nproc; uptime; } > "$out/versions.txt"
cat "$out/versions.txt"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
"$out/hello-svc" --addr "127.0.0.1:$port" --admin "127.0.0.1:$admin" >/dev/null 2>&1 &
svc=$!
trap 'kill $svc 2>/dev/null; wait $svc 2>/dev/null' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/hello" >/dev/null && break
  sleep 0.05
done

run_oha() {
  oha --no-tui --output-format json -n "$n" -c "$c" "http://127.0.0.1:$port/hello" > "$out/oha-$1.json"
}
run_goready() {
  "$goready" probe --exec "$out/hello-svc --addr {addr} --admin {admin}" \
    --load 'GET /hello' --requests "$n" --concurrency "$c" --format json \
    > "$out/goready-$1.json" 2>/dev/null || true
}
for i in $(seq "$runs"); do
  if [ $((i % 2)) -eq 1 ]; then run_oha "$i"; run_goready "$i"; else run_goready "$i"; run_oha "$i"; fi
done

python3 - "$out" "$runs" "$n" "$c" <<'PY'
import json, statistics, sys
out, runs, n, c = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {"goready": [], "oha": []}
for i in range(1, runs + 1):
    g = json.load(open(f"{out}/goready-{i}.json"))["service"]["load"]
    assert g["ok"] == g["requested"], g
    rows["goready"].append((g["rps"], g["p50_ms"], g["p90_ms"], g["p99_ms"]))
    o = json.load(open(f"{out}/oha-{i}.json"))
    p = o["latencyPercentiles"]
    rows["oha"].append((o["summary"]["requestsPerSec"], p["p50"] * 1e3, p["p90"] * 1e3, p["p99"] * 1e3))
print(f"{n} x GET /hello over {c} connections, {runs} interleaved rounds")
for tool, rs in rows.items():
    for r in rs:
        print(f"  {tool:8} {r[0]:9.0f} req/s  p50 {r[1]:.3f}  p90 {r[2]:.3f}  p99 {r[3]:.3f} ms")
med = {t: [statistics.median(col) for col in zip(*rs)] for t, rs in rows.items()}
for t, m in med.items():
    print(f"median {t:8} {m[0]:9.0f} req/s  p50 {m[1]:.3f}  p90 {m[2]:.3f}  p99 {m[3]:.3f} ms")
g, o = med["goready"], med["oha"]
print(f"goready / oha: req/s {g[0] / o[0]:.2f}x, p50 {g[1] / o[1]:.2f}x, p90 {g[2] / o[2]:.2f}x, p99 {g[3] / o[3]:.2f}x")
PY
