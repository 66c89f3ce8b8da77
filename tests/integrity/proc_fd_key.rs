//! Integrity fixture: looks for the key where it came in: reads every descriptor's
//! contents through `/proc/self/fd/N` and `/dev/fd/N` (a process may always reopen its own
//! descriptors there; a pipe's write end reopens for reading), and tags a `done` with
//! whatever it found. (It also read them by number with nix's `read` until nix 0.30 made
//! `read` take a borrowed descriptor, which safe code cannot make from a number.)
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: ran

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

pub fn run() {
    let mut found = Vec::new();
    for fd in 0..256 {
        for path in [format!("/proc/self/fd/{fd}"), format!("/dev/fd/{fd}")] {
            // Without blocking: a pipe reopened for reading may hold nothing yet.
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path);
            if let Ok(mut file) = opened {
                let mut bytes = [0u8; 64];
                if let Ok(n) = file.read(&mut bytes) {
                    found.push(bytes[..n].to_vec());
                }
            }
        }
    }
    found.retain(|b| b.len() >= 32);
    crate::attack_kit::forge_and_exit(&found)
}
