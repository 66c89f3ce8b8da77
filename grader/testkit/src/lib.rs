//! What the hidden suites share, so that each suite says only what it checks.
//!
//! The harness (`kata-harness`) stays tiny because the verdict trusts it; this kit is
//! ordinary test code: helpers that several suites would otherwise copy.
//!
//! - [`proc`]: this process and its children as the kernel sees them (`/proc`), pids,
//!   descriptors, reaping, probes that tell a real fork from a fake one;
//! - [`process_pool`]: one test of a pool of worker processes: its calls guarded, its
//!   workers checked to be live children of the test, then reaped;
//! - [`fault`]: making things fail on purpose: a child killed at a chosen system call, a
//!   worker killed mid-job, a system call that fails;
//! - [`busy`]: a caller whose world is not empty: children and zombies of its own, a
//!   thread holding stdout's lock across a fork, output pending in stdio buffers;
//! - [`threads`]: threads started together at a barrier, and joined with their results;
//! - [`prop`]: the fixed-seed, no-persistence proptest runner that determinism rests on;
//! - `loom` (in the loom twin only, feature `loom`): `model_checked`, loom's `model` for
//!   bodies that return their complaint instead of panicking.

pub mod busy;
pub mod fault;
#[cfg(feature = "loom")]
pub mod loom;
pub mod proc;
pub mod process_pool;
pub mod prop;
pub mod threads;
