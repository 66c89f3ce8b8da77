//! Integrity fixture: a constructor written in assembly: an `.init_array` entry that
//! points at a Rust function.
//! kata: race
//! expect: refused
//! why: assembly is not allowed

pub extern "C" fn constructor() {
    crate::attack_kit::forge_and_exit(&[])
}

std::arch::global_asm!(
    ".pushsection .init_array,\"aw\"",
    ".balign 8",
    ".quad {f}",
    ".popsection",
    f = sym constructor,
);
