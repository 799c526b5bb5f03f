#!/usr/bin/env bash
# Benchmark: `goready image` (read every layer, build the merged view, judge) against
# `tar -xf` unpacking the same archive, on an image built from this machine's files:
#   layer 1  /usr/lib/x86_64-linux-gnu + /lib64 + /etc/ssl + /usr/share/zoneinfo (≈700 MB,
#            thousands of shared libraries: the ELF facts of each are read)
#   layer 2  GOROOT (≈270 MB, ~15,000 files)
#   layer 3  a Go service (tests/fixtures/imagesvc, glibc cgo) as /app
# written twice: as `docker save` writes it (plain layer tars, legacy layout) and as an OCI
# layout tar with gzip layers (what a registry serves).
#
#   bench/image.sh             # 5 rounds, interleaved
#   ROUNDS=9 bench/image.sh
#   NO_BUILD=1 bench/image.sh   # target/release/goready as it is
#
# Compared: `goready image ARCHIVE --format json`; `tar -xf ARCHIVE` (the outer archive
# unpacked, layers still packed); and unpacking the image's root filesystem, `tar -xf` of the
# archive then `tar -xf` of each layer in order (what a runtime does before it can start the
# entrypoint). Figures are medians of wall time over rounds (page cache warm: every command
# reads the same file once before the rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release --quiet
work=${WORK:-/tmp/goready-image-bench}
rm -rf "$work" && mkdir -p "$work/l1" "$work/l2" "$work/l3"
( cd "$(mktemp -d)" && cp -r "$OLDPWD/tests/fixtures/imagesvc" . && cd imagesvc &&
  CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -o "$work/app" . )
goroot=$(go env GOROOT)
tar -C / -cf "$work/l1/layer.tar" usr/lib/x86_64-linux-gnu lib64 etc/ssl usr/share/zoneinfo 2>/dev/null || true
tar -C "$(dirname "$goroot")" -cf "$work/l2/layer.tar" --transform "s,^$(basename "$goroot"),usr/local/go," "$(basename "$goroot")"
tar -C "$work" -cf "$work/l3/layer.tar" app
cat > "$work/c.json" <<'JSON'
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/app"],"User":"65532","Env":["PATH=/usr/local/go/bin:/usr/bin:/bin"]}}
JSON
echo '[{"Config":"c.json","RepoTags":["bench:1"],"Layers":["l1/layer.tar","l2/layer.tar","l3/layer.tar"]}]' > "$work/manifest.json"
tar -C "$work" -cf "$work/docker.tar" l1/layer.tar l2/layer.tar l3/layer.tar c.json manifest.json
# The OCI layout with gzip layers (digests by sha256sum).
mkdir -p "$work/oci/blobs/sha256"
layers=""
for l in l1 l2 l3; do
  gzip -1 -c "$work/$l/layer.tar" > "$work/$l.gz"
  d=$(sha256sum "$work/$l.gz" | cut -d' ' -f1)
  mv "$work/$l.gz" "$work/oci/blobs/sha256/$d"
  layers="$layers{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$work/oci/blobs/sha256/$d")},"
done
cd_=$(sha256sum "$work/c.json" | cut -d' ' -f1); cp "$work/c.json" "$work/oci/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cd_" "$(stat -c %s "$work/c.json")" "${layers%,}" > "$work/m.json"
md=$(sha256sum "$work/m.json" | cut -d' ' -f1); mv "$work/m.json" "$work/oci/blobs/sha256/$md"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"os":"linux","architecture":"amd64"}}]}' \
  "$md" "$(stat -c %s "$work/oci/blobs/sha256/$md")" > "$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
tar -C "$work/oci" -cf "$work/oci.tar" .
rm -rf "$work/l1" "$work/l2" "$work/l3" "$work/oci"
echo "docker.tar $(stat -c %s "$work/docker.tar") bytes, oci.tar (gzip) $(stat -c %s "$work/oci.tar") bytes, $(nproc) CPUs"
WORK="$work" ROUNDS="${ROUNDS:-5}" python3 - <<'PY'
import json, os, shutil, statistics, subprocess, time
work, rounds = os.environ["WORK"], int(os.environ["ROUNDS"])
out = os.path.join(work, "out")

def unpack_outer(archive):
    os.makedirs(out)
    subprocess.run(["tar", "-xf", archive, "-C", out], check=True)

def unpack_root(archive):
    unpack_outer(archive)
    root = os.path.join(out, "rootfs")
    os.makedirs(root)
    if os.path.exists(os.path.join(out, "manifest.json")):
        layers = json.load(open(os.path.join(out, "manifest.json")))[0]["Layers"]
    else:
        idx = json.load(open(os.path.join(out, "index.json")))
        m = json.load(open(os.path.join(out, "blobs", *idx["manifests"][0]["digest"].split(":"))))
        layers = ["blobs/" + l["digest"].replace(":", "/") for l in m["layers"]]
    for l in layers:
        subprocess.run(["tar", "-xf", os.path.join(out, l), "-C", root], check=True)

def goready(archive):
    subprocess.run(["target/release/goready", "image", archive, "--format", "json"],
                   check=False, stdout=subprocess.DEVNULL)

for name in ["docker.tar", "oci.tar"]:
    archive = os.path.join(work, name)
    subprocess.run(["cat", archive], stdout=subprocess.DEVNULL, check=True)
    cmds = {"goready image": goready, "tar -xf (archive)": unpack_outer, "tar -xf (archive + layers)": unpack_root}
    times = {k: [] for k in cmds}
    for r in range(rounds):
        order = list(cmds)[r % 3:] + list(cmds)[:r % 3]
        for k in order:
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter(); cmds[k](archive); times[k].append(time.perf_counter() - t)
            shutil.rmtree(out, ignore_errors=True)
    g = statistics.median(times["goready image"])
    print(f"\n{name} ({rounds} rounds, median wall seconds)")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:28} {m:7.2f} s   goready/this {g / m:5.2f}x")
PY
