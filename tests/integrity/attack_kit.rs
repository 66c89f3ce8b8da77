//! What a student who has read the harness's source would write to forge a proof: every
//! integrity fixture that runs gets this module as `crate::attack_kit`. Safe Rust only
//! (nix and std), as a submission must be.

use std::io::Write;

/// A record as the harness writes it, tagged with `key` (SipHash-2-4 twice, keyed with the
/// two halves of the key, over `kind \0 payload`: see kata-harness/src/record.rs).
pub fn record(key: &[u8], kind: &str, payload: &[u8]) -> Vec<u8> {
    #[allow(deprecated)]
    fn sip(k0: u64, k1: u64, parts: &[&[u8]]) -> u64 {
        use std::hash::Hasher;
        let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
        for part in parts {
            h.write(part);
        }
        h.finish()
    }
    let mut k = [0u8; 32];
    for (i, b) in key.iter().take(32).enumerate() {
        k[i] = *b;
    }
    let word = |i: usize| u64::from_le_bytes(k[i * 8..i * 8 + 8].try_into().unwrap());
    let parts: [&[u8]; 3] = [kind.as_bytes(), b"\0", payload];
    let tag: String = sip(word(0), word(1), &parts)
        .to_le_bytes()
        .iter()
        .chain(sip(word(2), word(3), &parts).to_le_bytes().iter())
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("{kind} {} {tag}\n", payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The descriptors this process has open above stderr, as `/proc/self/fd` lists them
/// (since nix 0.30, safe code can no longer ask `fcntl` about a descriptor by number).
pub fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    fds.sort_unstable();
    fds
}

/// Descriptor `fd` opened again through `/proc/self/fd/<fd>`, for reading or for writing,
/// without blocking: safe Rust's way to reach a descriptor known only by its number (a
/// pipe's read end opens for writing there, and its write end for reading).
pub fn reopen(fd: i32, write: bool) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(format!("/proc/self/fd/{fd}"))
        .ok()
}

/// Writes `bytes` on descriptor `fd` by every safe way there is: through
/// `/proc/self/fd/<fd>`, and by moving that onto stdout for a moment (nix's
/// `dup2_stdout` is safe).
pub fn write_to(fd: i32, bytes: &[u8]) {
    let Some(mut file) = reopen(fd, true) else {
        return;
    };
    let _ = file.write_all(bytes);
    if let Ok(saved) = nix::unistd::dup(std::io::stdout()) {
        if nix::unistd::dup2_stdout(&file).is_ok() {
            let _ = std::io::stdout().write_all(bytes);
            let _ = std::io::stdout().flush();
        }
        let _ = nix::unistd::dup2_stdout(&saved);
    }
}

/// Candidate keys out of any bytes: every 32-byte window at an 8-byte boundary that
/// looks random (many distinct byte values), at most `max` of them.
pub fn candidates(bytes: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 32 <= bytes.len() && out.len() < max {
        let window = &bytes[at..at + 32];
        let mut seen = [false; 256];
        let distinct = window.iter().filter(|&&b| !std::mem::replace(&mut seen[b as usize], true)).count();
        if distinct >= 20 {
            out.push(window.to_vec());
        }
        at += 8;
    }
    out
}

/// Sends a `done` tagged with each candidate key (and a few untagged guesses) on every
/// open descriptor, then ends the process with status 0, as a passing test would.
pub fn forge_and_exit(keys: &[Vec<u8>]) -> ! {
    let mut records: Vec<u8> = Vec::new();
    for key in keys {
        records.extend(record(key, "done", b""));
    }
    records.extend(record(&[0u8; 32], "done", b""));
    records.extend(b"0123456789abcdef0123456789abcdef done 0\n");
    for fd in open_fds() {
        // In pieces: a pipe takes 64 KiB at a time, and the grader reads on.
        for chunk in records.chunks(16 << 10) {
            write_to(fd, chunk);
        }
    }
    std::process::exit(0)
}
