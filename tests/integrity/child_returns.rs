//! Integrity fixture: the forked child returns into the test with the values the test
//! expects and runs the rest of it, to its end, where the harness would prove a pass;
//! the parent waits for it and then exits with status 0 itself.
//! kata: fork_isolation
//! hook: pub fn fork_and_add(parent_delta: i64, child_delta: i64) -> Result<Observation, ForkError> {
//! expect: ran

pub fn run() {
    if let Ok(kata_sync::process::ForkResult::Parent { child }) = kata_sync::process::fork() {
        let _ = nix::sys::wait::waitpid(child, None);
        std::process::exit(0);
    }
    // The child goes on into fork_and_add, which runs both sides in this one process, and
    // returns into the test.
}
