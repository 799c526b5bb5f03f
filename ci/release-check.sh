#!/usr/bin/env bash
# The shipped binary, checked as release.yml ships it: `cargo build --release` is at most
# 12 MiB, and the static Linux build (x86_64-unknown-linux-musl, what the release publishes for
# Linux) passes goready's own static check (ci/check-static.sh) — the one goready runs on Go
# teams' binaries. The musl binary is then run, so a static binary that cannot start fails here too.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
max=$((12 * 1024 * 1024))

cargo build --release --locked
bin="$target_dir/release/goready"
size=$(stat -c %s "$bin")
echo "release binary: $size bytes (limit $max)"
if ((size > max)); then
  echo "error: $bin is $size bytes, over the 12 MiB limit" >&2
  exit 1
fi

musl=x86_64-unknown-linux-musl
cargo build --release --locked --target "$musl"
static="$target_dir/$musl/release/goready"
echo "musl binary: $(stat -c %s "$static") bytes"
ci/check-static.sh "$bin" "$static"
# The glibc build is the counter-proof: the same check must fail it.
if ci/check-static.sh "$bin" "$bin"; then
  echo "error: the static check passed the glibc-linked $bin" >&2
  exit 1
fi
"$static" --version
