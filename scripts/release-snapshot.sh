#!/usr/bin/env bash
# Regenerates src/env/releases-snapshot.json, the Go release list compiled into goready for
# machines that cannot reach https://go.dev/dl/?mode=json&include=all.
#
# Sources, both honest about what they are:
#  - go1.21 and later: the version names of the golang.org/toolchain module on the Go module
#    proxy (`go list -m -versions`; no toolchain is downloaded). Go numbers patch releases
#    consecutively, so a line's releases are go1.N.0 .. the newest patch the proxy lists
#    (some proxies list only the toolchain zips they hold).
#  - go1 .. go1.20: Go's published release history (https://go.dev/doc/devel/release), listed
#    below. go1.7.2 was tagged but never released.
# Pre-releases (rc, beta) the proxy lists are kept, marked "stable": false, as the feed does.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/env/releases-snapshot.json

history() {
  # minor:newest-patch for go1.0 .. go1.20
  local lines="0:3 1:2 2:2 3:3 4:3 5:4 6:4 7:6 8:7 9:7 10:8 11:13 12:17 13:15 14:15 15:15 16:15 17:13 18:10 19:13 20:14"
  for l in $lines; do
    local minor=${l%:*} newest=${l#*:}
    for p in $(seq 0 "$newest"); do
      [ "$minor.$p" = "7.2" ] && continue
      if [ "$minor" = 0 ] && [ "$p" = 0 ]; then echo go1
      elif [ "$p" = 0 ]; then echo "go1.$minor"
      else echo "go1.$minor.$p"; fi
    done
  done
}

proxy=$(GOFLAGS=-mod=mod go list -m -versions golang.org/toolchain | tr ' ' '\n' | tail -n +2 |
  sed -E 's/^v0\.0\.1-//; s/\.[a-z0-9]+-[a-z0-9]+$//' | sort -u)

since121() {
  echo "$proxy" | grep -E '^go1\.[0-9]+\.[0-9]+$' | awk -F. '$2 >= 21 { if ($3 > max[$2]) max[$2] = $3; seen[$2] = 1 }
    END { for (m in seen) for (p = 0; p <= max[m]; p++) print "go1." m "." p }'
}

prereleases() { echo "$proxy" | grep -E '(rc|beta)[0-9]+$' || true; }

# Sort newest first, like the feed: key = minor, kind (beta 1, rc 2, release 3), number.
{ history; since121; prereleases; } | sort -u | awk '{
    v = $0; s = substr(v, 3); split(s, a, "."); minor = a[2] + 0; kind = 3; n = a[3] + 0
    if (s == "1") { minor = 0; n = 0 }
    if (match(s, /rc[0-9]+$/)) { kind = 2; n = substr(s, RSTART + 2) + 0; minor = substr(s, 3, RSTART - 3) + 0 }
    if (match(s, /beta[0-9]+$/)) { kind = 1; n = substr(s, RSTART + 4) + 0; minor = substr(s, 3, RSTART - 3) + 0 }
    printf "%05d %d %05d %s %s\n", minor, kind, n, v, (kind == 3 ? "true" : "false")
  }' | sort -r | awk -v date="$(date -u +%F)" '
  BEGIN { print "{"; print "  \"date\": \"" date "\","
          print "  \"source\": \"scripts/release-snapshot.sh: go1.21+ from the golang.org/toolchain versions on the Go module proxy, go1-go1.20 from Go'"'"'s release history\","
          print "  \"releases\": [" }
  { if (NR > 1) printf ",\n"; printf "    {\"version\": \"%s\", \"stable\": %s}", $4, $5 }
  END { print ""; print "  ]"; print "}" }' > "$out"
echo "wrote $out ($(grep -c '"version"' "$out") releases)"
