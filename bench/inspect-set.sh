#!/usr/bin/env bash
# Builds the large set for bench/inspect.sh: 70+ Go binaries, about 1 GB, from
#   - GOROOT's own tool binaries ($(go env GOROOT)/bin/*, $(go env GOROOT)/pkg/tool/*/*);
#   - examples/hello-svc for a GOOS/GOARCH/CGO matrix, with and without symbols and DWARF;
#   - a real module's release matrix: nats-server (and caddy's cmd/caddy), fetched from the Go
#     module proxy only, for linux/amd64, linux/arm64, darwin/arm64, windows/amd64: plain,
#     -w and -s -w.
# Usage: bench/inspect-set.sh [DIR]   (default /tmp/goready-inspect-set); prints DIR's listing.
# Reproducible: versions are pinned, -trimpath, no VCS stamping; reruns skip files that exist.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SET=${1:-/tmp/goready-inspect-set}
NATS=github.com/nats-io/nats-server/v2@v2.15.2
CADDY=github.com/caddyserver/caddy/v2@v2.11.9
mkdir -p "$SET"
GOROOT=$(go env GOROOT)

# GOROOT's tools, copied so the set is one folder (names keep their origin).
for f in "$GOROOT"/bin/* "$GOROOT"/pkg/tool/*/*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  cp -n "$f" "$SET/goroot-$(basename "$f")"
done

# build NAME DIR PKG GOOS GOARCH CGO [extra go build flags...]
build() {
  local name=$1 dir=$2 pkg=$3 goos=$4 goarch=$5 cgo=$6
  shift 6
  local out="$SET/$name"
  [ "$goos" = windows ] && out="$out.exe"
  [ -s "$out" ] && return 0
  echo "build $name" >&2
  (cd "$dir" && CGO_ENABLED=$cgo GOOS=$goos GOARCH=$goarch GOFLAGS=-buildvcs=false \
    nice go build -trimpath "$@" -o "$out" "$pkg")
}

# examples/hello-svc: a GOOS/GOARCH matrix, each with the full symbol table, without DWARF
# (-w), without symbols (-s) and stripped (-s -w), and the cgo build.
HELLO=$ROOT/examples/hello-svc
for t in linux/amd64 linux/arm64 linux/386 linux/arm linux/riscv64 darwin/arm64 windows/amd64 \
  darwin/amd64 freebsd/amd64; do
  goos=${t%/*} goarch=${t#*/}
  build "hello-$goos-$goarch" "$HELLO" . "$goos" "$goarch" 0 -ldflags "-X main.Version=1.2.3"
  build "hello-$goos-$goarch-w" "$HELLO" . "$goos" "$goarch" 0 -ldflags "-w -X main.Version=1.2.3"
  build "hello-$goos-$goarch-s" "$HELLO" . "$goos" "$goarch" 0 -ldflags "-s -X main.Version=1.2.3"
  build "hello-$goos-$goarch-sw" "$HELLO" . "$goos" "$goarch" 0 -ldflags "-s -w -X main.Version=1.2.3"
done
if command -v gcc >/dev/null; then
  build hello-linux-amd64-cgo "$HELLO" . linux amd64 1 -ldflags "-X main.Version=1.2.3"
  build hello-linux-amd64-cgo-sw "$HELLO" . linux amd64 1 -ldflags "-s -w -X main.Version=1.2.3"
fi

# A module from the proxy, copied out of the read-only module cache.
module_copy() {
  local mod=$1 dest=$2
  if [ ! -f "$dest/go.mod" ]; then
    local src
    src=$(go mod download -json "$mod" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    rm -rf "$dest"
    cp -r "$src" "$dest"
    chmod -R u+w "$dest"
  fi
  echo "$dest"
}
NATS_DIR=$(module_copy "$NATS" /tmp/goready-bench-nats)
CADDY_DIR=$(module_copy "$CADDY" /tmp/goready-bench-caddy)
for t in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
  goos=${t%/*} goarch=${t#*/}
  build "nats-server-$goos-$goarch" "$NATS_DIR" . "$goos" "$goarch" 0
  build "nats-server-$goos-$goarch-w" "$NATS_DIR" . "$goos" "$goarch" 0 -ldflags "-w"
  build "nats-server-$goos-$goarch-sw" "$NATS_DIR" . "$goos" "$goarch" 0 -ldflags "-s -w"
done
for t in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
  goos=${t%/*} goarch=${t#*/}
  build "caddy-$goos-$goarch" "$CADDY_DIR" ./cmd/caddy "$goos" "$goarch" 0
  build "caddy-$goos-$goarch-w" "$CADDY_DIR" ./cmd/caddy "$goos" "$goarch" 0 -ldflags "-w"
  build "caddy-$goos-$goarch-sw" "$CADDY_DIR" ./cmd/caddy "$goos" "$goarch" 0 -ldflags "-s -w"
done

echo "set: $SET, $(find "$SET" -type f | wc -l) files, $(du -cb "$SET"/* | tail -1 | cut -f1) bytes"
