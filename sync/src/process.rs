//! The few process calls the process katas need that Rust only offers as `unsafe`.
//!
//! Every kata crate is compiled with `unsafe_code` forbidden: code that may not write
//! `unsafe` cannot read the grader's memory, define a constructor that runs before `main`,
//! or shadow a libc symbol (see the README's threat model). These wrappers are the door
//! for the calls a kata legitimately needs; everything else has a safe form in nix
//! (`pipe2`, `read`, `write`, `waitpid`, `kill`, `getpid`, …) or std.
//!
//! They are safe to *call*, not safe to misuse: after `fork` in a process that has other
//! threads, the child may run only async-signal-safe code until it calls [`_exit`] (no
//! allocation, no `println!`, no locks another thread may have held at the fork). That is
//! the course's rule, and the hidden tests check it.

use std::os::fd::{AsFd, AsRawFd};

pub use nix::errno::Errno;
pub use nix::unistd::ForkResult;

/// fork(2): the child gets a copy of this process (memory, open descriptors; only the
/// calling thread). Returns `Child` in the child and `Parent { child }` (the child's pid)
/// in the parent.
///
/// In a multi-threaded caller the child may call only async-signal-safe functions until
/// it calls [`_exit`]: the other threads did not come along, and a lock one of them held
/// (the allocator's, stdout's) stays locked in the child forever.
pub fn fork() -> nix::Result<ForkResult> {
    // SAFETY: the contract above (async-signal-safe code only in the child of a
    // multi-threaded process) is the kata's to keep; breaking it deadlocks the child, it
    // does not corrupt the parent.
    unsafe { nix::unistd::fork() }
}

/// _exit(2): ends this process at once with `code`, without running exit handlers or
/// flushing stdio buffers (which a forked child shares with its parent's copies). What a
/// forked child must call instead of returning or calling `std::process::exit`.
pub fn _exit(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}

/// How many bytes wait to be read from the pipe `fd` (the FIONREAD ioctl).
pub fn bytes_in_pipe(fd: impl AsFd) -> nix::Result<usize> {
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD stores one c_int through the pointer, which points at `bytes`.
    let done = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::FIONREAD, &mut bytes) };
    if done < 0 {
        Err(Errno::last())
    } else {
        Ok(bytes.max(0) as usize)
    }
}
