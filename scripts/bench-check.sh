#!/usr/bin/env bash
# Prints, for every kata, how long `grader check KATA` takes right after an edit with the
# reference solution in place (every hidden test runs to its end): the median of RUNS
# edits (default 5), and that check's own stage times from KATA_GRADER_TIMINGS (the
# build, both configurations in one cargo call, and the run) of the median edit.
#   usage: scripts/bench-check.sh [RUNS]
# Warm: each kata is checked once before the timed edits, so a build is only the kata's.
set -euo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cd "$repo"
cargo build -q -p grader
katas=$(sed -n 's/^  - id: \(.*\)$/\1/p' course.yaml)
printf '%-18s %8s %8s %8s\n' kata "check s" "build" "run"
for kata in $katas; do
  cp -r "solutions/$kata" "$tree/$kata"
  cargo run -q -p grader -- check "$kata" --path "$tree" -q >/dev/null 2>&1 || true
  for i in $(seq "$runs"); do
    echo "// an edit" >> "$tree/$kata/src/lib.rs"
    start=$(date +%s.%N)
    timings=$(KATA_GRADER_TIMINGS=1 cargo run -q -p grader -- check "$kata" --path "$tree" -q 2>&1 >/dev/null || true)
    secs=$(awk "BEGIN { print $(date +%s.%N) - $start }")
    # All the build's cargo calls (one, or the fallback's one per configuration).
    stage() { echo "$timings" | sed -n "s/^timing: $1 \([0-9]*\) ms$/\1/p" | awk '{ t += $1 } END { if (NR == 0) printf "-"; else printf "%.2f", t / 1000 }'; }
    echo "$secs $(stage 'build[-A-Za-z]*') $(stage run)"
  done | sort -n | sed -n "$(( (runs + 1) / 2 ))p" | {
    read -r secs build run
    printf '%-18s %8.2f %8s %8s\n' "$kata" "$secs" "${build:--}" "${run:--}"
  }
  rm -rf "${tree:?}/$kata"
done
