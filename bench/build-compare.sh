#!/usr/bin/env bash
# Two goready builds compared on `goready build` of examples/hello-svc (its goready.toml's
# matrix, Go build cache warm, every run without dist/ so every target is linked):
#
#   bench/build-compare.sh BEFORE_BINARY AFTER_BINARY    # ROUNDS=8 by default
#
# Rounds are interleaved and the order alternates, so load from other work on a shared
# machine hits both alike; prints `round which wall_ms`, one line per run (median them).
set -euo pipefail
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); ROUNDS=${ROUNDS:-8}
cd "$(dirname "$0")/../examples/hello-svc"
for b in "$BEFORE" "$AFTER"; do rm -rf dist; "$b" build . >/dev/null 2>&1 || true; done
ms() { echo $(($(date +%s%N) / 1000000)); }
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 0 ]; then order="before after"; else order="after before"; fi
  for which in $order; do
    bin=$BEFORE; [ "$which" = after ] && bin=$AFTER
    rm -rf dist
    start=$(ms)
    "$bin" build . >/dev/null 2>&1 || true
    echo "$round $which $(($(ms) - start))"
  done
done
rm -rf dist
