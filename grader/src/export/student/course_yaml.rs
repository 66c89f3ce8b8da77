//! The student edition's course.yaml. Written as text rather than serialised, so that it
//! carries the comments that explain it to whoever opens it (the schema, where the visible
//! suites come from, what the grade here leaves out); then read back with the grader's own
//! loader and held to the course, so that a slip in the quoting fails the export rather
//! than a student's first `cargo grader`.

use super::visible::visible_dependencies;
use super::visible_suite_name;
use crate::manifest::{self, Course, Edition, Kata, LimitOverrides};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The student edition's course.yaml, as text with its comments.
pub(super) fn student_manifest(
    course: &Course,
    suites: &BTreeMap<String, (String, Vec<String>)>,
) -> String {
    let mut y = String::from(
        "# The course manifest, student edition: written by `grader export student` from the\n\
         # course's own course.yaml. Every kata in order, with its statement's titles, its hints\n\
         # and its limits. Each kata's one suite is its visible tests: exercises/<kata>/tests/\n\
         # visible.rs, copied to grader/hidden/<kata>/<kata>_visible.rs as graded tests. The\n\
         # course's own grade also runs hidden tests (loom, proptest, process and stress checks),\n\
         # which this repository does not hold: full marks here are not full marks there.\n\
         #\n\
         # Schema (version 1), checked by `grader` on every run:\n\
         #   edition              student: this file (the full course leaves it out)\n\
         #   katas[].id           the crate name; also exercises/<id> and grader/hidden/<id>\n\
         #   katas[].stub         the git blob id of exercises/<id>/src/lib.rs as shipped: a kata still\n\
         #                        at its stub reads \"not started\" (nothing is built), and `grader reset`\n\
         #                        gets the stub back out of this repository's git history\n\
         #   katas[].hints        the hints, level by level (`cargo grader hint <kata>`); hints_zh the\n\
         #                        same in Chinese\n\
         #   katas[].suites[]     one test file each: grader/hidden/<kata>/<name>.rs\n\
         #     checker            loom | prop | proc | stress   (the visible tests run as stress: real\n\
         #                        threads, no loom)\n\
         #     points             points for each test of the suite\n\
         #     tests              every test of the file, in order; the grader checks the list\n\
         #   time_limit_secs      wall-clock limit of one test, course-wide or per kata\n\
         #   limits               resource limits of one test's process, course-wide or per kata\n\
         #\n\
         # To change a visible test, change exercises/<kata>/tests/visible.rs (what `cargo test -p\n\
         # <kata>` runs) and its copy under grader/hidden/ alike, or export the course again.\n",
    );
    let _ = writeln!(y, "schema: {}", course.schema);
    let _ = writeln!(y, "course: {}", scalar(&course.course));
    y += "edition: student\n\n";
    let d = &course.defaults;
    y += "defaults:\n";
    let _ = writeln!(y, "  time_limit_secs: {}", d.time_limit_secs);
    let _ = writeln!(y, "  build_time_limit_secs: {}", d.build_time_limit_secs);
    y += "  limits:\n";
    let l = d.limits;
    let _ = writeln!(y, "    memory_mib: {}", l.memory_mib);
    let _ = writeln!(y, "    processes: {}", l.processes);
    let _ = writeln!(y, "    open_files: {}", l.open_files);
    let _ = writeln!(y, "    file_size_mib: {}", l.file_size_mib);
    let _ = writeln!(y, "    output_kib: {}", l.output_kib);
    if let Some(cpu) = l.cpu_secs {
        let _ = writeln!(y, "    cpu_secs: {cpu}");
    }
    y += "\n# What every kata crate is built with (the grader writes each kata's Cargo.toml).\n";
    write_map(&mut y, "kata_dependencies", &course.kata_dependencies);
    y += "\n# What the visible suites use besides their kata, the facade and the harness.\n";
    write_map(
        &mut y,
        "hidden_dependencies",
        &visible_dependencies(course, suites),
    );
    y += "\nkatas:\n";
    for kata in &course.katas {
        write_kata(&mut y, kata, &suites[&kata.id].1);
    }
    y
}

fn write_map(y: &mut String, key: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        let _ = writeln!(y, "{key}: {{}}");
        return;
    }
    let _ = writeln!(y, "{key}:");
    for (name, value) in map {
        let _ = writeln!(y, "  {}: {}", scalar(name), scalar(value));
    }
}

fn write_kata(y: &mut String, kata: &Kata, tests: &[String]) {
    let _ = writeln!(y, "  - id: {}", scalar(&kata.id));
    let _ = writeln!(y, "    title: {}", scalar(&kata.title));
    let _ = writeln!(y, "    section: {}", scalar(&kata.section));
    if let Some(stub) = &kata.stub {
        let _ = writeln!(y, "    stub: {}", scalar(stub));
    }
    if let Some(secs) = kata.time_limit_secs {
        let _ = writeln!(y, "    time_limit_secs: {secs}");
    }
    let LimitOverrides {
        memory_mib,
        processes,
        open_files,
        file_size_mib,
        output_kib,
        cpu_secs,
    } = kata.limits;
    let limits = [
        ("memory_mib", memory_mib),
        ("processes", processes),
        ("open_files", open_files),
        ("file_size_mib", file_size_mib),
        ("output_kib", output_kib),
        ("cpu_secs", cpu_secs),
    ];
    if limits.iter().any(|(_, v)| v.is_some()) {
        y.push_str("    limits:\n");
        for (key, value) in limits {
            if let Some(value) = value {
                let _ = writeln!(y, "      {key}: {value}");
            }
        }
    }
    for (key, hints) in [("hints", &kata.hints), ("hints_zh", &kata.hints_zh)] {
        if hints.is_empty() {
            continue;
        }
        let _ = writeln!(y, "    {key}:");
        for hint in hints {
            write_text(y, hint);
        }
    }
    y.push_str("    suites:\n");
    let _ = writeln!(y, "      - name: {}", visible_suite_name(&kata.id));
    y.push_str("        checker: stress\n        points: 1\n        tests:\n");
    for test in tests {
        let _ = writeln!(y, "          - {}", scalar(test));
    }
}

/// A list item of prose: folded (`>-`) over lines of about 88 columns where that reads back
/// the same, else one quoted line.
fn write_text(y: &mut String, text: &str) {
    let foldable = !text.is_empty()
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && text.chars().all(|c| !c.is_control());
    if !foldable {
        let _ = writeln!(y, "      - {}", quoted(text));
        return;
    }
    y.push_str("      - >-\n");
    // Break only at a single space between two words: folding joins the lines with one.
    let mut words = text.split(' ');
    let mut line = words.next().unwrap_or_default().to_string();
    for word in words {
        let fits = line.chars().count() + 1 + word.chars().count() <= 80;
        if !fits && !line.ends_with(' ') && !word.is_empty() {
            let _ = writeln!(y, "        {line}");
            line = word.to_string();
        } else {
            line.push(' ');
            line.push_str(word);
        }
    }
    let _ = writeln!(y, "        {line}");
}

/// A YAML scalar: plain when that cannot be read as anything else (a number, a boolean,
/// a mapping, a comment, …), single-quoted when it holds no control character, else
/// double-quoted (JSON's escapes are YAML's).
fn scalar(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
        && !text.ends_with(' ')
        && text
            .chars()
            .all(|c| !c.is_control() && (!c.is_ascii_punctuation() || "_-./(),`".contains(c)))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_string()
    } else if text.chars().all(|c| !c.is_control()) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        quoted(text)
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// Reads the written course.yaml back as the exported grader will, and holds it to what
/// was meant: every kata's fields as the course has them, one visible suite each.
pub(super) fn verify_manifest(
    course: &Course,
    out: &Path,
    suites: &BTreeMap<String, (String, Vec<String>)>,
) -> Result<(), String> {
    let bug = |what: String| {
        format!("the student course.yaml came out wrong ({what}): a grader bug, please report it")
    };
    let written = manifest::load(out).map_err(|e| bug(e.to_string()))?;
    if written.edition != Edition::Student
        || written.course != course.course
        || written.defaults != course.defaults
        || written.kata_dependencies != course.kata_dependencies
        || written.katas.len() != course.katas.len()
    {
        return Err(bug("the course's own fields differ".into()));
    }
    for (mine, theirs) in written.katas.iter().zip(&course.katas) {
        let same = mine.id == theirs.id
            && mine.title == theirs.title
            && mine.section == theirs.section
            && mine.stub == theirs.stub
            && mine.hints == theirs.hints
            && mine.hints_zh == theirs.hints_zh
            && mine.time_limit_secs == theirs.time_limit_secs
            && mine.limits == theirs.limits;
        let suite_ok = mine.suites.len() == 1 && {
            let s = &mine.suites[0];
            s.name == visible_suite_name(&mine.id)
                && s.points == 1
                && s.tests == suites[&mine.id].1
                && crate::plan::check_suite_file(&written.hidden_file(mine, s), s).is_ok()
        };
        if !same || !suite_ok {
            return Err(bug(format!("kata `{}`", theirs.id)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_reads_back_the_same_from_the_yaml_written() {
        let texts = [
            "plain words",
            "a: colon, a # hash, `code: x`, and a line long enough to be folded more than once over, \
             with  two spaces and 'quotes' and \"double quotes\" in it, and - a dash",
            "中文没有空格的很长的一句话，中文没有空格的很长的一句话，中文没有空格的很长的一句话，中文没有空格的很长的一句话",
            " leading space",
            "a newline\nin it",
        ];
        let mut y = String::from("hints:\n");
        for t in texts {
            write_text(&mut y, t);
        }
        #[derive(serde::Deserialize)]
        struct Hints {
            hints: Vec<String>,
        }
        let read: Hints = serde_norway::from_str(
            &y.replace("\n      - ", "\n  - ")
                .replace("\n        ", "\n    "),
        )
        .unwrap();
        assert_eq!(read.hints, texts);
        for t in [
            "Sing and dance",
            "yes",
            "1.5",
            "a: b",
            "it's",
            "#x",
            "多任务的引入",
            "tab\there",
        ] {
            let read: String = serde_norway::from_str(&scalar(t)).unwrap();
            assert_eq!(read, t);
        }
    }
}
