#!/usr/bin/env bash
# Writes grader/hidden/timings.json: what each hidden test took for the reference
# solutions (wall and CPU time, from a grade whose builds are done). The run stage orders
# a test that a submission has not run yet by it: the longest first, and those that
# mostly sleep beside those that compute. Without it a cold grade (a fresh clone; every
# grade of a class in CI) runs in plan order, and a long sleeper that comes late holds
# the whole run up. Only the run's wall-clock time depends on it, never a verdict.
# Run it again after adding or changing hidden tests, on an otherwise idle machine.
#   usage: scripts/timings-prior.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# The first grade builds (and runs, in an order that may hold sleepers up); the second
# measures each test with nothing else going on but the tests beside it.
cargo run -q -p grader -- grade --solutions -q >/dev/null
rm -f target/grader/solutions/timings.json
cargo run -q -p grader -- grade --solutions -q >/dev/null
cp target/grader/solutions/timings.json grader/hidden/timings.json
echo "grader/hidden/timings.json: $(grep -c '"wall_ms"' grader/hidden/timings.json) tests"
