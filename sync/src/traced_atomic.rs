//! Under loom: the facade's atomics are loom's, each wrapped so that every operation is a
//! step of the trace (see [`crate::trace`]) with its thread, its value and the caller's
//! line. Without loom the facade hands out std's atomics behind `crate::chaos`. The wrappers forward
//! loom's whole API, so a kata compiles against them exactly as against loom's own.

use crate::trace::{step_with, Value};
use loom::sync::atomic as inner;
pub use loom::sync::atomic::{fence, spin_loop_hint, AtomicPtr, Ordering};
use std::panic::Location;

/// `value`, recorded as the step `what` at the caller's line.
#[track_caller]
fn stepped<T: Into<Value> + Copy>(what: &'static str, value: T) -> T {
    step_with(what, value.into(), Location::caller());
    value
}

/// The result of a compare-exchange (or an update that may decline), recorded as a step:
/// `Ok(previous)` as `done`, `Err(actual)` as `declined`.
#[track_caller]
fn exchanged<T: Into<Value> + Copy>(
    result: Result<T, T>,
    done: &'static str,
    declined: &'static str,
) -> Result<T, T> {
    match result {
        Ok(previous) => Ok(stepped(done, previous)),
        Err(actual) => Err(stepped(declined, actual)),
    }
}

macro_rules! traced_common {
    ($name:ident, $t:ty) => {
        /// Loom's atomic of the same name; every operation is a step of the trace.
        #[derive(Default)]
        pub struct $name(inner::$name);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$t> for $name {
            fn from(value: $t) -> Self {
                $name(inner::$name::from(value))
            }
        }

        impl $name {
            #[track_caller]
            pub fn new(value: $t) -> $name {
                $name(inner::$name::new(value))
            }

            /// # Safety
            /// As loom's `unsync_load`.
            #[track_caller]
            pub unsafe fn unsync_load(&self) -> $t {
                // SAFETY: the caller keeps loom's contract.
                unsafe { self.0.unsync_load() }
            }

            #[track_caller]
            pub fn into_inner(self) -> $t {
                self.0.into_inner()
            }

            #[track_caller]
            pub fn load(&self, order: Ordering) -> $t {
                stepped("load", self.0.load(order))
            }

            #[track_caller]
            pub fn store(&self, value: $t, order: Ordering) {
                self.0.store(value, order);
                stepped("store", value);
            }

            #[track_caller]
            pub fn swap(&self, value: $t, order: Ordering) -> $t {
                stepped("swap, was", self.0.swap(value, order))
            }

            #[track_caller]
            #[allow(deprecated)]
            pub fn compare_and_swap(&self, current: $t, new: $t, order: Ordering) -> $t {
                stepped(
                    "compare_and_swap, was",
                    self.0.compare_and_swap(current, new, order),
                )
            }

            #[track_caller]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                exchanged(
                    self.0.compare_exchange(current, new, success, failure),
                    "compare_exchange succeeds, was",
                    "compare_exchange fails, is",
                )
            }

            #[track_caller]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                exchanged(
                    self.0.compare_exchange_weak(current, new, success, failure),
                    "compare_exchange succeeds, was",
                    "compare_exchange fails, is",
                )
            }

            #[track_caller]
            pub fn try_update(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: impl FnMut($t) -> Option<$t>,
            ) -> Result<$t, $t> {
                exchanged(
                    self.0.try_update(set_order, fetch_order, f),
                    "update, was",
                    "update declined, is",
                )
            }

            #[track_caller]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                self.try_update(set_order, fetch_order, f)
            }

            #[track_caller]
            pub fn update(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: impl FnMut($t) -> $t,
            ) -> $t {
                stepped("update, was", self.0.update(set_order, fetch_order, f))
            }
        }

        traced_fetch!($name, $t, fetch_and, "fetch_and, was");
        traced_fetch!($name, $t, fetch_nand, "fetch_nand, was");
        traced_fetch!($name, $t, fetch_or, "fetch_or, was");
        traced_fetch!($name, $t, fetch_xor, "fetch_xor, was");
    };
}

macro_rules! traced_fetch {
    ($name:ident, $t:ty, $method:ident, $what:literal) => {
        impl $name {
            #[track_caller]
            pub fn $method(&self, value: $t, order: Ordering) -> $t {
                stepped($what, self.0.$method(value, order))
            }
        }
    };
}

macro_rules! traced_int {
    ($name:ident, $t:ty) => {
        traced_common!($name, $t);
        traced_fetch!($name, $t, fetch_add, "fetch_add, was");
        traced_fetch!($name, $t, fetch_sub, "fetch_sub, was");
        traced_fetch!($name, $t, fetch_max, "fetch_max, was");
        traced_fetch!($name, $t, fetch_min, "fetch_min, was");

        impl $name {
            #[track_caller]
            pub fn with_mut<R>(&mut self, f: impl FnOnce(&mut $t) -> R) -> R {
                self.0.with_mut(f)
            }
        }
    };
}

traced_common!(AtomicBool, bool);
traced_int!(AtomicU8, u8);
traced_int!(AtomicU16, u16);
traced_int!(AtomicU32, u32);
traced_int!(AtomicU64, u64);
traced_int!(AtomicUsize, usize);
traced_int!(AtomicI8, i8);
traced_int!(AtomicI16, i16);
traced_int!(AtomicI32, i32);
traced_int!(AtomicI64, i64);
traced_int!(AtomicIsize, isize);
