#!/usr/bin/env bash
# Prints how long the grader takes, measured on a fresh clone of this repository:
#   0. the grader's own build in the fresh clone (crates already downloaded);
#   1. cold:  `grader grade` from there (nothing of the hidden tests built yet)
#   2. warm:  the same grade again, nothing changed
#   3. edit:  `grader check race` after editing exercises/race/src/lib.rs, with the
#      solution in place (every test runs to its end)
#   4. solutions through the grader (warm), and
#   5. plain `cargo test` running the same hidden tests of the solutions in one process per
#      suite (no isolation, no proof channel, no per-test limits), for comparison;
#   6. plain `cargo build` of the same generated workspace's tests, both configurations, one
#      after the other, into an empty target directory: what the cold grade's build costs
#      without the grader (compare with 1).
#   usage: scripts/bench.sh [WORKDIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
rm -rf "$work/clone"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; awk "BEGIN { print $(date +%s.%N) - $s }"; }
# The grader is built first, and timed apart: the cold grade then times what the grader
# itself builds and runs.
grader=$(secs cargo build -q -p grader)
cold=$(secs cargo run -q -p grader -- grade -q)
warm=$(secs cargo run -q -p grader -- grade -q)
# With the solution in place, so that every test runs to its end (the stub's fail early).
cp solutions/race/src/lib.rs exercises/race/src/lib.rs
secs cargo run -q -p grader -- check race -q >/dev/null
echo "// an edit" >> exercises/race/src/lib.rs
edit=$(secs cargo run -q -p grader -- check race -q)
git checkout -q exercises/race/src/lib.rs
# The first grade of the solutions builds them; the second is the warm figure.
secs cargo run -q -p grader -- grade --solutions -q >/dev/null
sol=$(secs cargo run -q -p grader -- grade --solutions -q)
# The generated workspace of the solutions grade holds every hidden suite.
ws=$(ls -d target/grader/solutions/ws)
normal=$(grep -h '^name = ' "$ws"/solutions-*/hidden/*/Cargo.toml | grep -v hidden- | sed 's/name = "\(.*\)"/\1/' | grep -v '_loom$' | sed 's/^/--test /' | tr '\n' ' ')
loom=$(grep -h '^name = ' "$ws"/solutions-*/hidden/*/Cargo.toml | grep -v hidden- | sed 's/name = "\(.*\)"/\1/' | grep '_loom$' | sed 's/^/--test /' | tr '\n' ' ')
# Build first, so that the timed runs below only run.
(cd "$ws" && cargo test -q --no-run --workspace --target-dir ../../target $normal >/dev/null 2>&1 || true)
(cd "$ws" && RUSTFLAGS="--cfg loom" cargo test -q --no-run --workspace --target-dir ../../target $loom >/dev/null 2>&1 || true)
plain_start=$(date +%s.%N)
(cd "$ws" && cargo test -q --workspace --target-dir ../../target $normal >/dev/null 2>&1 || true)
(cd "$ws" && RUSTFLAGS="--cfg loom" cargo test -q --workspace --target-dir ../../target $loom >/dev/null 2>&1 || true)
plain=$(awk "BEGIN { print $(date +%s.%N) - $plain_start }")
# The exercises' workspace is what the cold grade built.
ex=$(ls -d target/grader/exercises/ws)
exnormal=$(grep -h '^name = ' "$ex"/exercises-*/hidden/*/Cargo.toml | grep -v hidden- | sed 's/name = "\(.*\)"/\1/' | grep -v '_loom$' | sed 's/^/--test /' | tr '\n' ' ')
exloom=$(grep -h '^name = ' "$ex"/exercises-*/hidden/*/Cargo.toml | grep -v hidden- | sed 's/name = "\(.*\)"/\1/' | grep '_loom$' | sed 's/^/--test /' | tr '\n' ' ')
rm -rf "$work/plain-target"
build_start=$(date +%s.%N)
(cd "$ex" && cargo build -q --keep-going --workspace --target-dir "$work/plain-target" $exnormal >/dev/null 2>&1 || true)
(cd "$ex" && RUSTFLAGS="--cfg loom" cargo build -q --keep-going --workspace --target-dir "$work/plain-target" $exloom >/dev/null 2>&1 || true)
build=$(awk "BEGIN { print $(date +%s.%N) - $build_start }")
rm -rf "$work/plain-target"
tests=$(grep -c '^          - ' course.yaml || true)
printf '%-58s %8s\n' "what ($(nproc) cores, $tests hidden tests)" "seconds"
printf '%-58s %8.1f\n' "build of the grader itself in a fresh clone" "$grader"
printf '%-58s %8.1f\n' "cold grade of the exercises (grader built; empty target)" "$cold"
printf '%-58s %8.1f\n' "warm regrade, nothing changed" "$warm"
printf '%-58s %8.1f\n' "check race after an edit (solution in place)" "$edit"
printf '%-58s %8.1f\n' "grade of the solutions (warm)" "$sol"
printf '%-58s %8.1f\n' "plain cargo test of the same hidden tests (warm)" "$plain"
printf '%-58s %8.1f\n' "plain cargo build of the cold grade's workspace (both)" "$build"
