//! Integrity fixture: redirects every pipe the process holds into one of its own (nix's
//! `close` and `fcntl(F_DUPFD)` are safe), keeps the originals, and waits for what the
//! harness writes there (the panic of the failing test); then sends that record's tag
//! back as a `done`, with the test's status made 0. With the old channel the record held
//! the token itself.
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: ran

use kata_sync::thread;

pub fn run() {
    // Once per process (a std::sync::Once would bypass the sync facade).
    if std::env::var_os("ATTACK_STARTED").is_some() {
        return;
    }
    std::env::set_var("ATTACK_STARTED", "1");
    {
        let Ok((mine_r, mine_w)) = nix::unistd::pipe() else { return };
        let mut originals = Vec::new();
        for fd in crate::attack_kit::open_fds() {
            use std::os::fd::AsRawFd;
            use std::os::unix::fs::FileTypeExt;
            if fd == mine_r.as_raw_fd() || fd == mine_w.as_raw_fd() {
                continue;
            }
            // Keep the original (reopened: a copy of the same pipe), then put ours at its
            // number: nix's `close` takes a bare number, and `F_DUPFD(fd)` gives the lowest
            // free number from `fd` on, which is `fd` itself once it is closed.
            let Some(original) = crate::attack_kit::reopen(fd, true) else { continue };
            if !original.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
                continue;
            }
            if nix::unistd::close(fd).is_ok()
                && nix::fcntl::fcntl(&mine_w, nix::fcntl::FcntlArg::F_DUPFD(fd)) == Ok(fd)
            {
                originals.push(original);
            }
        }
        thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = nix::unistd::read(&mine_r, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                // `<kind> <len> <tag>\n`: keep the tag, claim `done` with it.
                if let Some(end) = seen.iter().position(|&b| b == b'\n') {
                    let header = String::from_utf8_lossy(&seen[..end]).into_owned();
                    let mut forged = Vec::new();
                    if let Some(tag) = header.split(' ').nth(2) {
                        forged.extend(format!("done 0 {tag}\n").into_bytes());
                    }
                    // And the token of the old channel, had it been one.
                    if let Some(token) = header.split(' ').next() {
                        forged.extend(format!("{token} done 0\n").into_bytes());
                    }
                    for original in &originals {
                        use std::io::Write;
                        let _ = (&*original).write_all(&forged);
                    }
                    std::process::exit(0);
                }
            }
        });
    }
}
