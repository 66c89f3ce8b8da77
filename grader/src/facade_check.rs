//! Whether a loom-checked submission takes its threads and locks from the sync facade.
//!
//! Loom can only see the primitives it models. A kata that uses `std::sync::Mutex`,
//! `std::thread` or parking_lot directly would be explored once and reported as passing,
//! so its loom suites are not run and it is told why. This is a reading of the source
//! (comments and string literals are skipped), not of the compiled code.

use std::path::Path;

/// What is not allowed in a loom-checked kata, and what to use instead.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "std::sync::",
        "kata_sync (Mutex, Condvar, Arc, atomic, mpsc)",
    ),
    ("std::thread", "kata_sync::thread"),
    ("core::sync::", "kata_sync::atomic"),
    ("alloc::sync::", "kata_sync::Arc"),
    ("parking_lot", "kata_sync (it is parking_lot outside loom)"),
    ("crossbeam", "kata_sync"),
];

/// `std::sync::atomic::Ordering` is the same type under loom: allowed.
const ALLOWED: &[&str] = &[
    "std::sync::atomic::Ordering",
    "core::sync::atomic::Ordering",
];

/// One place where the facade is bypassed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bypass {
    pub file: String,
    pub line: usize,
    pub found: String,
    pub instead: &'static str,
}

impl std::fmt::Display for Bypass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} uses `{}` (use {} instead)",
            self.file, self.line, self.found, self.instead
        )
    }
}

/// Scans every `.rs` file under `src` (names shown relative to `src`'s parent).
pub fn scan(src: &Path) -> Vec<Bypass> {
    let mut found = Vec::new();
    for (shown, text) in rust_sources(src) {
        found.extend(
            scan_text(&text)
                .into_iter()
                .map(|(line, found, instead)| Bypass {
                    file: shown.clone(),
                    line,
                    found,
                    instead,
                }),
        );
    }
    found
}

/// Every `.rs` file under `src`, in name order, as (name relative to `src`'s parent, text).
/// Shared by the source readers: this check and [`crate::source_audit`].
pub(crate) fn rust_sources(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect_rs(src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(&file).ok()?;
            let shown = file
                .strip_prefix(src.parent().unwrap_or(src))
                .unwrap_or(&file)
                .display()
                .to_string();
            Some((shown, text))
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_rs(&entry.path(), out);
        } else if kind.is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
            out.push(entry.path());
        }
    }
}

/// Finds forbidden paths in one file: (line, text found, what to use instead).
pub fn scan_text(text: &str) -> Vec<(usize, String, &'static str)> {
    let code = strip_comments_and_strings(text);
    // Join `use std::{sync::Mutex, thread}` style groups into plain paths by also
    // looking at `std::{` … `}` contents.
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let compact = compact_paths(line);
        for (pattern, instead) in FORBIDDEN {
            let mut from = 0;
            while let Some(at) = compact[from..].find(pattern) {
                let start = from + at;
                from = start + pattern.len();
                let rest = &compact[start..];
                if ALLOWED.iter().any(|ok| rest.starts_with(ok)) {
                    continue;
                }
                // `kata_sync::…` or another crate's `…::std::…` are not std.
                let before = compact[..start].chars().last();
                if pattern.starts_with(|c: char| c.is_ascii_lowercase())
                    && before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                out.push((i + 1, pattern.trim_end_matches("::").to_string(), *instead));
            }
        }
        // `use std::{sync::Mutex, …}` and `use std::{thread, …}`.
        for root in ["std::{", "core::{"] {
            if let Some(at) = compact.find(root) {
                let group = &compact[at + root.len()..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let full = format!("{}{item}", &root[..root.len() - 1]);
                    if (item.starts_with("sync") || item.starts_with("thread"))
                        && !ALLOWED.iter().any(|ok| full.starts_with(ok))
                    {
                        let instead = if item.starts_with("thread") {
                            "kata_sync::thread"
                        } else {
                            "kata_sync"
                        };
                        out.push((i + 1, full, instead));
                    }
                }
            }
        }
    }
    out
}

/// Folds white space inside paths and use groups (`std :: sync`, `std::{ thread }`) but
/// keeps it between words, so that `use std` still has a boundary before `std`.
fn compact_paths(line: &str) -> String {
    let mut out = line.split_whitespace().collect::<Vec<_>>().join(" ");
    for token in ["::", "{", "}", ","] {
        loop {
            let before = out.len();
            out = out
                .replace(&format!(" {token}"), token)
                .replace(&format!("{token} "), token);
            if out.len() == before {
                break;
            }
        }
    }
    out
}

/// Replaces comments and the contents of string and char literals with spaces, keeping
/// line breaks so that line numbers stay right.
pub(crate) fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i)
        {
            // Raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &chars[i..j.min(chars.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            let end = chars[i + 1..]
                .iter()
                .position(|&ch| ch == '\'')
                .map(|p| i + 1 + p)
                .unwrap_or(i);
            for _ in i..=end {
                out.push(' ');
            }
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `'a'` or `'\n'`, as opposed to a lifetime `'a`.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match (chars.get(i + 1), chars.get(i + 2), chars.get(i + 3)) {
        (Some('\\'), _, _) => true,
        (Some(_), Some('\''), _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        scan_text(text)
            .into_iter()
            .map(|(l, f, _)| format!("{l}:{f}"))
            .collect()
    }

    #[test]
    fn finds_direct_std_and_parking_lot_use() {
        assert_eq!(found("use std::sync::Mutex;"), ["1:std::sync"]);
        assert_eq!(
            found("fn f() {\n  std::thread::spawn(|| ());\n}"),
            ["2:std::thread"]
        );
        assert_eq!(found("use parking_lot::Mutex;"), ["1:parking_lot"]);
        assert_eq!(found("use std :: sync :: Arc;"), ["1:std::sync"]);
        assert_eq!(
            found("use std::{collections::HashMap, sync::Mutex};"),
            ["1:std::sync::Mutex"]
        );
        assert_eq!(found("use std::{thread};"), ["1:std::thread"]);
    }

    #[test]
    fn facade_comments_strings_and_ordering_are_fine() {
        assert!(found("use kata_sync::{Mutex, thread};").is_empty());
        assert!(found("use std::sync::atomic::Ordering;").is_empty());
        assert!(found("// std::sync::Mutex would be wrong\n/* std::thread */").is_empty());
        assert!(found("let s = \"std::sync::Mutex\"; let r = r#\"std::thread\"#;").is_empty());
        assert!(found("fn f<'a>(x: &'a str) -> char { 'x' }").is_empty());
        assert!(found("use std::{collections::HashMap, sync::atomic::Ordering};").is_empty());
    }
}
