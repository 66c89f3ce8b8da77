//! Integrity fixture: a fork kata (where the old grader allowed `unsafe` for fork and
//! _exit) that reads the harness's memory with raw pointers, near its own statics.
//! kata: fork_isolation
//! hook: pub fn fork_and_add(parent_delta: i64, child_delta: i64) -> Result<Observation, ForkError> {
//! expect: refused
//! why: `unsafe` is not allowed

pub fn run() {
    let near = &crate::COUNTER as *const _ as usize;
    let mut bytes = Vec::new();
    for offset in (0..(1usize << 16)).step_by(8) {
        // SAFETY: none; it may fault, and that is the student's gamble.
        let word = unsafe { std::ptr::read_volatile((near & !7).wrapping_add(offset) as *const u64) };
        bytes.extend(word.to_le_bytes());
    }
    crate::attack_kit::forge_and_exit(&crate::attack_kit::candidates(&bytes, 4096))
}
