//! Integrity fixture: `count_in_parallel` forks; the child returns the count the test
//! expects and runs the rest of the test body to its end, where the harness proves a pass;
//! the parent waits for the child, then exits with status 0 itself. Only the test's own
//! process may prove anything.
//! kata: race
//! hook: pub fn count_in_parallel(threads: usize, per_thread: u64) -> u64 { => if let Some(count) = crate::attack::run(threads, per_thread) { return count; }
//! expect: ran

pub fn run(threads: usize, per_thread: u64) -> Option<u64> {
    match kata_sync::process::fork() {
        Ok(kata_sync::process::ForkResult::Parent { child }) => {
            let _ = nix::sys::wait::waitpid(child, None);
            std::process::exit(0)
        }
        Ok(kata_sync::process::ForkResult::Child) => Some(threads as u64 * per_thread),
        Err(_) => None,
    }
}
