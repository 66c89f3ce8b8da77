//! A kata's visible tests as a suite the grader can grade: each top-level `#[test] fn`
//! wrapped in `hidden_test!`, as a hidden suite's tests are, so that a pass is proved the
//! same way. The one part of the export that reads Rust: it finds each test's end with the
//! grader's own lexer (braces in strings and comments do not count), refuses with its line
//! a layout it cannot read, and reads what it wrote back as the grader will. It also says
//! which of the course's dependencies those tests name, for the student course.yaml.

use crate::manifest::Course;
use crate::source::lexer::{tokenize, Kind, Token};
use std::collections::BTreeMap;

/// The visible tests of `text` (`file` names it in errors) as a graded suite: each
/// top-level `#[test] fn name() { … }` becomes `hidden_test! { fn name() { … } }`, its doc
/// comments and other attributes kept inside. Returns the suite's text and its test names
/// in order. Each function's end is found with the grader's lexer (so braces in strings
/// and comments do not count); the text is otherwise kept line for line.
pub fn visible_suite(text: &str, file: &str) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize(text);
    let lines: Vec<&str> = text.lines().collect();
    let layout = |line: usize, what: &str| {
        format!(
            "{file}:{line}: {what}; the export reads a visible test as `#[test] fn name() {{ … }}` \
             at the top level, with `#[test]` on its own line and the closing brace on its own \
             (rustfmt's layout)"
        )
    };
    // Lines that begin inside a string literal keep their exact text.
    let mut in_string = vec![false; lines.len() + 2];
    for t in &tokens {
        if matches!(t.kind, Kind::Str { .. }) {
            let more = t.text.matches('\n').count();
            let within = t.line + 1..=(t.line + more).min(lines.len()).max(t.line);
            in_string[within].iter_mut().for_each(|l| *l = true);
        }
    }
    struct Test {
        /// The first line of the item: its first doc comment or attribute.
        first: usize,
        /// The `#[test]` line, dropped (the macro adds its own).
        attribute: usize,
        last: usize,
        name: String,
    }
    let mut tests: Vec<Test> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_punct('{') {
            depth += 1;
        } else if t.is_punct('}') {
            depth -= 1;
        } else if is_test_attribute(&tokens, i) {
            let line = t.line;
            if depth != 0 {
                return Err(layout(line, "a #[test] inside a block or module"));
            }
            if lines.get(line - 1).map(|l| l.trim()) != Some("#[test]") {
                return Err(layout(line, "#[test] shares its line"));
            }
            // Other attributes before it, by their tokens (they may span lines).
            let mut first_token = i;
            while let Some(start) = attribute_before(&tokens, first_token) {
                first_token = start;
            }
            if first_token > 0 && tokens[first_token - 1].line == tokens[first_token].line {
                return Err(layout(line, "the test's attributes share a line with code"));
            }
            // Doc comments and comments just above it belong to it.
            let mut first = tokens[first_token].line;
            let floor = tests.last().map_or(0, |t| t.last);
            while first > floor + 1 {
                let above = lines[first - 2].trim_start();
                let comment = above.starts_with("//") && !above.starts_with("//!");
                if in_string[first - 1] || !comment {
                    break;
                }
                first -= 1;
            }
            // Attributes after it, then `fn name() {`.
            let mut j = i + 4;
            while let Some(end) = attribute_at(&tokens, j) {
                j = end;
            }
            let shape = tokens.get(j).is_some_and(|t| t.is_keyword("fn"))
                && tokens
                    .get(j + 1)
                    .is_some_and(|t| matches!(t.kind, Kind::Ident { .. }))
                && tokens.get(j + 2).is_some_and(|t| t.is_punct('('))
                && tokens.get(j + 3).is_some_and(|t| t.is_punct(')'))
                && tokens.get(j + 4).is_some_and(|t| t.is_punct('{'));
            if !shape {
                return Err(layout(
                    line,
                    "this test is not `fn name() { … }` (no arguments, no return type)",
                ));
            }
            let name = tokens[j + 1].text.clone();
            let mut k = j + 4;
            let mut d = 0;
            let close = loop {
                let Some(t) = tokens.get(k) else {
                    return Err(layout(line, "the test's body never ends"));
                };
                if t.is_punct('{') {
                    d += 1;
                } else if t.is_punct('}') {
                    d -= 1;
                    if d == 0 {
                        break k;
                    }
                }
                k += 1;
            };
            let last = tokens[close].line;
            if tokens.get(close + 1).is_some_and(|t| t.line == last)
                || lines.get(last - 1).map(|l| l.trim()) != Some("}")
            {
                return Err(layout(last, "the test's closing brace shares its line"));
            }
            tests.push(Test {
                first,
                attribute: line,
                last,
                name,
            });
            i = close + 1;
            continue;
        }
        i += 1;
    }
    // `use kata_harness::hidden_test;` goes before the first `use` outside the tests, or
    // before the first test.
    let inside = |line: usize| tests.iter().any(|t| (t.first..=t.last).contains(&line));
    let use_line = tokens
        .iter()
        .find(|t| t.is_keyword("use") && !inside(t.line))
        .map(|t| t.line)
        .into_iter()
        .chain(tests.first().map(|t| t.first))
        .min();
    let mut out = format!(
        "// Written by `grader export student` from {file}: its tests, each a\n\
         // `hidden_test!` (as a hidden suite's are), so that the grader can grade them.\n\
         // `cargo test -p <kata>` runs the original; change that one, not this copy.\n"
    );
    for (n, line) in lines.iter().enumerate() {
        let n = n + 1;
        if Some(n) == use_line {
            out += "use kata_harness::hidden_test;\n";
            if tests.iter().any(|t| t.first == n) {
                out.push('\n');
            }
        }
        let test = tests.iter().find(|t| (t.first..=t.last).contains(&n));
        if let Some(t) = test {
            if t.first == n {
                out += "hidden_test! {\n";
            }
            if t.attribute != n {
                if !line.is_empty() && !in_string[n] {
                    out += "    ";
                }
                out += line;
                out.push('\n');
            }
            if t.last == n {
                out += "}\n";
            }
        } else {
            out += line;
            out.push('\n');
        }
    }
    let names: Vec<String> = tests.into_iter().map(|t| t.name).collect();
    // The grader must read the suite as intended: the same tests, no bare #[test].
    let declared = crate::source::suite::declarations(&out);
    let read: Vec<&str> = declared.tests.iter().map(|d| d.name.as_str()).collect();
    if read != names.iter().map(String::as_str).collect::<Vec<_>>()
        || !declared.bare_tests.is_empty()
    {
        return Err(format!(
            "{file}: the suite written from it reads as {read:?} (bare #[test] at lines {:?}), \
             not {names:?}: a grader bug, please report it",
            declared.bare_tests
        ));
    }
    Ok((out, names))
}

/// Whether `tokens[i..]` starts with `#[test]`.
fn is_test_attribute(tokens: &[Token], i: usize) -> bool {
    tokens.get(i).is_some_and(|t| t.is_punct('#'))
        && tokens.get(i + 1).is_some_and(|t| t.is_punct('['))
        && tokens.get(i + 2).is_some_and(|t| t.is_word("test"))
        && tokens.get(i + 3).is_some_and(|t| t.is_punct(']'))
}

/// The index just past an outer attribute `#[…]` that starts at `i`, if one does.
fn attribute_at(tokens: &[Token], i: usize) -> Option<usize> {
    if !(tokens.get(i)?.is_punct('#') && tokens.get(i + 1)?.is_punct('[')) {
        return None;
    }
    let mut depth = 0;
    for (k, t) in tokens.iter().enumerate().skip(i + 1) {
        if t.is_punct('[') {
            depth += 1;
        } else if t.is_punct(']') {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

/// The start of an outer attribute `#[…]` that ends just before `i`, if one does.
fn attribute_before(tokens: &[Token], i: usize) -> Option<usize> {
    let mut k = i.checked_sub(1)?;
    if !tokens[k].is_punct(']') {
        return None;
    }
    let mut depth = 0;
    loop {
        if tokens[k].is_punct(']') {
            depth += 1;
        } else if tokens[k].is_punct('[') {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
        k = k.checked_sub(1)?;
    }
    let hash = k.checked_sub(1)?;
    tokens[hash].is_punct('#').then_some(hash)
}

/// The hidden dependencies the visible suites need: those (from the course's hidden or
/// kata dependencies) whose crate the visible tests name. The test kit's own are its own.
pub(super) fn visible_dependencies(
    course: &Course,
    suites: &BTreeMap<String, (String, Vec<String>)>,
) -> BTreeMap<String, String> {
    let mut words = std::collections::BTreeSet::new();
    for (text, _) in suites.values() {
        for t in tokenize(text) {
            if matches!(t.kind, Kind::Ident { .. }) {
                words.insert(t.text);
            }
        }
    }
    let mut deps = BTreeMap::new();
    for (name, value) in course
        .kata_dependencies
        .iter()
        .chain(course.hidden_dependencies.iter())
    {
        if words.contains(&name.replace('-', "_")) {
            // Hidden dependencies win: they are what the hidden crate was built with.
            deps.insert(name.clone(), value.clone());
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_tests_become_hidden_tests_with_their_docs_and_attributes() {
        let text = "//! Visible tests.\n\
                    \n\
                    use k::f;\n\
                    \n\
                    /// Says what it checks.\n\
                    #[allow(\n    unused_variables,\n)]\n\
                    #[test]\n\
                    #[allow(clippy::bool_assert_comparison)]\n\
                    fn first() {\n\
                    \x20   let s = \"}} { // not a brace\n\
                    a line inside a string\";\n\
                    \x20   /* } */ assert_eq!(f(), '}');\n\
                    }\n\
                    \n\
                    fn helper() {}\n\
                    \n\
                    #[test]\n\
                    fn second() {\n\
                    \x20   helper();\n\
                    }\n";
        let (suite, names) = visible_suite(text, "visible.rs").unwrap();
        assert_eq!(names, ["first", "second"]);
        let expected = "//! Visible tests.\n\
                        \n\
                        use kata_harness::hidden_test;\n\
                        use k::f;\n\
                        \n\
                        hidden_test! {\n\
                        \x20   /// Says what it checks.\n\
                        \x20   #[allow(\n        unused_variables,\n    )]\n\
                        \x20   #[allow(clippy::bool_assert_comparison)]\n\
                        \x20   fn first() {\n\
                        \x20       let s = \"}} { // not a brace\n\
                        a line inside a string\";\n\
                        \x20       /* } */ assert_eq!(f(), '}');\n\
                        \x20   }\n\
                        }\n\
                        \n\
                        fn helper() {}\n\
                        \n\
                        hidden_test! {\n\
                        \x20   fn second() {\n\
                        \x20       helper();\n\
                        \x20   }\n\
                        }\n";
        let body = suite.split_once("copy.\n").unwrap().1;
        assert_eq!(body, expected);
    }

    #[test]
    fn tests_the_export_cannot_read_are_refused_with_their_line() {
        let nested = "mod inner {\n    #[test]\n    fn t() {}\n}\n";
        let e = visible_suite(nested, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:2: a #[test] inside a block or module"),
            "{e}"
        );
        let result = "#[test]\nfn t() -> Result<(), String> {\n    Ok(())\n}\n";
        let e = visible_suite(result, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:1: this test is not `fn name() { … }`"),
            "{e}"
        );
        let one_line = "#[test]\nfn t() { assert!(true) }\n";
        let e = visible_suite(one_line, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:2: the test's closing brace shares its line"),
            "{e}"
        );
    }
}
