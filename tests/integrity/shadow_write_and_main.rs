//! Integrity fixture: `write` and `main` shadowed through `#[export_name]`: every write of
//! the process (the harness's among them) and the program's entry go through the
//! submission.
//! kata: race
//! expect: refused
//! why: `#[export_name]` is not allowed

#[export_name = "write"]
pub extern "C" fn my_write(_fd: i32, _buf: *const u8, count: usize) -> isize {
    count as isize
}

#[export_name = "main"]
pub extern "C" fn my_main(_argc: i32, _argv: *const *const u8) -> i32 {
    crate::attack_kit::forge_and_exit(&[])
}
