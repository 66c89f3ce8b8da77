//! Reading source code, never running it: a submission's files for admission, and the
//! hidden suites' files for their test names. Every reader works on the tokens of one
//! shared [`lexer`].

pub mod facade;
pub mod lexer;
pub mod rules;
pub mod suite;

use std::fmt;
use std::path::{Path, PathBuf};

/// One place in a submission's source, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Relative to the kata directory: `src/lib.rs`.
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// A kata's sources: every `.rs` file under `src/`, in name order, as (name relative to
/// `src`'s parent, text). Only these are ever staged and built: other files are not
/// part of a submission.
pub struct Sources {
    pub files: Vec<(String, String)>,
}

impl Sources {
    pub fn read(src: &Path) -> std::io::Result<Sources> {
        let mut paths = Vec::new();
        collect_rs(src, &mut paths)?;
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let shown = path
                .strip_prefix(src.parent().unwrap_or(src))
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((shown, text));
        }
        Ok(Sources { files })
    }

    /// One id for all of them, names and contents: it changes whenever any file does.
    pub fn id(&self) -> String {
        let mut all = Vec::new();
        for (name, text) in &self.files {
            all.extend_from_slice(name.as_bytes());
            all.push(0);
            all.extend_from_slice(text.as_bytes());
            all.push(0);
        }
        crate::stub::blob_id(&all)
    }

    /// What no submission may write (see [`rules`]).
    pub fn refusals(&self) -> Vec<Finding> {
        self.each(rules::refusals)
    }

    /// Where a loom-checked kata bypasses the sync facade (see [`facade`]).
    pub fn facade_bypasses(&self) -> Vec<Finding> {
        self.each(|tokens| {
            facade::bypasses(tokens)
                .into_iter()
                .map(|(line, found, instead)| {
                    (line, format!("uses `{found}` (use {instead} instead)"))
                })
                .collect()
        })
    }

    fn each(&self, check: impl Fn(&[lexer::Token]) -> Vec<(usize, String)>) -> Vec<Finding> {
        let mut out = Vec::new();
        for (file, text) in &self.files {
            let tokens = lexer::tokenize(text);
            out.extend(check(&tokens).into_iter().map(|(line, what)| Finding {
                file: file.clone(),
                line,
                what,
            }));
        }
        out
    }
}

/// Regular `.rs` files under `dir`; symbolic links are not followed.
fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_rs(&entry.path(), out)?;
        } else if kind.is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
            out.push(entry.path());
        }
    }
    Ok(())
}
