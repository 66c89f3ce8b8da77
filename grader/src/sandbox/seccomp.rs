//! The seccomp filter every test runs under: the system calls that would let code read
//! its own process's memory (or another's) are refused.
//!
//! The harness keeps a key in the test's memory and makes the process non-dumpable, so
//! that `/proc/self/mem` belongs to root. This filter makes that stick: the process may
//! not make itself dumpable again (nix offers `prctl::set_dumpable` to safe code), nor
//! use `ptrace`, `process_vm_readv`/`writev`, `pidfd_getfd`, `perf_event_open` or
//! io_uring (which works around seccomp). Everything else is allowed: the katas fork,
//! pipe, poll, signal and wait freely.

use std::io;

// seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args[i] at 16 + 8 i (the
// low half of each argument first, on the little-endian machines below).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0_LOW: u32 = 16;
const OFF_ARG1_LOW: u32 = 24;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// x86_64's x32 system calls carry this bit; none is needed, and each would need a rule.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Refused outright (EPERM).
const DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_perf_event_open,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
];

/// A BPF program for `seccomp(SECCOMP_SET_MODE_FILTER)`, built before fork so that
/// installing it allocates nothing.
pub struct Filter {
    program: Vec<libc::sock_filter>,
}

enum Step {
    Load(u32),
    /// Compare the accumulator; go to `then` if it holds, else fall through.
    JumpIfEqual(u32, Label),
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    JumpIfAtLeast(u32, Label),
    JumpIfNotEqual(u32, Label),
    Return(u32),
    Mark(Label),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Allow,
    Deny,
    Kill,
    Prctl,
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

impl Filter {
    pub fn new() -> Filter {
        use Label::*;
        use Step::*;
        let mut steps = vec![
            Load(OFF_ARCH),
            JumpIfNotEqual(AUDIT_ARCH, Kill),
            Load(OFF_NR),
        ];
        #[cfg(target_arch = "x86_64")]
        steps.push(JumpIfAtLeast(X32_SYSCALL_BIT, Deny));
        for &nr in DENIED {
            steps.push(JumpIfEqual(nr as u32, Deny));
        }
        steps.push(JumpIfEqual(libc::SYS_prctl as u32, Prctl));
        steps.push(Return(libc::SECCOMP_RET_ALLOW));
        // prctl(PR_SET_DUMPABLE, x): only x == 0 (the harness's own call) passes.
        steps.extend([
            Mark(Prctl),
            Load(OFF_ARG0_LOW),
            JumpIfNotEqual(libc::PR_SET_DUMPABLE as u32, Allow),
            Load(OFF_ARG1_LOW),
            JumpIfEqual(0, Allow),
            Mark(Deny),
            Return(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
            Mark(Kill),
            Return(libc::SECCOMP_RET_KILL_PROCESS),
            Mark(Allow),
            Return(libc::SECCOMP_RET_ALLOW),
        ]);
        // Where each label lands, counted in instructions (marks take no room).
        let mut at = Vec::new();
        let mut pc = 0usize;
        for step in &steps {
            match step {
                Mark(label) => at.push((*label, pc)),
                _ => pc += 1,
            }
        }
        let target = |label: Label| at.iter().find(|(l, _)| *l == label).unwrap().1;
        let mut program = Vec::new();
        for step in &steps {
            let pc = program.len();
            // Jumps are relative to the next instruction, and only go forward.
            let offset = |label: Label| -> u8 {
                u8::try_from(target(label) - pc - 1).expect("a short forward jump")
            };
            let jump = |op: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
                code: (libc::BPF_JMP | op | libc::BPF_K) as u16,
                jt,
                jf,
                k,
            };
            match *step {
                Load(offset) => {
                    program.push(stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset))
                }
                JumpIfEqual(k, label) => program.push(jump(libc::BPF_JEQ, k, offset(label), 0)),
                JumpIfNotEqual(k, label) => program.push(jump(libc::BPF_JEQ, k, 0, offset(label))),
                JumpIfAtLeast(k, label) => program.push(jump(libc::BPF_JGE, k, offset(label), 0)),
                Return(k) => program.push(stmt(libc::BPF_RET | libc::BPF_K, k)),
                Mark(_) => {}
            }
        }
        Filter { program }
    }

    /// Installs the filter on the calling thread (which must have `no_new_privs` set).
    /// Async-signal-safe: for use between fork and exec.
    ///
    /// # Safety
    /// Only in a child between fork and exec, or in a process meant to stay filtered.
    pub unsafe fn install(&self) -> io::Result<()> {
        let prog = libc::sock_fprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        let done = libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        );
        if done != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Default for Filter {
    fn default() -> Filter {
        Filter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` in a forked child with the filter installed; its exit code.
    fn filtered(body: fn() -> i32) -> i32 {
        let filter = Filter::new();
        // SAFETY: the child only makes system calls and _exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || filter.install().is_err()
                {
                    libc::_exit(100);
                }
                libc::_exit(body());
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(
                libc::WIFEXITED(status),
                "the filtered child died: {status:#x}"
            );
            libc::WEXITSTATUS(status)
        }
    }

    #[test]
    fn dumpable_may_be_cleared_but_never_set_again() {
        let code = filtered(|| unsafe {
            if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
                return 1;
            }
            if libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 {
                return 2;
            }
            if *libc::__errno_location() != libc::EPERM {
                return 3;
            }
            // Other prctl calls pass.
            if libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 {
                return 4;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn memory_reading_calls_are_refused_and_the_rest_works() {
        let code = filtered(|| unsafe {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != -1 {
                return 1;
            }
            let mut byte = 0u8;
            let local = libc::iovec {
                iov_base: (&mut byte as *mut u8).cast(),
                iov_len: 1,
            };
            let remote = libc::iovec {
                iov_base: (&byte as *const u8 as *mut u8).cast(),
                iov_len: 1,
            };
            if libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) != -1
                || *libc::__errno_location() != libc::EPERM
            {
                return 2;
            }
            // Ordinary work still goes through.
            let mut fds = [0; 2];
            if libc::pipe(fds.as_mut_ptr()) != 0
                || libc::write(fds[1], b"x".as_ptr().cast(), 1) != 1
            {
                return 3;
            }
            let child = libc::fork();
            if child == 0 {
                libc::_exit(7);
            }
            let mut status = 0;
            if libc::waitpid(child, &mut status, 0) != child || libc::WEXITSTATUS(status) != 7 {
                return 4;
            }
            0
        });
        assert_eq!(code, 0);
    }
}
