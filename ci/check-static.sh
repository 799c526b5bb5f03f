#!/usr/bin/env bash
# ci/check-static.sh GOREADY FILE: goready inspects FILE and it must be statically linked.
# `--require-static` is goready's own rule; it judges Go binaries only (on any other binary
# the Go rules are skipped), so the linkage goready reads from FILE (`--format json`: no
# interpreter, no DT_NEEDED libraries) is checked as well — that part bites on goready itself.
set -euo pipefail
goready=$1
file=$2
"$goready" inspect "$file" --require-static --fail-on error >/dev/null
"$goready" inspect "$file" --format json | python3 -c '
import json, sys
b = json.load(sys.stdin)["binaries"][0]
print("%s: linkage %s, interpreter %s, needed %s" % (b["path"], b["linkage"], b["interpreter"], b["needed"]))
sys.exit(0 if b["linkage"] == "static" and not b["interpreter"] and not b["needed"] else 1)
'
