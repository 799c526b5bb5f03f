#!/usr/bin/env bash
# Benchmark: `goready report` merging CI shards into one JUnit file, against junitparser's
# `merge` doing the same with JUnit shards, in one run. 10 shards of 5,000 checks each (Go
# tests in 50 packages per shard; one in seven fails, one in eleven is skipped).
# Needs hyperfine (apt-get install hyperfine), GNU time, and junitparser
# (pip install -r ci/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
G=$PWD/target/release/goready
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
for s in range(10):
    checks = []
    for i in range(5000):
        status = "fail" if i % 7 == 0 else "skip" if i % 11 == 0 else "pass"
        c = {"id": "test.go_test", "suite": "test", "target": f"example.com/svc/pkg{s}_{i // 100}",
             "status": status, "severity": "error", "title": f"TestCase{i}",
             "message": f"case {i}: " + ("want 200, got 500; " * 5 if status == "fail" else "ok"),
             "duration_ms": i % 300, "fingerprint": f"{s:04x}{i:012x}",
             "data": {"test": f"TestCase{i}"}}
        if status == "fail":
            c["file"], c["line"] = f"pkg{s}/x_test.go", i % 500 + 1
        checks.append(c)
    json.dump({"schema": "goready/v1", "tool": {"name": "goready", "version": "0.1.0"},
               "checks": checks}, open(f"{w}/shard{s}.json", "w"))
PY
# The JUnit shards the reference merges are goready's own rendering of the same shards.
for s in "$W"/shard*.json; do "$G" report "$s" --junit "${s%.json}.xml" >/dev/null || true; done
echo "shards: $(ls "$W"/shard*.json | wc -l) JSON ($(du -ch "$W"/shard*.json | tail -1 | cut -f1)), $(du -ch "$W"/shard*.xml | tail -1 | cut -f1) JUnit"
hyperfine -N -i --warmup 2 --runs "${RUNS:-20}" --export-json "$W/merge.json" \
  "$G report $W/shard0.json $W/shard1.json $W/shard2.json $W/shard3.json $W/shard4.json $W/shard5.json $W/shard6.json $W/shard7.json $W/shard8.json $W/shard9.json --junit $W/out.xml" \
  "junitparser merge $W/shard0.xml $W/shard1.xml $W/shard2.xml $W/shard3.xml $W/shard4.xml $W/shard5.xml $W/shard6.xml $W/shard7.xml $W/shard8.xml $W/shard9.xml $W/ref.xml" >/dev/null
hyperfine -N -i --warmup 1 --runs "${RUNS:-20}" --export-json "$W/all.json" \
  "$G report $W/shard0.json $W/shard1.json $W/shard2.json $W/shard3.json $W/shard4.json $W/shard5.json $W/shard6.json $W/shard7.json $W/shard8.json $W/shard9.json --junit $W/j.xml --sarif $W/s.sarif --gitlab-codequality $W/cq.json --json $W/m.json" >/dev/null
python3 - "$W" <<'PY'
import json, statistics, sys
w = sys.argv[1]
runs = json.load(open(f"{w}/merge.json"))["results"]
g, ref = (statistics.median(r["times"]) * 1000 for r in runs)
print(f"goready report --junit   {g:8.1f} ms")
print(f"junitparser merge        {ref:8.1f} ms")
print(f"ratio                    {g / ref:8.2f}x")
a = statistics.median(json.load(open(f"{w}/all.json"))["results"][0]["times"]) * 1000
print(f"goready report, 4 files  {a:8.1f} ms (JUnit, SARIF, Code Quality, merged JSON)")
PY
/usr/bin/time -f "peak RSS goready (4 files): %M KB" "$G" report "$W"/shard*.json --junit "$W/j.xml" --sarif "$W/s.sarif" --gitlab-codequality "$W/cq.json" --json "$W/m.json" >/dev/null || true
/usr/bin/time -f "peak RSS junitparser merge: %M KB" junitparser merge "$W"/shard*.xml "$W/ref.xml" || true
