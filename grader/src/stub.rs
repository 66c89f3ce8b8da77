//! What the course ships for each kata: its stub, known by the git blob id that
//! course.yaml records (`stub:`). A kata whose source is still that stub byte for byte is
//! "not started": nothing is built for it and no failures are listed. `grader reset` gets
//! the stub back out of the course's git history, keeping the student's sources aside.
//!
//! A git blob id rather than a copy of every stub: the course's own history already holds
//! each stub, and a copy kept beside `exercises/` would be a second source of truth.

use crate::manifest::{Course, Kata};
use crate::source::Sources;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The id git gives a file's content: SHA-1 of `blob <length>\0<content>`.
pub fn blob_id(content: &[u8]) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(format!("blob {}\0", content.len()).as_bytes());
    sha.update(content);
    sha.digest().to_string()
}

pub fn is_blob_id(text: &str) -> bool {
    text.len() == 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `sources` (a kata's `src/`) are exactly the kata's stub: `lib.rs` alone, with
/// the content course.yaml records. False when the course records no stub.
pub fn untouched(kata: &Kata, sources: &Sources) -> bool {
    match (&kata.stub, sources.files.as_slice()) {
        (Some(stub), [(name, text)]) => {
            name.replace('\\', "/") == "src/lib.rs" && blob_id(text.as_bytes()) == *stub
        }
        _ => false,
    }
}

/// The exercise file a kata's stub is: `exercises/<id>/src/lib.rs`.
pub fn exercise_file(course: &Course, kata: &Kata) -> PathBuf {
    course
        .root
        .join("exercises")
        .join(&kata.id)
        .join("src")
        .join("lib.rs")
}

/// The stub's content, out of the course's git objects.
pub fn shipped(course: &Course, kata: &Kata) -> Result<Vec<u8>, String> {
    let Some(id) = &kata.stub else {
        return Err(format!(
            "course.yaml records no stub for `{}` (its `stub:` field), so the grader cannot \
             tell which version to put back",
            kata.id
        ));
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(["cat-file", "blob", id])
        .output()
        .map_err(|e| {
            format!(
                "cannot run git to get the stub of `{}` back ({e}); copy {} from the \
                 course's repository instead",
                kata.id,
                Path::new("exercises")
                    .join(&kata.id)
                    .join("src/lib.rs")
                    .display()
            )
        })?;
    if !out.status.success() || blob_id(&out.stdout) != *id {
        return Err(format!(
            "the stub of `{}` (git blob {id}) is not in the git history of {}: {}copy \
             exercises/{}/src/lib.rs from the course's repository instead",
            kata.id,
            course.root.display(),
            match String::from_utf8_lossy(&out.stderr).trim() {
                "" => String::new(),
                said => format!("git says \"{said}\"; "),
            },
            kata.id
        ));
    }
    Ok(out.stdout)
}

/// What `reset` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    /// The kata's sources were already the stub: nothing changed.
    AlreadyTheStub,
    /// The stub is back; the student's `src/` was moved to `backup`.
    Done { backup: PathBuf },
    /// The stub is back where there was no `src/` at all.
    Restored,
}

/// Puts the stub of `kata` back in `exercises/<id>/src/`, moving the student's whole
/// `src/` aside to `exercises/<id>/src.backup-N` (the first N not taken). Nothing is
/// moved before the stub is in hand, and the stub is written whole or not at all.
pub fn reset(course: &Course, kata: &Kata) -> Result<Reset, String> {
    let file = exercise_file(course, kata);
    let src = file.parent().expect("lib.rs is in src/").to_path_buf();
    let kata_dir = src.parent().expect("src/ is in the kata's directory");
    if let Ok(sources) = Sources::read(&src) {
        if untouched(kata, &sources) {
            return Ok(Reset::AlreadyTheStub);
        }
    }
    let stub = shipped(course, kata)?;
    let at = |what: &Path| {
        let what = what.display().to_string();
        move |e: std::io::Error| format!("cannot reset `{}`: {what}: {e}", kata.id)
    };
    fs::create_dir_all(kata_dir).map_err(at(kata_dir))?;
    // Written next to src/ first, so that a failure leaves the student's src/ in place.
    let fresh = kata_dir.join(".src.reset");
    if fresh.exists() {
        fs::remove_dir_all(&fresh).map_err(at(&fresh))?;
    }
    fs::create_dir(&fresh).map_err(at(&fresh))?;
    fs::write(fresh.join("lib.rs"), &stub).map_err(at(&fresh))?;
    let outcome = if fs::symlink_metadata(&src).is_ok() {
        let backup = (1..)
            .map(|n| kata_dir.join(format!("src.backup-{n}")))
            .find(|p| fs::symlink_metadata(p).is_err())
            .expect("some backup name is free");
        fs::rename(&src, &backup).map_err(at(&src))?;
        Reset::Done { backup }
    } else {
        Reset::Restored
    };
    fs::rename(&fresh, &src).map_err(at(&src))?;
    Ok(outcome)
}

/// Every kata's `exercises/<id>/src/lib.rs` is the stub course.yaml records: what the
/// course hands out (`export student`, `export gradescope`) must not carry an author's
/// edits (a solution tried in place, even). `consequence` says what those edits would do.
pub fn check_shipped(course: &Course, consequence: &str) -> Result<(), String> {
    for kata in &course.katas {
        let file = exercise_file(course, kata);
        let content =
            fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let actual = blob_id(&content);
        match &kata.stub {
            Some(id) if *id == actual => {}
            Some(id) => {
                return Err(format!(
                    "{} is not the stub course.yaml records for `{}` (git blob {id}, the file is \
                     {actual}): {consequence}. Put the stub back (`grader reset {}`), or record \
                     the new stub (`grader dev check` gives its id)",
                    file.display(),
                    kata.id,
                    kata.id
                ))
            }
            None => {
                return Err(format!(
                    "course.yaml records no stub for `{}`: `grader dev check` gives its id",
                    kata.id
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_git_s() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // The empty blob.
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert!(is_blob_id("ce013625030ba8dba906f756967f9e9ca394464a"));
        assert!(!is_blob_id("CE013625030BA8DBA906F756967F9E9CA394464A"));
        assert!(!is_blob_id("ce01362"));
    }
}
