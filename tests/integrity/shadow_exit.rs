//! Integrity fixture: `_exit` and `exit` shadowed by functions of the submission's own, so
//! that a test that fails still ends with status 0.
//! kata: race
//! expect: refused
//! why: `#[no_mangle]` is not allowed

#[no_mangle]
pub extern "C" fn _exit(_status: i32) -> ! {
    loop {
        nix::unistd::pause();
    }
}

#[no_mangle]
pub extern "C" fn exit(_status: i32) -> ! {
    loop {
        nix::unistd::pause();
    }
}
