//! Whether a loom-checked submission takes its threads and locks from the sync facade.
//!
//! Loom can only see the primitives it models. A kata that uses `std::sync::Mutex`,
//! `std::thread` or parking_lot directly would be explored once and reported as passing,
//! so its loom suites are not built and it is told why. This reads the token stream: every
//! path (`use` trees expanded, `std` renamed or glob-imported included), not the compiled
//! code.

use super::lexer::{Kind, Token};

/// What is not allowed in a loom-checked kata (a path prefix), and what to use instead.
const FORBIDDEN: &[(&[&str], &str)] = &[
    (
        &["std", "sync"],
        "kata_sync (Mutex, Condvar, Arc, atomic, mpsc)",
    ),
    (&["std", "thread"], "kata_sync::thread"),
    (&["core", "sync"], "kata_sync::atomic"),
    (&["alloc", "sync"], "kata_sync::Arc"),
    (
        &["parking_lot"],
        "kata_sync (it is parking_lot outside loom)",
    ),
    (&["crossbeam"], "kata_sync"),
    (&["crossbeam_channel"], "kata_sync"),
    (&["crossbeam_utils"], "kata_sync"),
];

/// `atomic::Ordering` is the same type under loom: allowed.
const ALLOWED: &[&[&str]] = &[
    &["std", "sync", "atomic", "Ordering"],
    &["core", "sync", "atomic", "Ordering"],
];

/// Roots whose renaming or glob import would hide a forbidden path from this check.
const ROOTS: &[&str] = &["std", "core", "alloc"];

/// One place where the facade is bypassed: (line, what was found, what to use instead).
pub type Found = (usize, String, &'static str);

/// Finds the forbidden paths in one file's tokens.
pub fn bypasses(tokens: &[Token]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if (t.is_keyword("use") || is_extern_crate(tokens, i)) && !preceded_by_path(tokens, i) {
            let start = if t.is_keyword("use") { i + 1 } else { i + 2 };
            let mut paths = Vec::new();
            let end = use_tree(tokens, start, &mut Vec::new(), &mut paths);
            for (line, path, tail) in paths {
                check_path(line, &path, tail, &mut out);
            }
            i = end.max(i + 1);
            continue;
        }
        if matches!(t.kind, Kind::Ident { .. }) && !preceded_by_path(tokens, i) {
            let (path, end) = plain_path(tokens, i);
            if path.len() > 1
                || FORBIDDEN
                    .iter()
                    .any(|(p, _)| p.len() == 1 && p[0] == path[0])
            {
                check_path(t.line, &path, Tail::Plain, &mut out);
            }
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// How a `use` path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    Plain,
    Glob,
    Renamed,
}

fn check_path(line: usize, path: &[String], tail: Tail, out: &mut Vec<Found>) {
    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
    if segments.len() == 1 && ROOTS.contains(&segments[0]) && tail != Tail::Plain {
        let how = if tail == Tail::Glob {
            format!("{}::*", segments[0])
        } else {
            format!("{} renamed", segments[0])
        };
        out.push((line, how, "kata_sync, and std's paths in full"));
        return;
    }
    if ALLOWED.iter().any(|ok| segments.starts_with(ok)) {
        return;
    }
    for (prefix, instead) in FORBIDDEN {
        let hit = segments.starts_with(prefix)
            // `use std::{self as s}` then `s::sync`, or `std::sync::*`
            || (tail == Tail::Glob && prefix.starts_with(&segments) && segments.len() > 1);
        if hit {
            let mut shown = segments.join("::");
            if tail == Tail::Glob {
                shown += "::*";
            }
            out.push((line, shown, instead));
            return;
        }
    }
}

fn is_extern_crate(tokens: &[Token], i: usize) -> bool {
    tokens[i].is_keyword("extern") && tokens.get(i + 1).is_some_and(|t| t.is_keyword("crate"))
}

/// Whether the token at `i` continues a path (`a::b`, `<T>::b`: `b`), rather than
/// starting one (`::std`, a path from the crate root, starts one).
fn preceded_by_path(tokens: &[Token], i: usize) -> bool {
    i >= 3
        && tokens[i - 1].is_punct(':')
        && tokens[i - 2].is_punct(':')
        && (matches!(tokens[i - 3].kind, Kind::Ident { .. }) || tokens[i - 3].is_punct('>'))
}

fn is_path_sep(tokens: &[Token], i: usize) -> bool {
    tokens.get(i).is_some_and(|t| t.is_punct(':'))
        && tokens.get(i + 1).is_some_and(|t| t.is_punct(':'))
}

/// `a::b::c` from `i`: the segments, and where the path ends.
fn plain_path(tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut path = vec![tokens[i].text.clone()];
    i += 1;
    while is_path_sep(tokens, i)
        && tokens
            .get(i + 2)
            .is_some_and(|t| matches!(t.kind, Kind::Ident { .. }))
    {
        path.push(tokens[i + 2].text.clone());
        i += 3;
    }
    (path, i)
}

/// Parses a `use` tree from `i` with `prefix` already read; pushes each full path with
/// its line and how it ends. Returns where the tree ends (after `;`, or at `,`/`}`).
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &mut Vec<String>,
    paths: &mut Vec<(usize, Vec<String>, Tail)>,
) -> usize {
    let depth = prefix.len();
    // A leading `::` (`use ::std::sync`).
    if is_path_sep(tokens, i) {
        i += 2;
    }
    let mut line = tokens.get(i).map(|t| t.line).unwrap_or(0);
    while let Some(t) = tokens.get(i) {
        match &t.kind {
            Kind::Ident { .. } if t.is_keyword("as") => {
                let renamed_to_underscore = tokens.get(i + 1).is_some_and(|n| n.text == "_");
                let tail = if renamed_to_underscore {
                    Tail::Plain
                } else {
                    Tail::Renamed
                };
                paths.push((line, prefix.clone(), tail));
                i += 2;
                break;
            }
            Kind::Ident { .. } => {
                if t.text != "self" {
                    prefix.push(t.text.clone());
                } else if prefix.len() == depth {
                    // `{self, …}` names the prefix itself.
                }
                line = t.line;
                i += 1;
                if is_path_sep(tokens, i) {
                    i += 2;
                    continue;
                }
                // `self as x` renames the prefix: handled by the `as` arm next.
                if tokens.get(i).is_some_and(|n| n.is_keyword("as")) {
                    continue;
                }
                paths.push((line, prefix.clone(), Tail::Plain));
                break;
            }
            Kind::Punct('*') => {
                paths.push((t.line, prefix.clone(), Tail::Glob));
                i += 1;
                break;
            }
            Kind::Punct('{') => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        None => break,
                        Some(t) if t.is_punct('}') => {
                            i += 1;
                            break;
                        }
                        Some(t) if t.is_punct(',') => i += 1,
                        Some(_) => {
                            let mut inner = prefix.clone();
                            let before = i;
                            i = use_tree(tokens, i, &mut inner, paths);
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
                break;
            }
            _ => break,
        }
    }
    prefix.truncate(depth);
    // Skip to the end of this item of the tree.
    if tokens.get(i).is_some_and(|t| t.is_punct(';')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn found(text: &str) -> Vec<String> {
        bypasses(&tokenize(text))
            .into_iter()
            .map(|(l, f, _)| format!("{l}:{f}"))
            .collect()
    }

    #[test]
    fn finds_direct_std_and_parking_lot_use() {
        assert_eq!(found("use std::sync::Mutex;"), ["1:std::sync::Mutex"]);
        assert_eq!(
            found("fn f() {\n  std::thread::spawn(|| ());\n}"),
            ["2:std::thread::spawn"]
        );
        assert_eq!(found("use parking_lot::Mutex;"), ["1:parking_lot::Mutex"]);
        assert_eq!(found("use std :: sync :: Arc;"), ["1:std::sync::Arc"]);
        assert_eq!(
            found("use std::{collections::HashMap, sync::Mutex};"),
            ["1:std::sync::Mutex"]
        );
        assert_eq!(found("use std::{thread};"), ["1:std::thread"]);
        assert_eq!(
            found("use std::{\n  sync::{atomic::{AtomicU64, Ordering}, Condvar},\n};"),
            ["2:std::sync::atomic::AtomicU64", "2:std::sync::Condvar"]
        );
        assert_eq!(
            found("let m = ::std::sync::Mutex::new(0);"),
            ["1:std::sync::Mutex::new"]
        );
        assert_eq!(
            found("fn f(x: parking_lot::Mutex<u8>) {}"),
            ["1:parking_lot::Mutex"]
        );
    }

    #[test]
    fn renames_and_globs_of_std_are_bypasses() {
        assert_eq!(
            found("use std as s;\nfn f() { s::sync::Mutex::new(0); }"),
            ["1:std renamed"]
        );
        assert_eq!(found("extern crate std as s;"), ["1:std renamed"]);
        assert_eq!(found("use std::*;"), ["1:std::*"]);
        assert_eq!(found("use std::sync::*;"), ["1:std::sync::*"]);
        assert_eq!(found("use std::{self as s};"), ["1:std renamed"]);
        assert_eq!(found("use std::sync as s;"), ["1:std::sync"]);
    }

    #[test]
    fn facade_comments_strings_and_ordering_are_fine() {
        assert!(found("use kata_sync::{Mutex, thread};").is_empty());
        assert!(found("use std::sync::atomic::Ordering;").is_empty());
        assert!(found("use std::sync::atomic::Ordering::SeqCst;").is_empty());
        assert!(found("// std::sync::Mutex would be wrong\n/* std::thread */").is_empty());
        assert!(found("let s = \"std::sync::Mutex\"; let r = r#\"std::thread\"#;").is_empty());
        assert!(found("fn f<'a>(x: &'a str) -> char { 'x' }").is_empty());
        assert!(found("use std::{collections::HashMap, sync::atomic::Ordering};").is_empty());
        assert!(found("use kata_sync::thread; let t = my::std::sync::X;").is_empty());
        assert!(
            found("use std::time::Duration; use std::collections::{VecDeque, HashMap};").is_empty()
        );
    }
}
