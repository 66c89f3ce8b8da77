//! The hidden tests' side of the grader's verdict channel.
//!
//! A test passes only if its process exits with status 0 *and* the harness has written a
//! proof, after the test body returned, to a pipe the grader gave the process. The proof
//! carries a random token that the grader wrote into a second pipe; the harness reads
//! that token and closes the pipe before any student code runs, so a submission that
//! calls `process::exit(0)` early, or prints lines that look like passing tests, cannot
//! produce a pass. The harness also forwards the first panic message, so the grader can
//! show the failing assertion even when the process then aborts (a loom deadlock does).
//!
//! Outside the grader (plain `cargo test`) the variable below is unset and everything
//! here does nothing.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::{Mutex, OnceLock};

/// Names the two descriptors as `"TOKEN_FD,PROOF_FD"`. Set only by the grader.
pub const PROOF_FDS_VAR: &str = "KATA_GRADER_PROOF_FDS";

/// Longest panic message forwarded; the rest is cut.
const MAX_MESSAGE: usize = 4096;

struct Channel {
    token: Vec<u8>,
    proof: Mutex<File>,
}

static CHANNEL: OnceLock<Option<Channel>> = OnceLock::new();

fn channel() -> Option<&'static Channel> {
    CHANNEL.get_or_init(open_channel).as_ref()
}

fn open_channel() -> Option<Channel> {
    let value = std::env::var(PROOF_FDS_VAR).ok()?;
    let (token_fd, proof_fd) = value.split_once(',')?;
    let (token_fd, proof_fd): (i32, i32) = (token_fd.parse().ok()?, proof_fd.parse().ok()?);
    if token_fd < 3 || proof_fd < 3 || token_fd == proof_fd {
        return None;
    }
    // SAFETY: the grader placed these descriptors at these numbers for this purpose
    // before exec; nothing else in the process owns them.
    let mut token_pipe = unsafe { File::from_raw_fd(token_fd) };
    let proof = unsafe { File::from_raw_fd(proof_fd) };
    let mut token = Vec::new();
    token_pipe.read_to_end(&mut token).ok()?;
    drop(token_pipe); // closed before student code can look for it
    if token.is_empty() {
        return None;
    }
    install_panic_forwarder();
    Some(Channel {
        token,
        proof: Mutex::new(proof),
    })
}

/// One record on the proof pipe: `token kind length\n bytes`.
fn send(channel: &Channel, kind: &str, payload: &[u8]) {
    let mut record = Vec::with_capacity(channel.token.len() + payload.len() + 32);
    record.extend_from_slice(&channel.token);
    record.extend_from_slice(format!(" {kind} {}\n", payload.len()).as_bytes());
    record.extend_from_slice(payload);
    let mut file = channel.proof.lock().unwrap_or_else(|e| e.into_inner());
    let _ = file.write_all(&record);
}

fn install_panic_forwarder() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(Some(channel)) = CHANNEL.get() {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic with a non-text payload)".to_string());
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let thread = std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_string();
            let mut text = format!("{location}\n{thread}\n{message}");
            if text.len() > MAX_MESSAGE {
                let mut cut = MAX_MESSAGE;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            send(channel, "panic", text.as_bytes());
        }
        previous(info);
    }));
}

/// Marks the start of a hidden test's body. Must run before any student code.
pub fn begin() {
    let _ = channel();
}

/// Marks that the test body returned normally. Sends the proof.
pub fn finish() {
    if let Some(channel) = channel() {
        send(channel, "done", b"");
    }
}

/// Declares a hidden test: a `#[test]` whose body is bracketed by [`begin`] and [`finish`].
///
/// ```ignore
/// kata_harness::hidden_test! {
///     /// Two threads, one increment each: the count must be 2.
///     fn two_increments_make_two() { /* … */ }
/// }
/// ```
#[macro_export]
macro_rules! hidden_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::begin();
            #[allow(clippy::redundant_closure_call)]
            (|| $body)();
            $crate::finish();
        }
    };
}
