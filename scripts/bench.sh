#!/usr/bin/env bash
# Prints how long the grader takes, measured on a fresh clone of this repository:
#   0. the grader's own build in the fresh clone (crates already downloaded);
#   1. fresh: `grader grade` from there, as a student's first grade: every kata is still
#      its stub, so it reads "not started" and nothing is built;
#      cold:  `grader grade --grade-untouched` (the stubs built and run; nothing of the
#      hidden tests built yet)
#   2. warm:  the same grade again, nothing changed
#   3. edit:  `grader check race` after editing exercises/race/src/lib.rs, with the
#      solution in place (every test runs to its end): the median of five edits
#   4. solutions through the grader (warm), and
#   5. the same hidden tests of the solutions run plainly, each in a process of its own, as
#      many at once as there are cores (no walls, no proof channel, no limits), to compare;
#   6. plain `cargo build` of the same generated workspace's tests, both configurations in
#      one call (the loom one is a second set of packages, `katas-loom/` and `hidden-loom/`,
#      as the grader builds it), into an empty target directory: what the cold grade's
#      build costs without the grader (compare with 1);
#   7. then, because cold builds on this machine vary by a fifth from one run to the next,
#      the pair again back to back, three times (the median ratio counts): the plain build into an empty target directory, and
#      right after it the cold grade with target/grader removed (no timings of its own to
#      order the run by: only the reference solutions', grader/hidden/timings.json), with
#      their ratio.
#   usage: scripts/bench.sh [WORKDIR]
set -euo pipefail
started=$(date +%s)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
rm -rf "$work/clone"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; awk "BEGIN { print $(date +%s.%N) - $s }"; }
# The grader is built first, and timed apart: the cold grade then times what the grader
# itself builds and runs.
grader=$(secs cargo build -q -p grader)
fresh=$(secs cargo run -q -p grader -- grade -q)
cold=$(secs cargo run -q -p grader -- grade --grade-untouched -q)
warm=$(secs cargo run -q -p grader -- grade --grade-untouched -q)
# The workspace the cold grade built, every kata in it, kept aside for the plain builds
# (6 and 7): the next grader call (`check race`) stages race alone in the same place.
cp -r target/grader/exercises/ws "$work/cold-ws"
# With the solution in place, so that every test runs to its end (the stub's fail early).
# Five edits; the median counts.
cp solutions/race/src/lib.rs exercises/race/src/lib.rs
secs cargo run -q -p grader -- check race -q >/dev/null
edit=$(for i in 1 2 3 4 5; do
  echo "// an edit" >> exercises/race/src/lib.rs
  secs cargo run -q -p grader -- check race -q
done | sort -n | sed -n 3p)
git checkout -q exercises/race/src/lib.rs
# The first grade of the solutions builds them; the second is the warm figure.
secs cargo run -q -p grader -- grade --solutions -q >/dev/null
sol=$(secs cargo run -q -p grader -- grade --solutions -q)
# The generated workspace of the solutions grade holds every hidden suite.
ws=$(ls -d target/grader/solutions/ws)
# Every suite of both configurations: the test names of the hidden crates and their loom
# twins (package names all start with `hidden-`).
suites() { grep -h '^name = ' "$1"/*/hidden/*/Cargo.toml "$1"/*/hidden-loom/*/Cargo.toml 2>/dev/null | grep -v '"hidden-' | sed 's/name = "\(.*\)"/--test \1/' | tr '\n' ' '; }
all=$(suites "$ws")
# The plain anchor runs each hidden test in a process of its own, as many at once as there
# are cores, in the order cargo lists them: what the grader does without its walls, proof
# channel, limits or ordering. (Plain `cargo test`, many tests in one process, cannot run
# these suites: the process suites fork and count their children, so tests that share a
# process see each other's children and hang or fail; an earlier bench.sh timed that, and
# its figure was of the suites before the first failing one.)
test_binaries() {
  (cd "$ws" && cargo test -q --no-run --workspace --target-dir ../../target --message-format=json "$@" 2>/dev/null) |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        print(m["executable"])'
}
list="$work/plain-tests"
for b in $(test_binaries $all); do
  "$b" --list --format terse 2>/dev/null | sed -n 's/: test$//p' | sed "s|^|$b |"
done > "$list"
plain_start=$(date +%s.%N)
plain_failed=$(xargs -P "$(nproc)" -L 1 sh -c 'cd "${TMPDIR:-/tmp}" && timeout 120 "$0" --exact "$1" --test-threads=1 >/dev/null 2>&1 || echo "$1"' < "$list" | wc -l)
plain=$(awk "BEGIN { print $(date +%s.%N) - $plain_start }")
plain_tests=$(wc -l < "$list")
ex="$work/cold-ws"
exall=$(suites "$ex")
rm -rf "$work/plain-target"
build_start=$(date +%s.%N)
(cd "$ex" && cargo build -q --keep-going --workspace --target-dir "$work/plain-target" $exall >/dev/null 2>&1 || true)
build=$(awk "BEGIN { print $(date +%s.%N) - $build_start }")
rm -rf "$work/plain-target"
# The pair again, back to back, three times, from a copy of the workspace (the grade
# removes its own); the median ratio counts.
cp -r "$ex" "$work/plain-ws"
pairs=""
for i in 1 2 3; do
  build2=$(secs sh -c "cd '$work/plain-ws' && cargo build -q --keep-going --workspace --target-dir '$work/plain-target' $exall")
  rm -rf "$work/plain-target" target/grader
  cold2=$(secs cargo run -q -p grader -- grade --grade-untouched -q)
  pairs="$pairs$(awk "BEGIN { printf \"%.2f %.1f %.1f\", $cold2 / $build2, $build2, $cold2 }")
"
done
rm -rf "$work/plain-ws" "$work/cold-ws"
tests=$(grep -c '^          - ' course.yaml || true)
printf '%-58s %8s\n' "what ($(nproc) cores, $tests hidden tests)" "seconds"
printf '%-58s %8.1f\n' "build of the grader itself in a fresh clone" "$grader"
printf '%-58s %8.2f\n' "fresh clone's grade: 18 katas not started, nothing built" "$fresh"
printf '%-58s %8.1f\n' "cold grade of the stubs, built and run (empty target)" "$cold"
printf '%-58s %8.1f\n' "warm regrade of the stubs, nothing changed" "$warm"
printf '%-58s %8.2f\n' "check race after an edit (solution in place; median of 5)" "$edit"
printf '%-58s %8.1f\n' "grade of the solutions (warm)" "$sol"
printf '%-58s %8.1f\n' "the same $plain_tests tests, a plain process each ($plain_failed failed)" "$plain"
printf '%-58s %8.1f\n' "plain cargo build of the cold grade's workspace (both)" "$build"
echo "the plain build again, then at once the cold grade again, three times:"
printf '%s' "$pairs" | while read -r ratio b c; do
  printf '  %-56s %8s\n' "plain build $b s, cold grade $c s: ratio" "$ratio"
done
printf '%-58s %8s\n' "median ratio" "$(printf '%s' "$pairs" | sort -n | sed -n 2p | cut -d' ' -f1)"
echo "(the whole script: $(( $(date +%s) - started )) s)"
