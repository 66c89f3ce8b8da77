//! Integrity fixture: a constructor in `.init_array`, which runs before `main` and so before
//! the harness: it reads the key the grader hands the harness, forges a `done`, and exits.
//! kata: race
//! expect: refused
//! why: `#[link_section]` is not allowed

fn forge() {
    let mut keys = Vec::new();
    if let Ok(fds) = std::env::var("KATA_GRADER_PROOF_FDS") {
        if let Some((key_fd, _)) = fds.split_once(',') {
            let mut key = [0u8; 32];
            if let Ok(fd) = key_fd.parse() {
                if crate::attack_kit::reopen(fd, false).is_some_and(|mut f| std::io::Read::read(&mut f, &mut key).is_ok()) {
                    keys.push(key.to_vec());
                }
            }
        }
    }
    crate::attack_kit::forge_and_exit(&keys)
}

extern "C" fn constructor() {
    forge()
}

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;
