#!/usr/bin/env bash
# Installs what the test suite runs besides cargo and go, each pinned: the reference tools the
# inspect tests cross-check with, the Python validators, the musl target for the static
# release build, and the CI emulators and linters the workflow tests drive. Idempotent: a tool
# already at its pinned version is left alone. Called by .ci/run; safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

ACT_VERSION=v0.2.89
ACTIONLINT_VERSION=v1.7.12
GITLAB_CI_LOCAL_VERSION=4.56.2 # later releases need Node 22
CYCLONEDX_GOMOD_VERSION=v1.10.0 # tests/sbom.rs compares module sets with it
GOVULNCHECK_VERSION=v1.9.0 # tests/vuln_scan.rs cross-checks binary.vuln with it

sudo_() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
have() { compgen -c | grep -E "^$1(-[0-9]+)?\$" >/dev/null; }

# Debian packages: llvm + binutils (readelf, llvm-readobj/-lipo read ELF, Mach-O and PE),
# rsync (gitlab-ci-local copies the project with it), shellcheck (actionlint runs it on every
# run: script), musl-tools (musl-gcc for the static build's C parts), npm for gitlab-ci-local.
missing=()
have llvm-lipo && have llvm-readobj || missing+=(llvm)
command -v readelf >/dev/null || missing+=(binutils)
command -v rsync >/dev/null || missing+=(rsync)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python tools the report tests cross-check with (check-jsonschema, junitparser, zizmor).
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r ci/requirements.txt
if command -v pyenv >/dev/null; then pyenv rehash; fi

# The static Linux build.
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
  rustup target add x86_64-unknown-linux-musl

# Go tools, into GOBIN (default ~/go/bin), which .ci/run puts on PATH.
gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
if ! "$gobin/act" --version 2>/dev/null | grep -q "${ACT_VERSION#v}"; then
  go install "github.com/nektos/act@${ACT_VERSION}"
fi
if ! "$gobin/actionlint" -version 2>/dev/null | grep -q "${ACTIONLINT_VERSION#v}"; then
  go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
fi
if ! "$gobin/govulncheck" -version 2>/dev/null | grep -q "govulncheck@${GOVULNCHECK_VERSION}"; then
  go install "golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION}"
fi

if ! "$gobin/cyclonedx-gomod" version 2>/dev/null | grep -q "${CYCLONEDX_GOMOD_VERSION}"; then
  go install "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@${CYCLONEDX_GOMOD_VERSION}"
fi

if ! gitlab-ci-local --version 2>/dev/null | grep -qx "$GITLAB_CI_LOCAL_VERSION"; then
  sudo_ npm install -g --no-fund --no-audit "gitlab-ci-local@${GITLAB_CI_LOCAL_VERSION}" >/dev/null
fi

# The official cache action at the commit action.yml pins, as a folder: act's
# --local-repository stands it in for the remote action (tests/ci_emulators.rs). Its dist/ is
# committed at that commit, so it runs as GitHub runs it.
actions_dir=${GOREADY_ACTIONS_DIR:-$HOME/.cache/goready-ci/actions}
sha=$(grep -oE 'actions/cache/(restore|save)@[0-9a-f]{40}' action.yml | head -n 1 | cut -d@ -f2)
dest="$actions_dir/actions/cache@$sha"
if [[ ! -f "$dest/action.yml" ]]; then
  # From github.com, or from a local mirror of the repository (GOREADY_ACTIONS_MIRROR: a git
  # directory holding that commit). A machine that reaches neither still runs every test: the
  # act test then says loudly that the baseline's save/restore was not proven.
  tmp=$(mktemp -d)
  git -C "$tmp" init -q
  got=
  for src in ${GOREADY_ACTIONS_MIRROR:+"$GOREADY_ACTIONS_MIRROR"} https://github.com/actions/cache; do
    if timeout 60 git -C "$tmp" fetch -q --depth 1 "$src" "$sha" 2>/dev/null; then
      got=$src
      break
    fi
  done
  if [[ -n "$got" ]]; then
    git -C "$tmp" checkout -q FETCH_HEAD
    rm -rf "$tmp/.git"
    mkdir -p "$(dirname "$dest")"
    mv "$tmp" "$dest"
  else
    rm -rf "$tmp"
    echo "warning: actions/cache@$sha could not be fetched (github.com unreachable, no GOREADY_ACTIONS_MIRROR): the act test runs the action with baseline: off" >&2
  fi
fi
