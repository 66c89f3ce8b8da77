//! The similarity of real reference solutions against disguised copies of themselves,
//! against their mutants (near-copies) and against independent implementations written
//! for these tests (`fixtures/`).

use super::*;
use crate::source::lexer::Token;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn katas() -> Vec<String> {
    let mut katas: Vec<String> = std::fs::read_dir(root().join("solutions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|k| {
            root()
                .join("solutions")
                .join(k)
                .join("src/lib.rs")
                .is_file()
        })
        .collect();
    katas.sort();
    katas
}

fn solution(kata: &str) -> String {
    std::fs::read_to_string(root().join("solutions").join(kata).join("src/lib.rs")).unwrap()
}

fn stub(kata: &str) -> String {
    std::fs::read_to_string(root().join("exercises").join(kata).join("src/lib.rs")).unwrap()
}

/// (name, text) of every mutant of `kata`, in name order.
fn mutants(kata: &str) -> Vec<(String, String)> {
    let dir = root().join("tests/mutants").join(kata);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The similarity of `a` and `b`, `None` when either is too small to judge.
fn similarity(stub: Option<&str>, a: &str, b: &str) -> Option<f64> {
    let sources = [
        ("a".to_string(), a.to_string()),
        ("b".to_string(), b.to_string()),
    ];
    score_all(stub, &sources, &Options::default())
        .first()
        .map(|&(_, _, s)| s)
}

/// A small deterministic pseudo-random source (an LCG), for the disguises.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % sides
    }
}

/// The names `tokens` defines itself: after `let`, `mut`, `fn`, `struct`, `enum`, `trait`,
/// `type`, `const`, `static`, `for`, in a closure's `|…|`, and before a single `:`
/// (fields, parameters). API names are left alone: renaming `lock` would rename
/// `Mutex::lock` too, which no plagiarist can do.
fn defined_names(tokens: &[Token]) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_closure = false;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct('|') {
            // `|a, b|` opens after `(`, `=`, `,` or `move`; `||` is no parameter list.
            let prev = i.checked_sub(1).map(|p| &tokens[p]);
            in_closure = !in_closure
                && prev.is_some_and(|p| {
                    p.is_punct('(') || p.is_punct('=') || p.is_punct(',') || p.is_keyword("move")
                });
            continue;
        }
        if !matches!(t.kind, Kind::Ident { .. })
            || is_keyword(&t.text)
            || API.binary_search(&t.text.as_str()).is_ok()
        {
            continue;
        }
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let after_definer = prev.is_some_and(|p| {
            [
                "let", "mut", "fn", "struct", "enum", "trait", "type", "const", "static", "for",
            ]
            .iter()
            .any(|k| p.is_keyword(k))
        });
        let before_colon = tokens.get(i + 1).is_some_and(|n| n.is_punct(':'))
            && !tokens.get(i + 2).is_some_and(|n| n.is_punct(':'))
            && !prev.is_some_and(|p| p.is_punct(':'));
        if (after_definer || before_colon || in_closure) && !names.contains(&t.text) {
            names.push(t.text.clone());
        }
    }
    names
}

/// `text` as a plagiarist might hand it in: every name it defines renamed, its comments
/// gone and others added, and laid out anew (lines joined and split, indentation
/// changed).
fn disguise(text: &str, seed: u64) -> String {
    disguise_with(text, seed, false)
}

/// [`disguise`], and with `dead_code` a useless statement put in after one statement in
/// ten.
fn disguise_with(text: &str, seed: u64, dead_code: bool) -> String {
    let tokens = lexer::tokenize(text);
    let names = defined_names(&tokens);
    assert!(names.len() >= 3, "too few names to rename: {names:?}");
    let mut dice = Dice(seed);
    let mut out = String::new();
    let mut prev_punct = true;
    for t in &tokens {
        let word = match &t.kind {
            Kind::Ident { raw } => match names.iter().position(|n| *n == t.text) {
                Some(at) => format!("renamed_{seed}_{at}"),
                None if *raw => format!("r#{}", t.text),
                None => t.text.clone(),
            },
            _ => t.text.clone(),
        };
        let punct = matches!(t.kind, Kind::Punct(_));
        if !(punct && prev_punct) {
            out.push(' ');
        }
        out.push_str(&word);
        prev_punct = punct;
        if dead_code && t.is_punct(';') && dice.roll(10) == 0 {
            out.push_str(" let _unused = 0;");
        }
        if t.is_punct(';') || t.is_punct('{') || t.is_punct('}') {
            match dice.roll(6) {
                0 => out.push_str(" /* what this does */\n"),
                1 => out.push_str("\n// another step\n  "),
                2 | 3 => {
                    out.push('\n');
                    out.push_str(&" ".repeat(dice.roll(12) as usize));
                }
                _ => {} // joined with the next line
            }
            prev_punct = true;
        }
    }
    out.push('\n');
    out
}

/// `text` with its comments gone and its layout changed, its names kept.
fn reformat(text: &str) -> String {
    let mut out = String::new();
    for t in lexer::tokenize(text) {
        out.push_str(&t.text);
        out.push_str(if t.is_punct(';') { "\n\t" } else { " " });
    }
    out
}

/// `text`'s top-level items (functions, types, impls) in the reverse order.
fn reorder(text: &str) -> String {
    let tokens = lexer::tokenize(text);
    let mut items: Vec<String> = Vec::new();
    let mut item = String::new();
    let mut depth = 0i32;
    for t in &tokens {
        let word = match t.kind {
            Kind::Ident { raw: true } => format!("r#{}", t.text),
            _ => t.text.clone(),
        };
        item.push_str(&word);
        item.push(' ');
        if t.is_punct('{') || t.is_punct('(') || t.is_punct('[') {
            depth += 1;
        }
        if t.is_punct('}') || t.is_punct(')') || t.is_punct(']') {
            depth -= 1;
        }
        if depth == 0 && (t.is_punct('}') || t.is_punct(';')) {
            items.push(std::mem::take(&mut item));
        }
    }
    items.push(item);
    assert!(items.len() >= 4, "too few items to reorder");
    items.reverse();
    items.join("\n\n")
}

#[test]
fn api_names_are_sorted_for_binary_search() {
    assert!(API.windows(2).all(|w| w[0] < w[1]), "API is not sorted");
}

#[test]
fn names_comments_and_layout_do_not_matter() {
    let a = "fn total(xs: &[u64]) -> u64 { let mut sum = 0; for x in xs { sum += x; } sum }";
    let b = "// sums\nfn add_up(values: &[u64]) -> u64 {\n    /* start */ let mut acc = 0;\n    for v in values {\n        acc += v;\n    }\n    acc\n}\n";
    assert_eq!(normalise(a), normalise(b));
    // API names and literals' kinds are kept.
    assert_ne!(normalise("x.lock()"), normalise("x.load()"));
    assert_ne!(normalise("f(1)"), normalise("f('1')"));
    assert_ne!(normalise("f(1)"), normalise("f(\"1\")"));
    assert_eq!(normalise("f(1)"), normalise("g(2)"));
    // `use` lines and trailing commas are formatting.
    assert_eq!(
        normalise("use a::{b, c};\nfn f() { g(1, 2,); }"),
        normalise("use a::c;\nuse a::b;\nfn f() { g(1, 2); }"),
    );
}

#[test]
fn disguised_copies_of_every_solution_stay_similar() {
    let mut judged = 0;
    let mut lowest = 1.0f64;
    for kata in katas() {
        let original = solution(&kata);
        let stub = stub(&kata);
        for seed in 1..=3 {
            let copy = disguise(&original, seed);
            assert_ne!(copy, original);
            let Some(s) = similarity(Some(&stub), &original, &copy) else {
                continue;
            };
            judged += 1;
            lowest = lowest.min(s);
            assert!(s >= 0.9, "{kata}: a disguised copy is only {s:.3} similar");
        }
    }
    // The solutions that only fill in a stub's few TODOs are too small to judge; most
    // are not.
    println!("{judged} disguised copies judged, the least similar {lowest:.3}");
    assert!(judged >= 3 * 12, "only {judged} copies could be judged");
}

#[test]
fn dead_statements_strewn_in_do_not_hide_a_copy() {
    let mut lowest = 1.0f64;
    for kata in katas() {
        let original = solution(&kata);
        for seed in 1..=3 {
            let copy = disguise_with(&original, seed, true);
            if let Some(s) = similarity(Some(&stub(&kata)), &original, &copy) {
                lowest = lowest.min(s);
                assert!(s >= DEFAULT_THRESHOLD, "{kata}: {s:.3}");
            }
        }
    }
    println!("disguised with dead statements: the least similar {lowest:.3}");
}

#[test]
fn a_copy_differing_only_in_comments_and_layout_scores_exactly_one() {
    let original = solution("lock");
    let copy = reformat(&original);
    assert_ne!(copy, original);
    let pairs = similar_pairs(
        "lock",
        Some(&stub("lock")),
        &[("x".into(), copy), ("y".into(), original)],
        0.0,
    );
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].similarity, 1.0);
}

#[test]
fn padding_does_not_hide_a_copy() {
    // A copy with a whole other kata's code added as dead weight: containment stays 1.0
    // where Jaccard would be about halved.
    let original = solution("blocking_queue");
    let padded = format!(
        "{}\n{}",
        disguise(&original, 11),
        solution("producer_consumer")
    );
    let s = similarity(Some(&stub("blocking_queue")), &original, &padded).unwrap();
    assert!(s >= 0.9, "padded copy only {s:.3} similar");
}

#[test]
fn reordered_functions_stay_similar() {
    let mut judged = 0;
    for kata in katas() {
        let original = solution(&kata);
        let moved = reorder(&original);
        let Some(s) = similarity(Some(&stub(&kata)), &original, &moved) else {
            continue;
        };
        judged += 1;
        assert!(s >= 0.9, "{kata}: reordered, only {s:.3} similar");
        // Renamed and laid out anew as well.
        let s = similarity(Some(&stub(&kata)), &original, &disguise(&moved, 7)).unwrap();
        assert!(
            s >= 0.85,
            "{kata}: reordered and disguised, only {s:.3} similar"
        );
    }
    assert!(judged >= 12, "only {judged} could be judged");
}

/// Implementations of `kata` written apart from its solution: (name, text). The first
/// of each kata has a design of its own; the second, if any, the solution's design.
fn independent(kata: &str) -> Vec<(&'static str, &'static str)> {
    match kata {
        "race" => vec![("race_mutex", include_str!("fixtures/race_mutex.rs"))],
        "lock" => vec![
            ("lock_atomic", include_str!("fixtures/lock_atomic.rs")),
            ("lock_flag", include_str!("fixtures/lock_flag.rs")),
        ],
        "ordered_tasks" => vec![
            (
                "ordered_tasks_gates",
                include_str!("fixtures/ordered_tasks_gates.rs"),
            ),
            (
                "ordered_tasks_turn",
                include_str!("fixtures/ordered_tasks_turn.rs"),
            ),
        ],
        _ => Vec::new(),
    }
}

#[test]
fn independent_implementations_are_not_flagged() {
    let mut judged = 0;
    for kata in ["race", "lock", "ordered_tasks"] {
        let stub = stub(kata);
        let fixtures = independent(kata);
        let mut sources: Vec<(String, String)> = fixtures
            .iter()
            .map(|&(name, text)| (name.to_string(), text.to_string()))
            .collect();
        sources.push(("solution".into(), solution(kata)));
        sources.push(("disguised_solution".into(), disguise(&solution(kata), 3)));
        let scored = score_all(Some(&stub), &sources, &Options::default());
        for (i, j, s) in scored {
            if sources[i].0.ends_with("solution") && sources[j].0.ends_with("solution") {
                assert!(s >= 0.9, "{kata}: the disguised solution is {s:.3}");
                continue;
            }
            judged += 1;
            assert!(
                s < DEFAULT_THRESHOLD,
                "{kata}: {} and {} are {s:.3} similar",
                sources[i].0,
                sources[j].0
            );
        }
        // Without the stub to discount, still apart.
        for (name, text) in fixtures {
            let s = similarity(None, &solution(kata), text).unwrap();
            assert!(
                s < DEFAULT_THRESHOLD,
                "{kata}: {name}: {s:.3} without the stub"
            );
        }
    }
    // `race` leaves too little to write to judge anyone: its fixture is never judged.
    assert!(judged >= 8, "only {judged} pairs judged");
}

#[test]
fn the_stub_and_small_changes_to_it_are_not_flagged() {
    for kata in katas() {
        let stub = stub(&kata);
        // Two students who have not started, one who has changed one line, and one who
        // changed the same line the same way.
        let small = stub.replacen("{", "{ let _started = 1; ", 2);
        let sources = [
            ("a".to_string(), stub.clone()),
            ("b".to_string(), stub.clone()),
            ("c".to_string(), small.clone()),
            ("d".to_string(), small),
        ];
        let pairs = similar_pairs(&kata, Some(&stub), &sources, 0.0);
        assert!(pairs.is_empty(), "{kata}: {pairs:?}");
    }
}

#[test]
fn output_is_deterministic_and_sorted() {
    let kata = "blocking_queue";
    let mut sources: Vec<(String, String)> = mutants(kata);
    sources.push(("zz_solution".into(), solution(kata)));
    sources.push(("aa_disguised".into(), disguise(&solution(kata), 5)));
    sources.push(("mm_reformatted".into(), reformat(&solution(kata))));
    let stub = stub(kata);
    let first = similar_pairs(kata, Some(&stub), &sources, 0.0);
    assert!(first.len() > 10);
    sources.reverse();
    let again = similar_pairs(kata, Some(&stub), &sources, 0.0);
    assert_eq!(first, again);
    for w in first.windows(2) {
        assert!(
            w[0].similarity > w[1].similarity
                || (w[0].similarity == w[1].similarity && (&w[0].a, &w[0].b) < (&w[1].a, &w[1].b))
        );
    }
    assert!(first.iter().all(|p| p.a < p.b && p.kata == kata));
    assert!(first.iter().all(|p| (0.0..=1.0).contains(&p.similarity)));
    // The threshold only cuts the list.
    let cut = similar_pairs(kata, Some(&stub), &sources, 0.95);
    let expected: Vec<Pair> = first
        .iter()
        .filter(|p| p.similarity >= 0.95)
        .cloned()
        .collect();
    assert_eq!(cut, expected);
    // The untouched solution and its reformatted copy are the same after normalising.
    let top = first
        .iter()
        .find(|p| p.a == "mm_reformatted" && p.b == "zz_solution")
        .unwrap();
    assert_eq!(top.similarity, 1.0);
}

/// The evidence for [`DEFAULT_THRESHOLD`]: every kata's solution against its mutants
/// (near-copies with one bug put in: high), the mutants against each other (two bugs
/// apart: mostly high, though where a stub leaves little to write both mutants may have
/// rewritten all of it) and the independent implementations against all of them (low).
/// Run with `--nocapture` to see the figures.
#[test]
fn similar_figures_support_the_default_threshold() {
    fn summary(what: &str, figures: &mut [f64]) {
        figures.sort_by(f64::total_cmp);
        let below = |t: f64| figures.iter().filter(|&&s| s < t).count();
        println!(
            "{what}: {} pairs judged, min {:.3}, 10th percentile {:.3}, median {:.3}, max {:.3}; below 0.5: {}, 0.6: {}, 0.7: {}, {DEFAULT_THRESHOLD}: {}",
            figures.len(),
            figures[0],
            figures[figures.len() / 10],
            figures[figures.len() / 2],
            figures[figures.len() - 1],
            below(0.5),
            below(0.6),
            below(0.7),
            below(DEFAULT_THRESHOLD),
        );
    }
    let (mut copies, mut siblings, mut apart) = (Vec::new(), Vec::new(), Vec::new());
    let mut too_small = 0;
    for kata in katas() {
        let stub = stub(&kata);
        let mut sources = mutants(&kata);
        sources.push(("solution".into(), solution(&kata)));
        let n = sources.len();
        let scored = score_all(Some(&stub), &sources, &Options::default());
        too_small += n * (n - 1) / 2 - scored.len();
        let mut mine = Vec::new();
        for &(i, j, s) in &scored {
            if sources[j].0 == "solution" {
                mine.push(s);
                if s < DEFAULT_THRESHOLD {
                    println!("    {kata}: mutant {} is {s:.3} similar", sources[i].0);
                }
            } else {
                siblings.push(s);
            }
        }
        let lowest = mine.iter().copied().fold(f64::NAN, f64::min);
        let mut line = format!(
            "{kata:18} solution vs {:2} mutants: {} judged, lowest {lowest:.3}",
            n - 1,
            mine.len()
        );
        copies.extend(mine);
        for (name, other) in independent(&kata) {
            let figures: Vec<f64> = sources
                .iter()
                .filter_map(|(_, text)| similarity(Some(&stub), text, other))
                .collect();
            line += &format!(
                "\n{:18} {name} vs solution {:.3}, vs its mutants at most {:.3}",
                "",
                similarity(Some(&stub), &solution(&kata), other).unwrap_or(f64::NAN),
                figures.iter().copied().fold(0.0, f64::max)
            );
            apart.extend(figures);
        }
        println!("{line}");
    }
    summary("solution vs its mutants", &mut copies);
    summary("mutant vs mutant", &mut siblings);
    summary("independent implementations", &mut apart);
    println!("pairs too small to judge: {too_small}");
    assert!(apart.len() >= 20);
    assert!(apart.iter().all(|&s| s < DEFAULT_THRESHOLD));
    assert!(copies.len() >= 200);
    let below = copies.iter().filter(|&&s| s < DEFAULT_THRESHOLD).count();
    assert!(
        below * 10 <= copies.len(),
        "{below} of {} mutants below the threshold",
        copies.len()
    );
}

/// 100 submissions of every kata (disguised solutions and mutants): the whole class in
/// well under a second or two, even in a debug build.
#[test]
fn a_class_of_a_hundred_is_quick() {
    let mut classes = Vec::new();
    for kata in katas() {
        let mut pool = mutants(&kata);
        pool.push(("solution".into(), solution(&kata)));
        let sources: Vec<(String, String)> = (0..100)
            .map(|i| {
                let (_, text) = &pool[i % pool.len()];
                let text = if i % 2 == 0 {
                    disguise(text, i as u64)
                } else {
                    text.clone()
                };
                (format!("student{i:03}"), text)
            })
            .collect();
        classes.push((kata.clone(), stub(&kata), sources));
    }
    let began = std::time::Instant::now();
    let mut flagged = 0;
    for (kata, stub, sources) in &classes {
        flagged += similar_pairs(kata, Some(stub), sources, DEFAULT_THRESHOLD).len();
    }
    let took = began.elapsed();
    println!(
        "{} katas x 100 submissions: {} ms, {flagged} pairs flagged",
        classes.len(),
        took.as_millis()
    );
    assert!(flagged > 0);
    // About 0.4 s of CPU in release, 4 to 5 s in a debug build on a busy machine.
    assert!(took.as_secs_f64() < 30.0, "took {took:?}");
}
