#!/usr/bin/env python3
"""Writes a hidden suite's test list into course.yaml, from the suite file itself.

    scripts/sync-suite.py KATA SUITE                     # the suite exists in course.yaml
    scripts/sync-suite.py KATA SUITE --checker loom --points 2 [--time-limit 60]
                                                         # add the suite to the kata

The suite file (grader/hidden/KATA/SUITE.rs) is the source of truth: its `hidden_test!`
names, in file order, become the suite's `tests:` list (the grader refuses a course.yaml
that disagrees with the file). The edit is made under a lock on course.yaml, so that
several authors' edits of different katas do not overwrite one another.
"""

import argparse
import fcntl
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "course.yaml")


def strip_comments_and_strings(text):
    out, i = [], 0
    while i < len(text):
        if text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            depth = 0
            while i < len(text):
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                    if depth == 0:
                        break
                else:
                    i += 1
        elif text[i] == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def declared_tests(path):
    code = strip_comments_and_strings(open(path).read())
    names = []
    for m in re.finditer(r"\bhidden_test\s*!\s*\{", code):
        fn = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)").search(code, m.end())
        if fn:
            names.append(fn.group(1))
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kata")
    parser.add_argument("suite")
    parser.add_argument("--checker", choices=["loom", "prop", "proc", "stress"])
    parser.add_argument("--points", type=int)
    parser.add_argument("--time-limit", type=int)
    args = parser.parse_args()

    suite_file = os.path.join(ROOT, "grader", "hidden", args.kata, args.suite + ".rs")
    tests = declared_tests(suite_file)
    if not tests:
        sys.exit(f"{suite_file} declares no hidden_test!")
    with open(MANIFEST, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        lines = f.read().split("\n")
        start = next((i for i, l in enumerate(lines) if l.strip() == f"- id: {args.kata}"), None)
        if start is None:
            sys.exit(f"course.yaml has no kata `{args.kata}`")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id: ")), len(lines))
        suite = next((i for i in range(start, end) if lines[i].strip() == f"- name: {args.suite}"), None)
        if suite is None:
            if not (args.checker and args.points):
                sys.exit(f"course.yaml has no suite `{args.suite}` under `{args.kata}`: give --checker and --points to add it")
            while end > start and lines[end - 1].strip() == "":
                end -= 1
            block = [f"      - name: {args.suite}", f"        checker: {args.checker}", f"        points: {args.points}"]
            if args.time_limit:
                block.append(f"        time_limit_secs: {args.time_limit}")
            block.append("        tests:")
            block += [f"          - {t}" for t in tests]
            lines[end:end] = block
        else:
            tests_at = next(i for i in range(suite, end) if lines[i].strip() == "tests:")
            last = tests_at + 1
            while last < end and lines[last].startswith("          - "):
                last += 1
            lines[tests_at + 1:last] = [f"          - {t}" for t in tests]
        f.seek(0)
        f.write("\n".join(lines))
        f.truncate()
    print(f"{args.kata}/{args.suite}: {len(tests)} tests written to course.yaml")


if __name__ == "__main__":
    main()
