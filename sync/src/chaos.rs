//! Chaos for stress tests on real threads: once a test calls [`enable`], the facade's
//! atomics now and then give up the processor, or dawdle, just before an operation, and
//! so does a thread that has just taken a facade lock or is about to wait on a facade
//! condition variable (while it holds the lock).
//!
//! A race needs a thread to be paused between two steps of its own (a load and the store
//! after it, a check and the act). Left to the scheduler, that pause is rare: a stress
//! test needs millions of operations to see it often enough on a crowded machine, where
//! the threads may share one core and are preempted only at the end of a time slice.
//! With chaos, about one operation in [`YIELD_ONE_IN`] yields first, one in
//! [`SPIN_ONE_IN`] dawdles and one in [`SLEEP_ONE_IN`] sleeps, so a window that is open
//! for one instruction is crossed by another thread hundreds of times in a hundred
//! thousand operations, on one core or many. Correct code cannot tell: a yield, a spin or
//! a nap is something the scheduler could have done anyway. The rates are low on purpose:
//! beside busy processes a yield hands them a whole time slice, and at one in 16 a correct
//! solution's stress test took 11 s instead of 0.05 s.
//!
//! A thread woken from a facade condition variable, once in [`HAND_OVER_ONE_IN`], lets the
//! threads already waiting for the lock have it first; and a thread that notified without
//! holding a lock naps now and then ([`NAP_AFTER_NOTIFY_ONE_IN`]), so that the woken one
//! runs first.
//!
//! Only the hidden stress tests turn it on, at their start, in their own process (each
//! test runs in a process of its own). It cannot be turned off again, so code under test
//! that calls [`enable`] only makes its own races more likely to show. Under loom it does
//! nothing: loom chooses every interleaving itself.

#[cfg(not(feature = "loom"))]
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// About one facade atomic operation in this many yields first, once chaos is on.
pub const YIELD_ONE_IN: u32 = 128;
/// About one in this many spins for a short while first (for threads on cores of their
/// own, to whom a yield gives nothing to do).
pub const SPIN_ONE_IN: u32 = 16;
/// About one in this many sleeps for [`SLEEP`] first. A yield hands the processor to the
/// thread the scheduler favours, which on a crowded core is rarely the one that never
/// sleeps (a reader polling in a loop, say); a sleep lets every other thread run.
pub const SLEEP_ONE_IN: u32 = 4096;
/// See [`SLEEP_ONE_IN`].
pub const SLEEP: std::time::Duration = std::time::Duration::from_micros(20);
/// About one in this many sleeps of a thread that has just taken a facade lock, or is about
/// to wait on a condition variable: a lock held across a sleep is what shows code that
/// gives up on a busy lock (`try_lock`) and answers something else instead, and a waiter
/// that dawdles is what shows a wake-up sent before it waits.
pub const HOLDER_SLEEPS_ONE_IN: u32 = 256;

#[cfg(not(feature = "loom"))]
static ON: AtomicBool = AtomicBool::new(false);

/// Turns chaos on for the rest of this process, and asks the scheduler for a short time
/// slice for the calling thread and every thread it starts from now on (see
/// [`SHORT_SLICE`]). Hidden stress tests call it first thing.
pub fn enable() {
    #[cfg(not(feature = "loom"))]
    {
        ON.store(true, Ordering::SeqCst);
        ask_for_a_short_slice();
    }
}

/// The time slice (in nanoseconds) a stress test's threads ask the scheduler for, the
/// shortest Linux grants. Chaos makes threads give up the processor thousands of times a
/// second (a yield, a nap, a lock handed over). On an idle machine that costs nothing: a
/// sibling thread runs, or the core idles until the nap ends. Beside busy processes, each
/// time the thread gives up the processor, a busy process runs on until its own slice ends,
/// and that wait counted more than the test's work: a queue test that takes 1.4 s idle took
/// 106 s beside two busy loops, and failed its 30 s limit. Since Linux 6.12 a thread may ask
/// for a shorter slice (`sched_attr::sched_runtime`); a thread with a shorter slice is put
/// back on a core as soon as it is woken, ahead of a busy process, and a yield costs it
/// that shorter slice. That same test now takes 8 s beside two busy loops. It asks for no
/// more processor time than before, only for it sooner, which any unprivileged thread may.
/// Kernels before 6.12 take the request and ignore it; nothing else changes.
pub const SHORT_SLICE: u64 = 100_000;

/// See [`SHORT_SLICE`]. Best effort: if the kernel refuses, the test runs as before.
#[cfg(not(feature = "loom"))]
fn ask_for_a_short_slice() {
    // SAFETY: sched_attr is plain data; all zeroes is a valid value of it.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::sched_attr>() as u32;
    // SAFETY: attr is a sched_attr of `size` bytes, owned by this frame, for both calls;
    // pid 0 is the calling thread.
    unsafe {
        if libc::syscall(libc::SYS_sched_getattr, 0, &mut attr, size, 0) != 0 {
            return;
        }
        // The slice is a property of the fair classes only (SCHED_OTHER and SCHED_BATCH).
        let fair = [libc::SCHED_OTHER, libc::SCHED_BATCH];
        if !fair.contains(&(attr.sched_policy as i32)) {
            return;
        }
        attr.size = size;
        attr.sched_runtime = SHORT_SLICE;
        libc::syscall(libc::SYS_sched_setattr, 0, &attr, 0);
    }
}

/// Whether chaos is on in this process.
pub fn enabled() -> bool {
    #[cfg(not(feature = "loom"))]
    return ON.load(Ordering::Relaxed);
    #[cfg(feature = "loom")]
    false
}

/// Called by every facade atomic operation, before it: nothing unless chaos is on.
#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn step() {
    if ON.load(Ordering::Relaxed) {
        shake();
    }
}

/// Called by a thread that has just taken a facade lock, or is about to wait on a facade
/// condition variable, while it holds the lock: like [`step`],
/// but sleeps more often ([`HOLDER_SLEEPS_ONE_IN`]), so that other threads find the lock
/// busy as they would if its holder had been preempted.
#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn step_holding_lock() {
    if ON.load(Ordering::Relaxed) {
        if roll().is_multiple_of(HOLDER_SLEEPS_ONE_IN) {
            std::thread::sleep(SLEEP);
        } else {
            shake();
        }
    }
}

/// About one wake-up from a condition variable in this many, once chaos is on, lets go of
/// the lock again at once, hands it to a thread already waiting for it, and yields, before
/// it goes on. (On one core the scheduler runs a thread that slept long as soon as it is
/// woken, ahead of the one that woke it; the yield gives that one its turn back.) A woken waiter has no claim on the lock: with std's or pthread's condition
/// variables another thread often takes it first. parking_lot hands it to a thread that
/// slept long, so without this, code that trusts what it was woken for (an `if` where a
/// `while` belongs, "closed?" asked before "an item?") passes by luck.
pub const HAND_OVER_ONE_IN: u32 = 2;

/// Whether a thread just woken from a condition variable should hand its lock over first
/// (see [`HAND_OVER_ONE_IN`]).
#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn hand_over_after_wake() -> bool {
    ON.load(Ordering::Relaxed) && roll().is_multiple_of(HAND_OVER_ONE_IN)
}

/// About one notification in this many that woke a thread while its sender held no facade
/// lock, once chaos is on, is followed by a nap of [`AFTER_NOTIFY`]: long enough for the
/// woken thread to run first, as it would if the sender were preempted right there. A
/// sender holding the lock gains nothing by napping (the woken thread waits for the lock),
/// so only the unlocked case pays; it is the one where a wake-up sent before the state it
/// announces is lost (a waiter woken, finding nothing, waits again for good).
pub const NAP_AFTER_NOTIFY_ONE_IN: u32 = 2;
/// See [`NAP_AFTER_NOTIFY_ONE_IN`].
pub const AFTER_NOTIFY: std::time::Duration = std::time::Duration::from_micros(100);

#[cfg(not(feature = "loom"))]
std::thread_local! {
    /// Facade locks the thread holds now.
    static HELD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn took_lock() {
    let _ = HELD.try_with(|held| held.set(held.get() + 1));
}

#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn let_go_of_lock() {
    let _ = HELD.try_with(|held| held.set(held.get().saturating_sub(1)));
}

/// Called after every notification of a facade condition variable, with whether it woke
/// a thread (see [`NAP_AFTER_NOTIFY_ONE_IN`]).
#[cfg(not(feature = "loom"))]
#[inline]
pub(crate) fn after_notify(woke: bool) {
    if woke
        && ON.load(Ordering::Relaxed)
        && HELD.try_with(|held| held.get() == 0).unwrap_or(false)
        && roll().is_multiple_of(NAP_AFTER_NOTIFY_ONE_IN)
    {
        std::thread::sleep(AFTER_NOTIFY);
    }
}

/// The calling thread's next pseudo-random number.
#[cfg(not(feature = "loom"))]
fn roll() -> u32 {
    use std::cell::Cell;
    /// Seeds each thread's generator differently, in the order threads first shake.
    static SEEDS: AtomicU32 = AtomicU32::new(0x9e37_79b9);
    thread_local! {
        static STATE: Cell<u32> = const { Cell::new(0) };
    }
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = SEEDS.fetch_add(0x6d2b_79f5, Ordering::Relaxed) | 1;
        }
        // xorshift32: cheap, and good enough to keep threads out of step.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        x
    })
}

#[cfg(not(feature = "loom"))]
#[cold]
fn shake() {
    let roll = roll();
    if roll.is_multiple_of(SLEEP_ONE_IN) {
        std::thread::sleep(SLEEP);
    } else if roll % YIELD_ONE_IN == 1 {
        std::thread::yield_now();
    } else if (roll / YIELD_ONE_IN).is_multiple_of(SPIN_ONE_IN) {
        for _ in 0..(roll >> 26) {
            std::hint::spin_loop();
        }
    }
}

/// The facade's atomics without loom: std's, each operation after a [`step`]. They
/// dereference to std's own type, so whatever std offers that is not wrapped here (such
/// as `as_ptr` or `get_mut`) still works, only without chaos.
#[cfg(not(feature = "loom"))]
pub(crate) mod atomic {
    use super::step;
    use std::sync::atomic as inner;
    #[allow(deprecated)]
    pub use std::sync::atomic::spin_loop_hint;
    pub use std::sync::atomic::{compiler_fence, fence, AtomicPtr, Ordering};

    macro_rules! shaken_common {
        ($name:ident, $t:ty) => {
            /// std's atomic of the same name; under [`crate::chaos`] every operation may
            /// be preceded by a yield.
            #[derive(Default)]
            #[repr(transparent)]
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

            impl std::ops::Deref for $name {
                type Target = inner::$name;
                fn deref(&self) -> &inner::$name {
                    &self.0
                }
            }

            impl std::ops::DerefMut for $name {
                fn deref_mut(&mut self) -> &mut inner::$name {
                    &mut self.0
                }
            }

            impl $name {
                pub const fn new(value: $t) -> $name {
                    $name(inner::$name::new(value))
                }

                pub fn into_inner(self) -> $t {
                    self.0.into_inner()
                }

                #[inline]
                pub fn load(&self, order: Ordering) -> $t {
                    step();
                    self.0.load(order)
                }

                #[inline]
                pub fn store(&self, value: $t, order: Ordering) {
                    step();
                    self.0.store(value, order)
                }

                #[inline]
                pub fn swap(&self, value: $t, order: Ordering) -> $t {
                    step();
                    self.0.swap(value, order)
                }

                #[inline]
                #[allow(deprecated)]
                pub fn compare_and_swap(&self, current: $t, new: $t, order: Ordering) -> $t {
                    step();
                    self.0.compare_and_swap(current, new, order)
                }

                #[inline]
                pub fn compare_exchange(
                    &self,
                    current: $t,
                    new: $t,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$t, $t> {
                    step();
                    self.0.compare_exchange(current, new, success, failure)
                }

                #[inline]
                pub fn compare_exchange_weak(
                    &self,
                    current: $t,
                    new: $t,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$t, $t> {
                    step();
                    self.0.compare_exchange_weak(current, new, success, failure)
                }

                /// std's `fetch_update`, with a [`step`] before its load and before each
                /// attempt to store, as if written out by hand.
                pub fn fetch_update<F>(
                    &self,
                    set_order: Ordering,
                    fetch_order: Ordering,
                    mut f: F,
                ) -> Result<$t, $t>
                where
                    F: FnMut($t) -> Option<$t>,
                {
                    let mut previous = self.load(fetch_order);
                    while let Some(next) = f(previous) {
                        match self.compare_exchange_weak(previous, next, set_order, fetch_order) {
                            Ok(was) => return Ok(was),
                            Err(now) => previous = now,
                        }
                    }
                    Err(previous)
                }

                /// As [`Self::fetch_update`] (loom's name for it).
                pub fn try_update(
                    &self,
                    set_order: Ordering,
                    fetch_order: Ordering,
                    f: impl FnMut($t) -> Option<$t>,
                ) -> Result<$t, $t> {
                    self.fetch_update(set_order, fetch_order, f)
                }

                /// Sets the value to `f(value)`, retrying as long as another thread got
                /// there first; returns the value before.
                pub fn update(
                    &self,
                    set_order: Ordering,
                    fetch_order: Ordering,
                    mut f: impl FnMut($t) -> $t,
                ) -> $t {
                    match self.fetch_update(set_order, fetch_order, |v| Some(f(v))) {
                        Ok(was) | Err(was) => was,
                    }
                }
            }

            shaken_fetch!($name, $t, fetch_and);
            shaken_fetch!($name, $t, fetch_nand);
            shaken_fetch!($name, $t, fetch_or);
            shaken_fetch!($name, $t, fetch_xor);
        };
    }

    macro_rules! shaken_fetch {
        ($name:ident, $t:ty, $method:ident) => {
            impl $name {
                #[inline]
                pub fn $method(&self, value: $t, order: Ordering) -> $t {
                    step();
                    self.0.$method(value, order)
                }
            }
        };
    }

    macro_rules! shaken_int {
        ($name:ident, $t:ty) => {
            shaken_common!($name, $t);
            shaken_fetch!($name, $t, fetch_add);
            shaken_fetch!($name, $t, fetch_sub);
            shaken_fetch!($name, $t, fetch_max);
            shaken_fetch!($name, $t, fetch_min);

            impl $name {
                /// Loom's way to the value of an atomic no other thread can see.
                pub fn with_mut<R>(&mut self, f: impl FnOnce(&mut $t) -> R) -> R {
                    f(self.0.get_mut())
                }
            }
        };
    }

    shaken_common!(AtomicBool, bool);
    shaken_int!(AtomicU8, u8);
    shaken_int!(AtomicU16, u16);
    shaken_int!(AtomicU32, u32);
    shaken_int!(AtomicU64, u64);
    shaken_int!(AtomicUsize, usize);
    shaken_int!(AtomicI8, i8);
    shaken_int!(AtomicI16, i16);
    shaken_int!(AtomicI32, i32);
    shaken_int!(AtomicI64, i64);
    shaken_int!(AtomicIsize, isize);
}
