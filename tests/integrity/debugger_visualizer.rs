//! Integrity fixture: `#[debugger_visualizer]` reads a file at compile time, outside the
//! sandbox, and embeds it in the binary: here the hidden tests, which the test could
//! then print.
//! kata: race
//! expect: refused
//! why: `#[debugger_visualizer]` is not allowed

#![debugger_visualizer(gdb_script_file = "../../../../../../../../grader/hidden/race/race_loom.rs")]
