//! The fixed-seed, no-persistence proptest runner that determinism rests on.
//!
//! Every property of a hidden suite runs through [`check`]: the same seed gives the same
//! cases on every run, nothing is read from the environment (`PROPTEST_CASES` and the
//! other `PROPTEST_*` variables are ignored), and nothing is written to disk (no
//! `proptest-regressions` file appears in a submission). A failure is shrunk to a
//! smallest case, and [`check`] panics with the property's own message followed by that
//! case.
//!
//! ```ignore
//! // `proptest::prelude::*` brings a module named `prop` too: name the kit `kit`.
//! use kata_testkit::prop as kit;
//! use kata_testkit::prop::TestCaseError;
//! use proptest::prelude::*;
//!
//! /// The seed of every property of this suite: 32 bytes, fixed.
//! const SEED: [u8; 32] = *b"my kata: fixed proptest seed....";
//!
//! kit::check(&SEED, 256, (0u32..10, 0u32..10), |(a, b)| {
//!     let sum = kit::catch("add(a, b)", &format!("a = {a}, b = {b}"), || my_kata::add(a, b))?;
//!     kit::ensure(sum == a + b, || format!("add({a}, {b}) returned {sum}"))
//! });
//! ```
//!
//! The API (stable: suites of several katas depend on it):
//! - [`check`]`(seed, cases, strategy, property)`: runs the property, panics on a failure;
//! - [`config`]`(cases)` and [`runner`]`(seed, cases)`: the same settings, for a suite that
//!   drives a `TestRunner` itself;
//! - [`check_examples`]`(examples, property)`: runs the same property on cases written
//!   by hand (corner cases a random strategy may never draw), before or beside [`check`];
//! - [`ensure`]`(condition, message)`: fails the current case with a message;
//! - [`catch`]`(what, context, f)`: runs a call into the kata, a panic in it fails the
//!   case with a message naming the call;
//! - [`panic_message`]`(payload)`: the text of a panic payload (`&str` or `String`).

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

/// The message of a panic payload: the `&str` or `String` it holds, or a note that it
/// holds some other type (the same function as [`crate::threads::panic_message`]).
pub use crate::threads::panic_message;
pub use proptest::test_runner::TestCaseError;

/// The settings of every property: `cases` cases, no failure persistence, and every
/// setting that `PROPTEST_*` environment variables could change pinned to a fixed value.
pub fn config(cases: u32) -> Config {
    // Config::default() reads the PROPTEST_* environment variables: overwrite every
    // field they can set, so that the environment of a run changes nothing.
    Config {
        cases,
        failure_persistence: None,
        max_local_rejects: 65_536,
        max_global_rejects: 1024,
        max_flat_map_regens: 1_000_000,
        max_shrink_time: 0, // no time limit on shrinking: a time limit is not deterministic
        max_shrink_iters: u32::MAX,
        max_default_size_range: 100,
        verbose: 0,
        rng_algorithm: RngAlgorithm::ChaCha,
        source_file: None,
        test_name: None,
        ..Config::default()
    }
}

/// A runner with [`config`]`(cases)` whose random numbers come from `seed` (ChaCha): the
/// same seed gives the same cases, in the same order, on every run.
pub fn runner(seed: &[u8; 32], cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        config(cases),
        TestRng::from_seed(RngAlgorithm::ChaCha, seed),
    )
}

/// Runs `property` on `cases` values of `strategy`, drawn with the fixed `seed`.
///
/// Returns when every case passes. Otherwise proptest shrinks the failure to a smallest
/// case, and this panics (with a `String` payload) with the property's message, then
/// that case's `Debug` form; if the strategy rejected too many values, it panics saying
/// the property could not run.
pub fn check<S>(
    seed: &[u8; 32],
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
{
    match runner(seed, cases).run(&strategy, property) {
        Ok(()) => {}
        Err(TestError::Fail(why, smallest)) => {
            panic!("{why}\n(the smallest failing case proptest found: {smallest:?})")
        }
        Err(TestError::Abort(why)) => panic!("the property could not run: {why}"),
    }
}

/// Runs `property` on each of `examples`, in order: cases written by hand, which a
/// random strategy may never draw. Panics (with a `String` payload) at the first that
/// fails, with the property's message, then the example's `Debug` form. No shrinking:
/// an example is already as small as its author made it.
pub fn check_examples<T: std::fmt::Debug>(
    examples: impl IntoIterator<Item = T>,
    property: impl Fn(T) -> Result<(), TestCaseError>,
) {
    for example in examples {
        let shown = format!("{example:?}");
        match property(example) {
            Ok(()) => {}
            Err(TestCaseError::Fail(why)) => panic!("{why}\n(the example: {shown})"),
            Err(TestCaseError::Reject(why)) => {
                panic!("the example {shown} was rejected ({why}): fix the example")
            }
        }
    }
}

/// `Ok(())` if `condition` holds; otherwise fails the current case with `message()`
/// (proptest then shrinks it). Use it as the property's last expression, or with `?`.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if condition {
        Ok(())
    } else {
        Err(TestCaseError::fail(message()))
    }
}

/// Runs one call into the kata. If it panics, the current case fails (and is shrunk)
/// with "`what` panicked: <the panic's message>", then `context` (say, the input as a
/// table) on the next line.
pub fn catch<T>(what: &str, context: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        TestCaseError::fail(format!(
            "{what} panicked: {}\n{context}",
            panic_message(payload.as_ref())
        ))
    })
}
