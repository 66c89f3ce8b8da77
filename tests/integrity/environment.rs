//! Integrity fixture: reads every variable of its environment (the grader's
//! `KATA_GRADER_PROOF_FDS` and `KATA_GRADER_RUN` among them, if they are there), and
//! tries each value, and the descriptors it names, as the key.
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: ran

pub fn run() {
    let mut keys = Vec::new();
    for (name, value) in std::env::vars_os() {
        let value = value.to_string_lossy().into_owned();
        keys.push(value.as_bytes().to_vec());
        if name.to_string_lossy().starts_with("KATA_GRADER") {
            for fd in value.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<i32>().ok()) {
                let mut key = [0u8; 32];
                if crate::attack_kit::reopen(fd, false).is_some_and(|mut f| std::io::Read::read(&mut f, &mut key).is_ok()) {
                    keys.push(key.to_vec());
                }
            }
        }
    }
    let environ = std::fs::read("/proc/self/environ").unwrap_or_default();
    keys.extend(environ.split(|&b| b == 0).map(|v| v.to_vec()));
    crate::attack_kit::forge_and_exit(&keys)
}
