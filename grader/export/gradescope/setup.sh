#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (the bundle is
# unpacked in /autograder/source). It installs a Rust toolchain when there is no cargo,
# builds the grader, and then grades the stubs as they ship (`--grade-untouched`) into the
# work directory that run_autograder grades in: that builds every dependency and every
# hidden test crate, so that a submission compiles only its own code. Safe to run again;
# any failure stops it, and the image build with it.
#
# Environment: AUTOGRADER_ROOT (default /autograder), CARGO_TARGET_DIR (where the grader
# is built; default source/target), AUTOGRADER_KATAS (space-separated kata ids: only
# these are pre-built; for tests, a real bundle builds every kata).
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
# Absolute: the grader writes the hidden tests' paths into the manifests it generates.
case "$ROOT" in /*) ;; *) ROOT="$PWD/$ROOT" ;; esac
SOURCE="$ROOT/source"
# These three must match run_autograder.
WORK="$SOURCE/target/grader/gradescope"
# A debug grader: its own work is a small part of a grade (0.17-0.20 s of CPU per grade
# against 0.15 s in release, measured), and a release build costs minutes more here.
PROFILE=debug
GRADER="${CARGO_TARGET_DIR:-$SOURCE/target}/$PROFILE/grader"
export PATH="${CARGO_HOME:-${HOME:-/root}/.cargo}/bin:$PATH"

say() { printf 'setup.sh: %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
    toolchain=stable
    if [ -f "$SOURCE/rust-toolchain.toml" ]; then
        toolchain=$(sed -n 's/^[[:space:]]*channel[[:space:]]*=[[:space:]]*["'\'']\([^"'\'']*\)["'\''].*/\1/p' \
            "$SOURCE/rust-toolchain.toml" | head -n 1)
    elif [ -f "$SOURCE/rust-toolchain" ]; then
        toolchain=$(head -n 1 "$SOURCE/rust-toolchain" | tr -d '[:space:]')
    fi
    if [ -z "$toolchain" ]; then
        say "cannot read the toolchain's channel from $SOURCE/rust-toolchain.toml"
        exit 1
    fi
    need=()
    command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
    command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
    if [ "${#need[@]}" -gt 0 ]; then
        say "installing ${need[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
    fi
    say "installing Rust $toolchain (minimal profile) with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --no-modify-path --profile minimal --default-toolchain "$toolchain"
    command -v cargo >/dev/null 2>&1 || { say "rustup installed no cargo"; exit 1; }
fi

cd "$SOURCE"
say "building the grader ($(cargo --version))"
cargo build -p grader --bin grader $([ "$PROFILE" = release ] && echo --release)
[ -x "$GRADER" ] || { say "the build left no grader at $GRADER"; exit 1; }

katas=()
for kata in ${AUTOGRADER_KATAS:-}; do
    katas+=(--kata "$kata")
done
say "building every dependency and hidden test (grading the stubs into $WORK)"
"$GRADER" --course "$SOURCE" grade --path "$SOURCE/exercises" --grade-untouched \
    --work-dir "$WORK" -q ${katas[@]+"${katas[@]}"} >/dev/null
say "ready"
