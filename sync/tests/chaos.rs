//! The facade's chaos (`kata_sync::chaos`) in a process of its own: once on, it cannot be
//! turned off, and every test of this binary shares it. Under loom chaos does nothing.
#![cfg(not(feature = "loom"))]

use kata_sync::atomic::{AtomicU64, Ordering};
use kata_sync::{Arc, Mutex};
use std::sync::Barrier;

/// `threads` threads started together each run `each` rounds of `work`.
fn together(threads: usize, each: u64, work: impl Fn() + Send + Sync + 'static) {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (work, start) = (Arc::clone(&work), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..each {
                    work();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn chaos_opens_the_window_of_a_lost_update_and_keeps_correct_code_correct() {
    kata_sync::chaos::enable();
    assert!(kata_sync::chaos::enabled());
    // The stub's lost update: a load, then a store. Four threads, 20 000 rounds each: far
    // too few for the scheduler alone to preempt a thread between the two on a quiet
    // machine, but chaos pauses one there about once in a couple of hundred rounds.
    let racy = Arc::new(AtomicU64::new(0));
    let shared = Arc::clone(&racy);
    together(4, 20_000, move || {
        let seen = shared.load(Ordering::SeqCst);
        shared.store(seen + 1, Ordering::SeqCst);
    });
    let got = racy.load(Ordering::SeqCst);
    assert!(
        got < 80_000,
        "no update was lost in 80 000 load-then-store rounds: {got}"
    );

    // The same rounds made whole stay exact, with chaos or without.
    let atomic = Arc::new(AtomicU64::new(0));
    let shared = Arc::clone(&atomic);
    together(4, 20_000, move || {
        shared.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(atomic.load(Ordering::SeqCst), 80_000);
    let locked = Arc::new(Mutex::new(0u64));
    let shared = Arc::clone(&locked);
    together(4, 20_000, move || *shared.lock() += 1);
    assert_eq!(*locked.lock(), 80_000);
    // Whatever std offers beyond the wrapped operations still works, through Deref.
    let mut plain = AtomicU64::new(5);
    *plain.get_mut() += 1;
    assert_eq!(plain.into_inner(), 6);
    static CONST_BUILT: AtomicU64 = AtomicU64::new(7);
    assert_eq!(
        CONST_BUILT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v * 2)),
        Ok(7)
    );
    assert_eq!(CONST_BUILT.load(Ordering::SeqCst), 14);
}

/// The slice the calling thread has, as the kernel reports it (Linux 6.12 and later report
/// the fair class's slice as `sched_runtime`).
fn slice_of_this_thread() -> u64 {
    // SAFETY: sched_attr is plain data, all zeroes valid; the call writes at most `size`
    // bytes into it; pid 0 is the calling thread.
    unsafe {
        let mut attr: libc::sched_attr = std::mem::zeroed();
        let size = std::mem::size_of::<libc::sched_attr>() as u32;
        assert_eq!(
            libc::syscall(libc::SYS_sched_getattr, 0, &mut attr, size, 0),
            0,
            "sched_getattr: {}",
            std::io::Error::last_os_error()
        );
        attr.sched_runtime
    }
}

/// Whether this kernel lets a fair thread choose its slice (Linux 6.12 and later).
fn kernel_takes_a_slice_request() -> bool {
    let release =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("the kernel release");
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (6, 12)
}

#[test]
fn chaos_asks_for_a_short_slice_for_the_test_and_the_threads_it_starts() {
    kata_sync::chaos::enable();
    if !kernel_takes_a_slice_request() {
        eprintln!("this kernel is older than 6.12: it has no slice to ask for; nothing to check");
        return;
    }
    assert_eq!(slice_of_this_thread(), kata_sync::chaos::SHORT_SLICE);
    // Threads inherit it: the ones a test starts after `enable` are the ones that race.
    let started = std::thread::spawn(slice_of_this_thread).join().unwrap();
    assert_eq!(started, kata_sync::chaos::SHORT_SLICE);
}
