#!/usr/bin/env bash
# The shipped Linux binary, checked as release.yml ships it: the static build
# (x86_64-unknown-linux-musl, `cargo build --release`, what the release publishes for Linux) is
# at most 12 MiB and passes goready's own static check (ci/check-static.sh) — the one goready
# runs on Go teams' binaries. The musl binary is then run, so a static binary that cannot start
# fails here too. The counter-proof, a glibc-linked goready that the same check must fail, is
# the debug build the test suite builds anyway (a second release build would add minutes and
# prove nothing more about linkage).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
max=$((12 * 1024 * 1024))

musl=x86_64-unknown-linux-musl
cargo build --release --locked --target "$musl"
static="$target_dir/$musl/release/goready"
size=$(stat -c %s "$static")
echo "release binary ($musl): $size bytes (limit $max)"
if ((size > max)); then
  echo "error: $static is $size bytes, over the 12 MiB limit" >&2
  exit 1
fi

cargo build --locked
glibc="$target_dir/debug/goready"
ci/check-static.sh "$glibc" "$static"
# The glibc build is the counter-proof: the same check must fail it.
if ci/check-static.sh "$glibc" "$glibc"; then
  echo "error: the static check passed the glibc-linked $glibc" >&2
  exit 1
fi
"$static" --version
