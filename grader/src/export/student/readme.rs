//! The student edition's README.md: how a student works with the katas (the `cargo
//! grader` commands), what the grade in this repository does and does not cover, the
//! rules, the katas in a table, and a word for the instructor who hands it out. Prose on
//! its own, apart from the code that puts the tree together.

use crate::manifest::Course;
use std::fmt::Write as _;

/// The README a student reads first.
pub(super) fn student_readme(course: &Course) -> String {
    let first = &course.katas[0].id;
    let mut r = format!(
        "# {name}\n\n\
         Katas in systems programming, in Rust: processes and fork, pools, queues, races, locks,\n\
         deadlock, ordering threads, producers and consumers, thread-local data, callbacks. Each\n\
         kata is a small crate you edit: `exercises/<kata>/src/lib.rs`. Its statement is\n\
         `exercises/<kata>/README.md` (中文：`README.zh.md`), its visible tests are\n\
         `exercises/<kata>/tests/visible.rs`.\n\n\
         ```sh\n\
         cargo grader watch            # work kata by kata: every save checks the current kata again\n\
         cargo grader grade            # every kata: where you stand, the first failure of each started one\n\
         cargo test -p {first}      # the visible tests of one kata\n\
         cargo grader check {first}    # grade one kata: score, each failure in full\n\
         cargo grader hint {first}     # a hint (then --level 2, …)\n\
         cargo grader list             # every kata: done, started or not started, with its points\n\
         cargo grader reset {first}    # put the stub back (your sources are kept aside; it says where)\n\
         cargo grader doctor           # which walls the grader can raise on this machine\n\
         ```\n\n\
         `cargo grader` is an alias (in `.cargo/config.toml`) for `cargo run -q -p grader --`. The\n\
         first grade of a kata you have started builds its tests (a minute or two the first time,\n\
         for the shared dependencies; later ones reuse it). `cargo test` on its own tests the\n\
         sync facade; the exercises' visible tests fail on the stubs until you solve them.\n\n\
         ## Visible tests here, hidden tests in the course's grade\n\n\
         The grader in this repository grades each kata with its visible tests only, each test in\n\
         its own process, as the course's grader does. Your grade for the course also runs\n\
         hidden tests that this repository does not hold: loom tries every interleaving of your\n\
         threads, proptest hunts for the smallest counterexample, process checks catch a child\n\
         that is never reaped or a descriptor left open, stress tests run real threads by the\n\
         million. Full marks here mean the visible tests pass, not that the hidden ones will: the\n\
         statement's table \"What the tests check\" lists what they check, so read it.\n\n\
         ## Rules\n\n\
         - Take threads, locks, condition variables, atomics and channels from `kata_sync` (the\n\
           sync facade in `sync/`), never from `std::sync`, `std::thread` or parking_lot directly:\n\
           under the course's grader the facade hands out loom's models, which is how every\n\
           interleaving gets tried. A loom-checked kata that bypasses it gets no loom points.\n\
         - No `unsafe`: `fork` and `_exit` come from `kata_sync::process`, everything else from\n\
           nix's safe calls. A kata may use only the facade and the crates its Cargo.toml lists.\n\
         - Every child process ends with `_exit` and is reaped.\n\n\
         ## Katas\n\n\
         | # | kata | title | course section |\n|---|---|---|---|\n",
        name = course.course,
    );
    for (n, kata) in course.katas.iter().enumerate() {
        let _ = writeln!(
            r,
            "| {} | `{}` | {} | {} |",
            n + 1,
            kata.id,
            kata.title,
            kata.section
        );
    }
    r += "\n## 中文\n\n\
          每个练习都是一个小 crate：编辑 `exercises/<练习>/src/lib.rs`，题目在 `README.zh.md`。\n\
          `cargo grader watch` 逐个练习地检查，每次保存都会重新检查；`cargo grader hint <练习>`\n\
          给出提示；`--lang zh` 让评分程序说中文。这里的评分只运行公开测试（tests/visible.rs）；\n\
          课程的正式评分还会运行隐藏测试（loom、proptest、进程检查和压力测试），所以这里拿满分，\n\
          不等于正式评分也拿满分。\n\n\
          ## For the instructor\n\n\
          This repository was written by `grader export student` from the full course. Make it a\n\
          git repository before handing it out (`git init && git add -A && git commit`): `cargo\n\
          grader reset` gets each stub back out of the git history, by the blob id course.yaml\n\
          records. Push it and mark it a template repository, or use it as the starter code of a\n\
          GitHub Classroom assignment. `.github/workflows/classroom.yml` grades each push with the\n\
          hidden tests, from the course's private repository: set the repository (or\n\
          organisation) variable `KATA_COURSE_REPO` and the secret `KATA_COURSE_TOKEN`, as the\n\
          workflow's header says.\n";
    r
}
