//! A caller whose world is not empty: children and zombies of its own, a thread holding
//! stdout's lock across a fork, output pending in stdio buffers at the fork, several
//! processes let go at once.
//!
//! A kata is called from a program, and that program has a life of its own. A `wait()`
//! that reaps "any child" takes the caller's; a child that prints after a fork waits for
//! ever for a lock whose owner was not copied; a child that leaves with `exit()` prints
//! the caller's pending output a second time. Each helper here builds one such world and
//! tells afterwards whether it survived the call.
//!
//! ```ignore
//! use kata_testkit::busy;
//!
//! let own = busy::OwnChildren::new(&[7, 9], 1);  // two zombies (exit 7, 9), one running
//! let held = busy::hold_stdio();                 // another thread holds stdout and stderr
//! let pending = busy::PendingOutput::start("pending;");
//! let forked = fork_and_report();
//! drop(held);
//! assert_eq!(pending.finish().matches("pending;").count(), 1);
//! own.check("fork_and_report()");                // all three still the caller's, unchanged
//! ```
//!
//! The API (stable: the process suites depend on it):
//! - [`OwnChildren`]: the caller's own zombies and running children, checked after a call;
//! - [`hold_stdio`]: a thread that holds the locks of stdout and stderr until dropped;
//! - [`PendingOutput`]: text pending in Rust's stdout buffer and in C's, with stdout sent
//!   into a pipe the test reads back;
//! - [`Gate`]: a pipe that children wait at, opened for all of them at once;
//! - [`in_the_middle_of_a_write`]: waits until a child is stopped in a write to a full pipe.

use crate::proc::{my_pid, proc_state, raw_write, read_byte};
use nix::errno::Errno;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe, Pid};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Children of the caller's own, made before it calls the kata: zombies (ended, not yet
/// collected) and running children (blocked on a pipe). After the call, [`check`] says
/// whether the kata took any of them: a `wait()` or `waitpid(-1, …)` reaps the first
/// child that has ended, whoever forked it.
///
/// [`check`]: OwnChildren::check
pub struct OwnChildren {
    zombies: Vec<(i32, i32)>,
    running: Vec<i32>,
    release: Option<OwnedFd>,
}

impl OwnChildren {
    /// `codes.len()` zombies, exited with those codes, and `running` children blocked
    /// until the guard is dropped. Returns once every zombie has ended (waited for without
    /// being collected).
    pub fn new(codes: &[i32], running: usize) -> OwnChildren {
        let (hold, release) = pipe().expect("the test could not create a pipe");
        let (hold_fd, release_fd) = (hold.as_raw_fd(), release.as_raw_fd());
        let running = (0..running)
            .map(|_| {
                crate::proc::fork_child(move || {
                    // SAFETY: the child's own copy of the write end: the pipe then ends when
                    // the test drops its copy.
                    unsafe { libc::close(release_fd) };
                    read_byte(hold_fd);
                    0
                })
            })
            .collect();
        drop(hold);
        let zombies: Vec<(i32, i32)> = codes
            .iter()
            .map(|&code| (crate::proc::fork_exiting(code), code))
            .collect();
        for &(pid, _) in &zombies {
            crate::proc::wait_until_ended(pid);
        }
        OwnChildren {
            zombies,
            running,
            release: Some(release),
        }
    }

    /// The pids of the zombies and of the running children.
    pub fn pids(&self) -> Vec<i32> {
        self.zombies
            .iter()
            .map(|&(pid, _)| pid)
            .chain(self.running.iter().copied())
            .collect()
    }

    /// Panics, naming `call`, if any of these children is no longer the caller's to
    /// collect with its own status: reaped by the kata (its status lost to the caller), or
    /// a running one ended.
    pub fn check(&self, call: &str) {
        if let Some(problem) = self.problem() {
            panic!(
                "the caller had children of its own before {call}: {problem}. A kata reaps \
                 only the children it forked, with waitpid(pid) on the pid fork() gave it: \
                 wait() and waitpid(-1, ..) collect any child, perhaps one the caller forked \
                 for its own purposes"
            );
        }
    }

    /// What went wrong with the caller's children, if anything.
    pub fn problem(&self) -> Option<String> {
        for &(pid, code) in &self.zombies {
            match peek(pid) {
                Some(WaitStatus::Exited(_, got)) if got == code => {}
                Some(other) => {
                    return Some(format!(
                        "its child {pid}, which had exited with {code}, now shows {other:?}"
                    ))
                }
                None => {
                    return Some(format!(
                        "its child {pid}, which had exited with {code} and was waiting to be \
                         collected by the caller, was reaped during the call: the caller's \
                         waitpid({pid}) now fails with ECHILD and its exit code is lost"
                    ))
                }
            }
        }
        for &pid in &self.running {
            match proc_state(pid) {
                Some((state, ppid)) if ppid == my_pid() && state != 'Z' => {}
                Some((state, _)) => {
                    return Some(format!(
                        "its child {pid}, which was still running (blocked), is in state \
                         {state}"
                    ))
                }
                None => {
                    return Some(format!(
                        "its child {pid}, which was still running (blocked), is gone"
                    ))
                }
            }
        }
        None
    }
}

/// What `waitid(WNOHANG | WNOWAIT)` says of child `pid` (None: not our child).
fn peek(pid: i32) -> Option<WaitStatus> {
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            Err(_) => return None,
            Ok(status) => return Some(status),
        }
    }
}

impl Drop for OwnChildren {
    /// Lets the running children go, and reaps all of them.
    fn drop(&mut self) {
        drop(self.release.take());
        for pid in self.pids() {
            let _ = crate::proc::reap(pid);
        }
    }
}

/// A thread that holds the locks of stdout and stderr until the guard is dropped. A fork
/// made meanwhile copies them locked, with no thread in the child to unlock them: a child
/// that prints (`println!`, a panic's message) waits for ever.
pub struct HeldStdio {
    release: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts a thread that takes the locks of stdout and stderr, and returns once it holds
/// them.
pub fn hold_stdio() -> HeldStdio {
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let out = std::io::stdout();
        let err = std::io::stderr();
        let _out = out.lock();
        let _err = err.lock();
        let _ = held_tx.send(());
        let _ = release_rx.recv();
    });
    held_rx
        .recv()
        .expect("the test's thread could not take stdout's lock");
    HeldStdio {
        release: Some(release_tx),
        thread: Some(thread),
    }
}

impl Drop for HeldStdio {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

extern "C" {
    /// C's stdout stream (glibc).
    #[link_name = "stdout"]
    static mut C_STDOUT: *mut libc::FILE;
}

/// Output the caller has written but not yet flushed when it calls the kata: `text` in
/// Rust's stdout buffer (no newline, so it stays there) and in C's stdio buffer, with the
/// process's stdout (descriptor 1) sent into a pipe. [`finish`] flushes both once, puts
/// descriptor 1 back and returns everything that came out: each text once if no child
/// flushed the caller's copy of the buffers a second time (with `exit()`,
/// `std::process::exit` or a return into the caller's code).
///
/// [`finish`]: PendingOutput::finish
pub struct PendingOutput {
    saved: RawFd,
    read: Option<OwnedFd>,
}

impl PendingOutput {
    /// Sends stdout into a pipe and leaves `text` pending in both buffers, Rust's and C's.
    /// (`print!` of a test is captured by the test harness: this writes to the real stdout.)
    pub fn start(text: &str) -> PendingOutput {
        let _ = std::io::stdout().flush();
        // SAFETY: fflush(NULL) flushes C's streams; dup and dup2 on descriptor numbers.
        let saved = unsafe {
            libc::fflush(std::ptr::null_mut());
            libc::dup(1)
        };
        assert!(saved >= 0, "the test could not save its stdout");
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .expect("the test could not make a pipe");
        // SAFETY: descriptor 1 becomes a copy of the pipe's write end.
        assert!(
            unsafe { libc::dup2(write.as_raw_fd(), 1) } == 1,
            "the test could not send its stdout into a pipe"
        );
        drop(write);
        let _ = std::io::stdout().write_all(format!("rust:{text}").as_bytes());
        let c_text = std::ffi::CString::new(format!("c:{text}")).expect("no NUL in the text");
        // SAFETY: a NUL-terminated string into C's stdout stream (fully buffered: a pipe).
        unsafe { libc::fputs(c_text.as_ptr(), C_STDOUT) };
        PendingOutput {
            saved,
            read: Some(read),
        }
    }

    /// Flushes both buffers, puts stdout back, and returns all that came out of the pipe
    /// (the caller's own flush, and whatever children wrote into it).
    pub fn finish(mut self) -> String {
        self.restore();
        let bytes = crate::proc::read_to_end(self.read.take().expect("finished once"));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn restore(&mut self) {
        if self.saved < 0 {
            return;
        }
        let _ = std::io::stdout().flush();
        // SAFETY: flushes C's streams; descriptor 1 back to what it was.
        unsafe {
            libc::fflush(std::ptr::null_mut());
            libc::dup2(self.saved, 1);
            libc::close(self.saved);
        }
        self.saved = -1;
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        self.restore();
    }
}

/// A pipe that children wait at ([`Gate::wait`], in the child) until the test opens it
/// for all of them at once ([`Gate::open`]).
pub struct Gate {
    read: OwnedFd,
    write: OwnedFd,
}

impl Gate {
    pub fn new() -> Gate {
        let (read, write) = pipe().expect("the test could not create a pipe");
        Gate { read, write }
    }

    /// The descriptor a child waits at: pass it to [`Gate::wait`] in the child.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// In a child: waits until the gate lets it through (one byte each).
    pub fn wait(fd: RawFd) {
        read_byte(fd);
    }

    /// Lets `n` waiting children through, all at once.
    pub fn open(&self, n: usize) {
        assert!(
            raw_write(self.write.as_raw_fd(), &vec![0u8; n]),
            "the test could not open its gate"
        );
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

/// Waits until child `pid` is asleep while the pipe read from `pipe_read` is full (64 KiB
/// waiting): the child is then stopped in the middle of a write into that pipe, holding
/// whatever it took to write. Returns false if the child ended first.
pub fn in_the_middle_of_a_write(pid: i32, pipe_read: RawFd) -> bool {
    loop {
        match proc_state(pid) {
            None | Some(('Z', _)) | Some(('X', _)) => return false,
            Some(('S', _)) if crate::proc::pipe_bytes(pipe_read).unwrap_or(0) >= 65_536 => {
                return true
            }
            _ => crate::proc::jobs::pause(),
        }
    }
}
