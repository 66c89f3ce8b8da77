//! What a submission may not do while it is compiled: read files outside its own `src/`.
//!
//! rustc runs no student code, but it does read files for `include_str!`,
//! `include_bytes!`, `include!` and `#[path = …]` modules. A submission could use them to
//! pull the hidden tests or the solutions into its binary and print them. So these are
//! allowed only with a plain relative string literal that stays inside `src/`, and
//! `#[path]` not at all. This is a reading of the source (comments and strings skipped).

use crate::facade_check::{rust_sources, strip_comments_and_strings};
use std::path::Path;

/// One refused place: `file:line: why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub file: String,
    pub line: usize,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.why)
    }
}

/// Audits every `.rs` file under `src`.
pub fn audit(src: &Path) -> Vec<Refusal> {
    let mut out = Vec::new();
    for (shown, text) in rust_sources(src) {
        out.extend(audit_text(&text).into_iter().map(|(line, why)| Refusal {
            file: shown.clone(),
            line,
            why,
        }));
    }
    out
}

const INCLUDES: &[&str] = &["include_str", "include_bytes", "include"];

/// Finds refused constructs in one file's text: (line, why).
pub fn audit_text(text: &str) -> Vec<(usize, String)> {
    let code = strip_comments_and_strings(text);
    let code: Vec<char> = code.chars().collect();
    let raw: Vec<char> = text.chars().collect();
    let line_of = |at: usize| code[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_') {
                i += 1;
            }
            let word: String = code[start..i].iter().collect();
            if start > 0 && (code[start - 1].is_alphanumeric() || code[start - 1] == '_') {
                continue;
            }
            if INCLUDES.contains(&word.as_str()) {
                match include_argument(&code, &raw, i) {
                    Some(Ok(path)) if is_inside_src(&path) => {}
                    Some(Ok(path)) => out.push((line_of(start), format!("`{word}!(\"{path}\")` reads a file outside src/"))),
                    Some(Err(())) => out.push((line_of(start), format!("`{word}!` with anything but a plain relative path inside src/"))),
                    None => out.push((line_of(start), format!("`{word}` named without being called: include macros may not be renamed or passed around"))),
                }
            } else if word == "path" && attribute_before(&code, start) {
                out.push((
                    line_of(start),
                    "`#[path = …]` modules are not allowed: keep modules inside src/".to_string(),
                ));
            }
            continue;
        }
        i += 1;
    }
    out
}

/// After an include macro's name: `Some(Ok(path))` for `!("literal")`, `Some(Err)` for a
/// call with another argument, `None` when the name is not called.
fn include_argument(code: &[char], raw: &[char], mut i: usize) -> Option<Result<String, ()>> {
    let skip_ws = |i: &mut usize| {
        while *i < code.len() && code[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if code.get(i) != Some(&'!') {
        return None;
    }
    i += 1;
    skip_ws(&mut i);
    if !matches!(code.get(i), Some('(' | '[' | '{')) {
        return Some(Err(()));
    }
    i += 1;
    // Strings are blanked in `code` (quotes too); read the literal from `raw`, which has
    // the same characters at the same places.
    while i < raw.len() && raw[i].is_whitespace() {
        i += 1;
    }
    if raw.get(i) != Some(&'"') {
        return Some(Err(()));
    }
    let mut j = i + 1;
    let mut path = String::new();
    while j < raw.len() && raw[j] != '"' {
        if raw[j] == '\\' {
            return Some(Err(()));
        }
        path.push(raw[j]);
        j += 1;
    }
    j += 1;
    while j < code.len() && code[j].is_whitespace() {
        j += 1;
    }
    if !matches!(code.get(j), Some(')' | ']' | '}')) {
        return Some(Err(()));
    }
    Some(Ok(path))
}

fn is_inside_src(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && !path.split(['/', '\\']).any(|part| part == "..")
}

/// Whether `path` at `start` is the name inside `#[…]` or `#![…]`.
fn attribute_before(code: &[char], start: usize) -> bool {
    let mut j = start;
    while j > 0 && code[j - 1].is_whitespace() {
        j -= 1;
    }
    if j == 0 || code[j - 1] != '[' {
        return false;
    }
    j -= 1;
    while j > 0 && code[j - 1].is_whitespace() {
        j -= 1;
    }
    if j > 0 && code[j - 1] == '!' {
        j -= 1;
    }
    j > 0 && code[j - 1] == '#'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Vec<usize> {
        audit_text(text).into_iter().map(|(line, _)| line).collect()
    }

    #[test]
    fn reads_outside_src_are_refused() {
        assert_eq!(
            refused("const S: &str = include_str!(\"/etc/passwd\");"),
            [1]
        );
        assert_eq!(
            refused("\nconst S: &[u8] = include_bytes!(\"../../x\");"),
            [2]
        );
        assert_eq!(
            refused("const S: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/x\"));"),
            [1]
        );
        assert_eq!(refused("use std::include_str as grab;"), [1]);
        assert_eq!(refused("#[path = \"/course/solutions/x.rs\"]\nmod x;"), [1]);
        assert_eq!(refused("#![path=\"a\"]"), [1]);
        assert_eq!(refused("include!(\"../hidden.rs\");"), [1]);
    }

    #[test]
    fn ordinary_code_and_reads_inside_src_are_fine() {
        assert!(refused("const S: &str = include_str!(\"data/table.txt\");").is_empty());
        assert!(refused("// include_str!(\"/etc/passwd\")\nlet s = \"include_str!\";").is_empty());
        assert!(refused(
            "let path = Path::new(\"x\"); let include_me = 1; #[derive(Debug)] struct S;"
        )
        .is_empty());
        assert!(refused("fn f(path: &str) {}").is_empty());
    }
}
