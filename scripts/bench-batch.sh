#!/usr/bin/env bash
# Grades a made-up class with `grader batch` and prints what it cost: the whole run, the
# first submission (it warms the build), and the median and slowest of the others; then a
# re-run with nothing changed.
#   usage: scripts/bench-batch.sh [STUDENTS]      (default 30)
# The class is made from the course itself, a third each of:
#   done:    every kata's reference solution;
#   half:    the first nine katas solved, the others still the stub (not started: no build);
#   mutant:  every kata solved except one, which is a known-wrong mutant (a different kata
#            for each student).
# Every started file gets a line naming its student, so no two students share a source
# and every started kata is built again for each of them, as in a real class.
set -euo pipefail
students=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo"
cargo build -q -p grader
python3 - "$repo" "$work/class" "$students" <<'EOF'
import os, shutil, sys
repo, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
katas = [l.split(': ', 1)[1].strip() for l in open(os.path.join(repo, 'course.yaml'))
         if l.startswith('  - id: ')]
mutants = {k: sorted(os.listdir(os.path.join(repo, 'tests/mutants', k)))
           for k in katas if os.path.isdir(os.path.join(repo, 'tests/mutants', k))}
with_mutants = [k for k in katas if mutants.get(k)]
for s in range(n):
    name = f'student{s + 1:03}'
    kind = ('done', 'half', 'mutant')[s % 3]
    for i, k in enumerate(katas):
        src = os.path.join(repo, 'solutions', k, 'src', 'lib.rs')
        if kind == 'half' and i >= 9:
            src = os.path.join(repo, 'exercises', k, 'src', 'lib.rs')
        if kind == 'mutant' and k == with_mutants[(s // 3) % len(with_mutants)]:
            m = mutants[k]
            src = os.path.join(repo, 'tests/mutants', k, m[(s // 3) % len(m)])
        dst = os.path.join(out, name, 'exercises', k, 'src')
        os.makedirs(dst, exist_ok=True)
        text = open(src).read()
        if not src.startswith(os.path.join(repo, 'exercises')):
            text += f'\n// {name}\n'
        open(os.path.join(dst, 'lib.rs'), 'w').write(text)
EOF
grader() { "$repo/target/debug/grader" --course "$repo" "$@"; }
start=$(date +%s.%N)
grader batch "$work/class" --out "$work/out" -q > "$work/summary.txt" || true
total=$(awk "BEGIN { print $(date +%s.%N) - $start }")
start=$(date +%s.%N)
grader batch "$work/class" --out "$work/out" -q > /dev/null || true
again=$(awk "BEGIN { print $(date +%s.%N) - $start }")
cat "$work/summary.txt"
python3 - "$work/out" "$total" "$again" <<'EOF'
import json, os, sys
out, total, again = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
names = sorted(os.listdir(os.path.join(out, 'students')))
secs = [json.load(open(os.path.join(out, 'students', n, 'outcome.json')))['seconds'] for n in names]
rest = sorted(secs[1:])
median = rest[len(rest) // 2] if rest else 0
print(f'students:                         {len(names)}')
print(f'whole batch:                      {total:.0f} s')
print(f'first submission (warms):         {secs[0]:.1f} s')
print(f'each after the first, median:     {median:.1f} s (slowest {max(rest or [0]):.1f} s)')
print(f'all after the first, mean:        {sum(rest) / max(len(rest), 1):.1f} s')
for i, kind in enumerate(('done', 'half', 'mutant')):
    mine = sorted(secs[j] for j in range(1, len(secs)) if j % 3 == i)
    if mine:
        print(f'  {kind + ":":8} median {mine[len(mine) // 2]:.1f} s over {len(mine)}')
print(f're-run, nothing changed:          {again:.1f} s')
EOF
