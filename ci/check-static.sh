#!/usr/bin/env bash
# ci/check-static.sh GOREADY FILE: goready inspects FILE and it must be statically linked.
# With --require-static, binary.static judges the linkage of any ELF file, Go or not (goready
# itself is Rust), as an error.
set -euo pipefail
goready=$1
file=$2
"$goready" inspect "$file" --require-static --fail-on error
