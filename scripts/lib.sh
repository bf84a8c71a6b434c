# Shared by the scripts in this folder. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds are cached outside the clone so every clone and CI run builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/polystoreiq/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# The DuckDB build the `duckdb` crate (=1.10506.1) binds to: the same 1.5.6 shared library the npm registry
# ships for the Node bindings. Compiling DuckDB's C++ instead (the crate's `bundled` feature) takes most of an
# hour on two cores.
DUCKDB_VERSION="1.5.6"
DUCKDB_NPM_VERSION="1.5.6-r.1"
DUCKDB_LIB_DIR="/usr/local/lib"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1
    fi
}

APT_UPDATED=""
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

bin_dir() { echo "$CARGO_TARGET_DIR/${1:-debug}"; }
