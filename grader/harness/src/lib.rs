//! The hidden tests' side of the grader's verdict channel.
//!
//! A test passes only if its process exits with status 0 *and* the harness has sent a
//! `done` record, after the test body returned, on a pipe the grader gave the process.
//! Records carry a tag made with a random key that the grader writes into a second pipe;
//! the harness reads that key and closes the pipe before any code of the submission runs
//! (a kata crate is compiled with `unsafe` forbidden, so it has no code that runs before
//! `main`). The key never leaves the process: see [`record`].
//!
//! Before it vouches for anything, [`begin`] also makes sure that the code under test
//! cannot read the key back out of this process's memory: the process is made
//! non-dumpable (so `/proc/self/mem` and `/proc/self/fd` belong to root), and the
//! grader's seccomp filter must refuse to make it dumpable again and must refuse
//! `ptrace` and `process_vm_readv`. If a wall is missing, the harness reports a fault
//! (the grade stops: a grader problem) instead of running the test.
//!
//! The harness also forwards the first panic message, so the grader can show the failing
//! assertion even when the process then aborts (a loom deadlock does).
//!
//! Outside the grader (plain `cargo test`) the variable below is unset and everything
//! here does nothing.

pub mod record;

use record::{Kind, KEY_LEN};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::{Mutex, OnceLock};

/// Names the two descriptors as `"KEY_FD,PROOF_FD"`. Set only by the grader, and removed
/// from the environment by [`begin`].
pub const PROOF_FDS_VAR: &str = "KATA_GRADER_PROOF_FDS";

/// The exit status of a test process whose harness refused to run it (after a `fault`
/// record).
pub const FAULT_EXIT: i32 = 3;

/// Longest panic message forwarded; the rest is cut, so that a record fits in one atomic
/// pipe write.
const MAX_MESSAGE: usize = 3072;

struct Channel {
    key: [u8; KEY_LEN],
    /// The process that opened the channel: the test's own. A forked child that comes
    /// back into the test body has another pid, and never proves anything.
    pid: u32,
    proof: Mutex<File>,
}

static CHANNEL: OnceLock<Option<Channel>> = OnceLock::new();

fn channel() -> Option<&'static Channel> {
    CHANNEL.get_or_init(open_channel).as_ref()
}

fn open_channel() -> Option<Channel> {
    let value = std::env::var(PROOF_FDS_VAR).ok()?;
    // Nothing of the grader's is left for the code under test to read.
    std::env::remove_var(PROOF_FDS_VAR);
    let (key_fd, proof_fd) = value.split_once(',')?;
    let (key_fd, proof_fd): (i32, i32) = (key_fd.parse().ok()?, proof_fd.parse().ok()?);
    if key_fd < 3 || proof_fd < 3 || key_fd == proof_fd {
        return None;
    }
    // SAFETY: the grader placed these descriptors at these numbers for this purpose
    // before exec; nothing else in the process owns them.
    let mut key_pipe = unsafe { File::from_raw_fd(key_fd) };
    let proof = unsafe { File::from_raw_fd(proof_fd) };
    // Neither survives an exec of something else.
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(proof.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    let mut bytes = Vec::new();
    let read = key_pipe.read_to_end(&mut bytes);
    drop(key_pipe); // closed before the code under test can look for it
    let Some(key) = read.ok().and_then(|_| record::key_from_bytes(&bytes)) else {
        // Without the key nothing can be proved; say why and leave no doubt.
        let _ = writeln!(
            std::io::stderr(),
            "kata-harness: the grader's key could not be read ({} bytes)",
            bytes.len()
        );
        std::process::abort();
    };
    let channel = Channel {
        key,
        pid: std::process::id(),
        proof: Mutex::new(proof),
    };
    if let Err(missing) = raise_walls() {
        send(&channel, Kind::Fault, missing.as_bytes());
        // SAFETY: _exit ends the process at once.
        unsafe { libc::_exit(FAULT_EXIT) };
    }
    install_panic_forwarder();
    Some(channel)
}

/// Makes this process's memory unreadable to itself, and checks that it stays so.
fn raise_walls() -> Result<(), String> {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(format!(
                "prctl(PR_SET_DUMPABLE, 0) failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            return Err(
                "the test could make itself dumpable again: the grader's seccomp \
                        filter is missing"
                    .into(),
            );
        }
    }
    match File::open("/proc/self/mem") {
        Ok(_) => Err(
            "the test can read its own memory through /proc/self/mem: it runs as \
                      root (in its user namespace), so the grader's key is not safe"
                .into(),
        ),
        Err(_) => Ok(()),
    }
}

/// The longest start of `text` that fits in a record (see [`MAX_MESSAGE`]), cut at a
/// character boundary.
fn cut_to_fit(text: &str) -> &str {
    let mut cut = text.len().min(MAX_MESSAGE);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Sends one record, whole, in one write.
fn send(channel: &Channel, kind: Kind, payload: &[u8]) {
    let record = record::encode(&channel.key, kind, payload);
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
            let text = format!("{location}\n{thread}\n{message}");
            let kind = if std::process::id() == channel.pid {
                Kind::Panic
            } else {
                Kind::ChildPanic
            };
            send(channel, kind, cut_to_fit(&text).as_bytes());
        }
        previous(info);
    }));
}

/// Marks the start of a hidden test's body. Must run before any code under test.
///
/// It also starts the facade's hang watch: a test whose threads are all blocked on one
/// another fails within about half a second, with each thread's line, rather than at the
/// grader's time limit (see `kata_sync::hang`).
pub fn begin() {
    let _ = channel();
    kata_sync::hang::watch_reporting_to(report_hang);
}

/// Sends the hang watch's report: on its own record, since a test may have replaced the
/// panic hook that forwards panics.
fn report_hang(text: &str) {
    if let Some(channel) = channel() {
        send(channel, Kind::Hang, cut_to_fit(text).as_bytes());
    }
}

/// Marks that the test body returned normally. Sends the proof, from the test's own
/// process only.
pub fn finish() {
    if let Some(channel) = channel() {
        if std::process::id() == channel.pid {
            send(channel, Kind::Done, b"");
        }
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
