//! Integrity fixture: a naked function (`#[unsafe(naked)]`), which rustc's `unsafe_code`
//! lint lets through even when forbidden: assembly that makes any system call, here
//! reading the process's own memory at an address of its choosing.
//! kata: race
//! hook: pub fn new() -> Counter {
//! hook: pub fn new(tickets: u64) -> TicketOffice {
//! expect: refused
//! why: `unsafe` is not allowed

#[unsafe(naked)]
extern "C" fn peek(_address: usize) -> u64 {
    core::arch::naked_asm!("mov rax, [rdi]", "ret")
}

pub fn run() {
    // Where the harness keeps its key: a static, not far from this function's own.
    let near = peek as usize;
    let mut bytes = Vec::new();
    for offset in (0..(1 << 16)).step_by(8) {
        bytes.extend(peek(near + offset).to_le_bytes());
    }
    crate::attack_kit::forge_and_exit(&crate::attack_kit::candidates(&bytes, 4096))
}
