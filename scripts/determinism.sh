#!/usr/bin/env bash
# Grades the reference solutions, the stubs and every mutant RUNS times in a row (default
# 20) and shows that every run gives the same scores: each run prints one line per grade
# ("solutions 337/337", "stubs 0/337", "mutants-0 race=9/17 …"), and the script compares
# them.
# Each run also asserts the exact verdicts (tests/grading.rs), not only the totals.
#   usage: scripts/determinism.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
out=$(mktemp -d)
cargo test -q --test grading --no-run >/dev/null 2>&1
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if KATA_PRINT_SCORES=1 cargo test -q --test grading -- --nocapture --test-threads 1 >"$out/run-$i.log" 2>&1; then verdict=ok; else verdict=FAILED; fi
  # (-o: libtest may print its "test … " prefix on the same line)
  grep -o 'score .*' "$out/run-$i.log" | sort >"$out/scores-$i.txt" || true
  echo "run $i: $verdict in $(( $(date +%s) - start ))s: $(grep -c . "$out/scores-$i.txt") grades, $(md5sum <"$out/scores-$i.txt" | cut -c1-8)"
done
same=yes
for i in $(seq 2 "$runs"); do cmp -s "$out/scores-1.txt" "$out/scores-$i.txt" || same=no; done
echo "scores of run 1:"; sed 's/^/  /' "$out/scores-1.txt"
echo "all $runs runs gave the same scores: $same (logs in $out)"
[ "$same" = yes ] && ! grep -l FAILED "$out"/run-*.log >/dev/null
