//! Visible tests: run them with `cargo test -p process`. The grader's hidden tests go
//! further (signals, zombies, panics, a child that returns into the caller, Drop, errors).

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::{pipe, Pid};
use process::{Process, Run};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Children of one test must not be mistaken for another's: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn my_pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// The pid of the test process, to tell a child from the caller.
static TEST_PID: AtomicI32 = AtomicI32::new(0);

fn in_child() -> bool {
    my_pid() != TEST_PID.load(Ordering::SeqCst)
}

/// Starts `p`; a child that comes back out of start() is stopped here, with a note.
fn start(p: &mut Process) {
    TEST_PID.store(my_pid(), Ordering::SeqCst);
    let me = my_pid();
    let result = p.start();
    if my_pid() != me {
        let note = b"\n*** a child returned from start() into the test: end the child \
                     with kata_sync::process::_exit(code) ***\n";
        let _ = nix::unistd::write(std::io::stderr(), note);
        kata_sync::process::_exit(86);
    }
    result.unwrap_or_else(|e| panic!("start() failed: {e}"));
    let pid = p.pid().expect("pid() after start()");
    assert_ne!(
        pid, me,
        "pid() is the test's own pid: start() must fork a child and return its pid"
    );
}

/// Blocks the child reading `fd` until the test writes a byte (or a signal ends it).
fn wait_at(fd: &OwnedFd) {
    let mut byte = [0u8];
    while nix::unistd::read(fd, &mut byte).is_err() {}
}

#[test]
fn course_example_start_and_join() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // p = Process(target=run_proc, args=('test',)); p.start(); p.join()
    let (read_end, write_end) = pipe().unwrap();
    let mut p = Process::new(move || {
        let me = my_pid().to_ne_bytes();
        // One write(2) of our own buffer: no allocation in the forked child.
        let _ = nix::unistd::write(&write_end, &me);
        0
    });
    assert_eq!(p.pid(), None, "pid() before start()");
    start(&mut p);
    assert_eq!(
        p.join(None),
        Ok(Some(0)),
        "join(None) on a target that returns 0"
    );
    let mut bytes = [0u8; 4];
    std::fs::File::from(read_end)
        .read_exact(&mut bytes)
        .expect("the target writes its pid (4 bytes) into the pipe");
    let child = i32::from_ne_bytes(bytes);
    assert_eq!(
        Some(child),
        p.pid(),
        "the target runs in the child whose pid is pid()"
    );
    assert_eq!(p.exitcode(), Some(0));
    assert!(!p.is_alive(), "is_alive() after join");
    assert_eq!(
        waitpid(Pid::from_raw(child), Some(WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD),
        "join must reap the child"
    );
}

#[test]
fn exit_code_and_terminate() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = Process::new(|| if in_child() { 42 } else { 99 });
    start(&mut p);
    assert_eq!(
        p.join(None),
        Ok(Some(42)),
        "the exit code is what the target returned"
    );

    let (read_end, _write_end) = pipe().unwrap();
    let mut q = Process::new(move || {
        if in_child() {
            wait_at(&read_end); // blocked: nobody writes
        }
        0
    });
    start(&mut q);
    assert!(q.is_alive(), "a blocked child is alive");
    q.terminate().unwrap();
    assert_eq!(
        q.join(None),
        Ok(Some(-15)),
        "terminate() sends SIGTERM (15): the exit code is -15"
    );
}

#[test]
fn join_with_a_timeout_leaves_the_child_running() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (read_end, write_end) = pipe().unwrap();
    let mut p = Process::new(move || {
        if in_child() {
            wait_at(&read_end);
        }
        7
    });
    start(&mut p);
    assert_eq!(
        p.join(Some(Duration::from_millis(20))),
        Ok(None),
        "join(Some(20ms)) on a blocked child returns Ok(None)"
    );
    assert!(p.is_alive(), "join with a timeout never kills the child");
    nix::unistd::write(&write_end, b"x").unwrap(); // let it go
    assert_eq!(p.join(None), Ok(Some(7)));
}

struct Interval(i32);

impl Run for Interval {
    fn run(&mut self) -> i32 {
        self.0 * 2
    }
}

#[test]
fn default_names_count_up_and_run_is_the_subclass_style() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let a = Process::new(|| 0);
    let b = Process::with_name("dongGe", || 0);
    let mut c = Process::from_run(Interval(3));
    let n: u64 = a
        .name()
        .strip_prefix("Process-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a default name is Process-N, got {:?}", a.name()));
    assert!(n >= 1, "Process-N counts from 1");
    assert_eq!(b.name(), "dongGe");
    assert_eq!(
        c.name(),
        format!("Process-{}", n + 2),
        "a named process takes a number too"
    );
    start(&mut c);
    assert_eq!(
        c.join(None),
        Ok(Some(6)),
        "from_run: the exit code is what run() returns"
    );
}
