#!/usr/bin/env bash
# Grades the reference solutions RUNS times (default 10) while HOGS CPU-bound processes
# (default 2) keep every core busy, and shows that every run gives the same verdicts:
# full marks each time, every test passing. A verdict must never depend on how loaded the
# machine is (issue 13); this is the measurement, not a timed test.
#   usage: scripts/determinism-under-load.sh [RUNS] [HOGS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
hogs=${2:-2}
out=$(mktemp -d)
cargo build -q -p grader
# Warm: the build is not what is measured.
target/debug/grader grade --solutions -q --json "$out/warm.json" >/dev/null || true

pids=()
for _ in $(seq 1 "$hogs"); do
  sh -c 'while :; do :; done' &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  target/debug/grader grade --solutions -q --json "$out/run-$i.json" >"$out/run-$i.txt" || true
  # Every test's verdict, in course order: a digest that differs names a run that differs.
  python3 - "$out/run-$i.json" >"$out/verdicts-$i.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"total {r['points']}/{r['max']}")
for t in r["tests"]:
    print(t["kata"], t["name"], t["status"])
EOF
  slowest=$(python3 -c "import json,sys; r=json.load(open('$out/run-$i.json')); t=max(r['tests'], key=lambda t: t['duration_ms']); print(f\"{t['kata']} {t['name']} {t['duration_ms']} ms of {t['time_limit_secs']} s\")")
  echo "run $i: $(head -1 "$out/verdicts-$i.txt") in $(( $(date +%s) - start ))s, $(md5sum <"$out/verdicts-$i.txt" | cut -c1-8); slowest test: $slowest"
done

same=yes
for i in $(seq 2 "$runs"); do cmp -s "$out/verdicts-1.txt" "$out/verdicts-$i.txt" || same=no; done
full=yes
for i in $(seq 1 "$runs"); do grep -q ' pass$' "$out/verdicts-$i.txt" && ! grep -qv -e ' pass$' -e '^total' "$out/verdicts-$i.txt" || full=no; done
echo "with $hogs CPU hogs: all $runs runs gave the same verdicts: $same; every run full marks: $full (reports in $out)"
[ "$same" = yes ] && [ "$full" = yes ]
