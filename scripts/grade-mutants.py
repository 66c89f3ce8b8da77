#!/usr/bin/env python3
"""Grades a directory of candidate mutants, in rounds, and says which lost points.

    scripts/grade-mutants.py DIR [--kata K ...] [--json OUT] [--check]

DIR holds one directory per kata, each with whole `lib.rs` files (`DIR/<kata>/<name>.rs`):
blind mutants before they join tests/mutants/, say. Round N grades the N-th file of every
kata in one submission tree (`grader grade --path`), so a round costs one build. For each
file it prints the points it got and the hidden tests it failed: a mutant that keeps full
marks is a bug the hidden tests miss. With --check (for tests/mutants/), each file's
`//! expect-fail:` header must name exactly the tests it failed, apart from those its
`//! may-fail:` line names, as `cargo test --test grading` demands; the exit status is 1 if
one does not.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--kata", action="append", default=[])
    parser.add_argument("--json")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    mutants = {}
    for kata in sorted(os.listdir(args.dir)):
        path = os.path.join(args.dir, kata)
        if not os.path.isdir(path) or (args.kata and kata not in args.kata):
            continue
        files = sorted(f for f in os.listdir(path) if f.endswith(".rs"))
        if files:
            mutants[kata] = [os.path.join(path, f) for f in files]
    rounds = max((len(v) for v in mutants.values()), default=0)
    grader = [os.environ.get("CARGO", "cargo"), "run", "-q", "-p", "grader", "--"]
    results = []
    work = tempfile.mkdtemp(prefix="grade-mutants-")
    for r in range(rounds):
        tree = os.path.join(work, f"round-{r}")
        katas = []
        for kata, files in mutants.items():
            if r < len(files):
                os.makedirs(os.path.join(tree, kata, "src"), exist_ok=True)
                shutil.copy(files[r], os.path.join(tree, kata, "src", "lib.rs"))
                katas.append(kata)
        report = os.path.join(work, f"round-{r}.json")
        cmd = grader + ["grade", "--path", tree, "-q", "--json", report,
                        "--work-dir", os.path.join(ROOT, "target", "grader", "mutant-rounds")]
        for kata in katas:
            cmd += ["--kata", kata]
        began = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
        took = time.monotonic() - began
        if done.returncode not in (0, 1):
            print(f"round {r}: the grader failed (exit {done.returncode})", file=sys.stderr)
            sys.exit(2)
        with open(report) as f:
            graded = json.load(f)
        # Where a round's time goes: tests that ran for seconds are hangs waited out (or
        # sleeps), which the hang watch could not see.
        slow = sorted((t for t in graded["tests"] if t.get("duration_ms", 0) >= 2000),
                      key=lambda t: -t["duration_ms"])
        print(f"round {r}: {took:.0f} s, {len(katas)} katas; tests of 2 s or more: "
              + (", ".join(f"{t['name']} {t['status']} {t['duration_ms'] / 1000:.1f}s"
                           for t in slow) or "none"), flush=True)
        for kata in katas:
            k = next(k for k in graded["katas"] if k["id"] == kata)
            failed = [t for t in graded["tests"] if t["kata"] == kata and t["status"] != "pass"]
            entry = {
                "kata": kata,
                "mutant": os.path.basename(mutants[kata][r])[:-3],
                "points": k["points"],
                "max": k["max"],
                "caught": k["points"] < k["max"],
                "failed": [f"{t['name']} ({t['status']})" for t in failed],
            }
            results.append(entry)
            mark = "caught" if entry["caught"] else "MISSED"
            if args.check:
                def header(prefix):
                    line = next((l.split(":", 1)[1] for l in open(mutants[kata][r])
                                 if l.startswith(prefix)), "")
                    return {t.strip() for t in line.split(",") if t.strip()}
                expected = header("//! expect-fail:")
                maybe = header("//! may-fail:")
                got = {t["name"] for t in failed}
                entry["expected"] = sorted(expected)
                if not expected <= got or not got <= expected | maybe:
                    mark = "WRONG"
                    entry["wrong"] = {"unexpected": sorted(got - expected - maybe),
                                      "missing": sorted(expected - got)}
                    print(f"  {kata}/{entry['mutant']}: fails {sorted(got - expected)} it should pass, "
                          f"passes {sorted(expected - got)} it should fail", flush=True)
            print(f"{mark:7} {kata:18} {entry['mutant']:40} {k['points']:>3}/{k['max']:<3} "
                  + ", ".join(entry["failed"]), flush=True)
    caught = sum(e["caught"] for e in results)
    print(f"\n{caught} of {len(results)} mutants lost points")
    wrong = [e for e in results if "wrong" in e]
    if args.check:
        print(f"{len(wrong)} mutants failed other tests than their header names")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    if args.check and wrong:
        sys.exit(1)


if __name__ == "__main__":
    main()
