//! What the course hands out: a repository for students (`export student`) and an
//! autograder bundle for Gradescope (`export gradescope`). Both are built from the course
//! as it is, and neither is half-written on failure: each is put together beside its
//! destination and moved into place whole.

pub mod gradescope;
pub mod student;
