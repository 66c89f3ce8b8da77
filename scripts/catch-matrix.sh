#!/usr/bin/env bash
# How surely a stress suite catches each mutant of a kata: for every file of
# tests/mutants/KATA/ and for the reference solution, builds the suite through the grader,
# then runs each of its tests RUNS times from the built test binary (`--exact`), and
# prints how many runs failed. A test on a mutant's `expect-fail` line should fail every
# run; every other test, and the solution, should pass every run.
#   usage: scripts/catch-matrix.sh KATA SUITE [RUNS] [-- PREFIX...]
#   e.g.   scripts/catch-matrix.sh race race_stress 20 -- taskset -c 0   (one core)
# PREFIX runs each test under a command of its own (`taskset -c 0` for one core). For a
# crowded machine, start busy loops beside it: `for i in 1 2 3; do sh -c 'while :; do :;
# done' & done`, and kill them after.
# ONLY="name1 name2 solution" limits the run to those mutants (file names without .rs),
# TESTS="test1 test2" to those tests. A run that takes over 60 s (a hang: the test binary
# runs here without the grader's limits) is stopped and counts as failed.
set -euo pipefail
kata=$1 suite=$2 runs=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
repo=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cd "$repo"
cargo build -q -p grader
cp -r "solutions/$kata" "$tree/$kata"
for mutant in tests/mutants/"$kata"/*.rs solution; do
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $(basename "$mutant" .rs) "* ]]; then continue; fi
  if [ "$mutant" = solution ]; then
    cp "solutions/$kata/src/lib.rs" "$tree/$kata/src/lib.rs"
  else
    cp "$mutant" "$tree/$kata/src/lib.rs"
  fi
  # (A hidden suite that no longer compiles would leave an older binary to be run below.)
  if cargo run -q -p grader -- check "$kata" --path "$tree" 2>&1 | grep -q 'compile-error'; then
    echo "$(basename "$mutant" .rs): the hidden suites do not compile against it" >&2
    exit 1
  fi
  # (sed reads to the end: head would leave ls a broken pipe, fatal under pipefail)
  binary=$(ls -t "$repo"/target/grader/target/debug/deps/"$suite"-* | grep -v '\.d$' | sed -n 1p)
  line="$(basename "$mutant" .rs):"
  for test in $("$binary" --list --format terse 2>/dev/null | sed -n 's/: test$//p'); do
    if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $test "* ]]; then continue; fi
    failed=0
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do
      (cd "${TMPDIR:-/tmp}" && timeout 60 "$@" "$binary" --exact "$test" >/dev/null 2>&1) || failed=$((failed + 1))
    done
    line="$line $test=$failed/$runs($(( ($(date +%s%N) - start) / 1000000 / runs ))ms)"
  done
  echo "$line"
done
