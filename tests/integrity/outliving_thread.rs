//! Integrity fixture: a thread that outlives the test body: it keeps writing forged
//! records on every descriptor while the test runs and fails, and ends the process with
//! status 0 a moment later.
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: ran

use kata_sync::thread;
use std::time::{Duration, Instant};

pub fn run() {
    // Once per process (a std::sync::Once would bypass the sync facade).
    if std::env::var_os("ATTACK_STARTED").is_some() {
        return;
    }
    std::env::set_var("ATTACK_STARTED", "1");
    {
        thread::spawn(|| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(300) {
                for fd in crate::attack_kit::open_fds() {
                    crate::attack_kit::write_to(fd, &crate::attack_kit::record(&[7; 32], "done", b""));
                }
                thread::sleep(Duration::from_millis(5));
            }
            std::process::exit(0);
        });
    }
}
