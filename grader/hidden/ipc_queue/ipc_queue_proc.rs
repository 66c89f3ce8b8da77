//! Hidden proc suite of kata `ipc_queue`: real processes, forked by the tests.
//!
//! Every child a test forks ends with `_exit` and is reaped by the test; a [`Children`]
//! guard kills and reaps any child still running when a test fails, so no test leaves a
//! process behind.
//!
//! Whether a call waits is decided without a clock. The call runs in a forked child, which
//! has a single thread: it can only go to sleep inside a blocking system call of the kata.
//! The test watches the child's state in /proc/<pid>/stat ([`Probe::watch`]): a child seen
//! asleep (`S`) before its result arrived went to sleep inside the call. A call that must
//! not wait (`put_nowait` on a full queue) fails if the child is ever seen asleep; a call
//! that must wait (`get(true, …)` on an empty queue) fails if its result arrives before
//! the test has put anything, and passes when it then returns the item the test put.

use ipc_queue::{IpcQueue, QueueError, MAXSIZE_LIMIT};
use kata_harness::hidden_test;
// Every test starts with `setup()`: children are reaped by the test, not by an inherited
// `SIGCHLD = SIG_IGN`.
use kata_testkit::proc::setup;
// Raw I/O safe in a forked child, the test's own children, and this process's descriptors.
use kata_testkit::proc::{
    new_fds, open_fds, proc_state, raw_write, read_byte, read_to_end, Children,
};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::unistd::pipe;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

/// A timeout far longer than any test: a call given it must still be waiting when the
/// test acts. (Whole seconds: a timeout read with `subsec_millis()` would be 0.)
const HOUR: Duration = Duration::from_secs(3600);
const MS_50: Duration = Duration::from_millis(50);

// What a child reports about one queue call.
const OK: u8 = 0;
const OTHER_ITEM: u8 = 1;
const FULL: u8 = 2;
const EMPTY: u8 = 3;
const OTHER_ERROR: u8 = 4;

fn put_code(result: Result<(), QueueError>) -> u8 {
    match result {
        Ok(()) => OK,
        Err(QueueError::Full) => FULL,
        Err(QueueError::Empty) => EMPTY,
        Err(_) => OTHER_ERROR,
    }
}

fn get_code<T: PartialEq>(result: Result<T, QueueError>, expected: &T) -> u8 {
    match result {
        Ok(item) if item == *expected => OK,
        Ok(_) => OTHER_ITEM,
        Err(QueueError::Full) => FULL,
        Err(QueueError::Empty) => EMPTY,
        Err(_) => OTHER_ERROR,
    }
}

fn describe(code: u8) -> &'static str {
    match code {
        OK => "Ok",
        OTHER_ITEM => "Ok, but with another item than the one expected",
        FULL => "Err(Full)",
        EMPTY => "Err(Empty)",
        _ => "an error other than Full or Empty",
    }
}

/// A child process making one queue call, watched by the test.
struct Probe {
    pid: i32,
    report: OwnedFd,
    what: String,
}

enum Seen {
    /// The call returned in the child, with this code, before the child was seen asleep.
    Returned(u8),
    /// The child went to sleep inside the call.
    Asleep,
}

/// Forks a child that makes `call` and reports its code; returns once the child is about
/// to make the call.
fn probe(children: &mut Children, what: &str, call: impl FnOnce() -> u8) -> Probe {
    let (report, report_write) = pipe().expect("the test could not create a pipe");
    let write_fd = report_write.as_raw_fd();
    let pid = children.spawn(move || {
        raw_write(write_fd, b"R");
        let code = call();
        raw_write(write_fd, &[code]);
        0
    });
    drop(report_write);
    match read_byte(report.as_raw_fd()) {
        Some(b'R') => {}
        _ => panic!("the test's child process for {what} died before making the call"),
    }
    Probe {
        pid,
        report,
        what: what.to_string(),
    }
}

impl Probe {
    /// Waits until the call's result arrives or the child is seen asleep in the call.
    fn watch(&self) -> Seen {
        loop {
            if let Some(code) = self.poll_report(PollTimeout::from(2u8)) {
                return Seen::Returned(code);
            }
            if proc_state(self.pid).map(|(state, _)| state) == Some('S') {
                // Asleep. Had the call returned before, its result would be in the pipe.
                return match self.poll_report(PollTimeout::ZERO) {
                    Some(code) => Seen::Returned(code),
                    None => Seen::Asleep,
                };
            }
        }
    }

    /// The result, if it arrives within `timeout` (only a pause between two looks).
    fn poll_report(&self, timeout: PollTimeout) -> Option<u8> {
        let mut fds = [PollFd::new(self.report.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => match read_byte(self.report.as_raw_fd()) {
                Some(code) => Some(code),
                None => panic!(
                    "the child process making the call {} died before the call returned",
                    self.what
                ),
            },
            _ => None,
        }
    }

    /// Blocks until the call returns in the child; its code.
    fn result(&self) -> u8 {
        read_byte(self.report.as_raw_fd()).unwrap_or_else(|| {
            panic!(
                "the child process making the call {} died before the call returned",
                self.what
            )
        })
    }
}

/// Checks that `what`, made in a child process, returns `expected` without ever waiting.
fn must_not_wait(
    children: &mut Children,
    what: &str,
    situation: &str,
    expected: u8,
    call: impl FnOnce() -> u8,
) {
    let probe = probe(children, what, call);
    match probe.watch() {
        Seen::Asleep => {
            children.kill(probe.pid);
            panic!(
                "in a child process, {what} on {situation} went to sleep inside the call: \
                 with block = false (put_nowait, get_nowait) the call must return {} at once \
                 and never wait (Python ignores the timeout when block is false). Look \
                 without waiting: a non-blocking read, or poll(2) with a zero timeout",
                describe(expected)
            );
        }
        Seen::Returned(code) => {
            assert_eq!(
                code,
                expected,
                "in a child process, {what} on {situation} returned {}, expected {}",
                describe(code),
                describe(expected)
            );
        }
    }
    assert_eq!(children.wait(probe.pid), Some(0), "the probe for {what}");
}

// ----- messages of many sizes, each one checkable -----

/// Payload lengths around PIPE_BUF (4096: a frame of 4096 bytes or less goes into a pipe
/// with one atomic write, a larger one need not), around the pipe's capacity (64 KiB: more
/// cannot be read with one read()) and far above both.
const SIZES: [usize; 16] = [
    1, 4_070, 4_090, 4_097, 65_537, 200_000, 100, 8_193, 65_500, 131_072, 0, 150_001, 4_000,
    70_000, 12_345, 199_999,
];

/// A message: (writer, sequence number, payload).
type Msg = (u32, u32, String);

fn size_of(writer: u32, seq: u32) -> usize {
    SIZES[(writer as usize * 5 + seq as usize) % SIZES.len()]
}

fn letter(writer: u32, seq: u32, i: usize) -> u8 {
    b'a' + ((writer as usize * 7 + seq as usize * 3 + i) % 26) as u8
}

fn payload(writer: u32, seq: u32) -> String {
    (0..size_of(writer, seq))
        .map(|i| letter(writer, seq, i) as char)
        .collect()
}

/// Why `data` is not the payload of message `seq` of `writer`, if it is not.
fn payload_fault(writer: u32, seq: u32, data: &str) -> Option<String> {
    let size = size_of(writer, seq);
    if data.len() != size {
        return Some(format!(
            "its payload has {} bytes instead of {size}",
            data.len()
        ));
    }
    let bad = data
        .bytes()
        .enumerate()
        .find(|&(i, b)| b != letter(writer, seq, i))?;
    Some(format!(
        "its payload differs from what was put from byte {} on",
        bad.0
    ))
}

const INTERLEAVED: &str = "Several processes were putting messages larger than PIPE_BUF \
    (4096 bytes) at once. Such a write is not atomic: when the pipe is full the kernel \
    takes the message in pieces, and another writer's pieces can come in between. A writer \
    must hold a lock that works across processes for its whole message (a pipe holding one \
    token byte; NOT an flock on a file opened before fork, which all processes share, so \
    each of them \"holds\" the lock). Or the reader took a body with one read(), which \
    returns at most what the pipe holds at that moment (64 KiB): loop until all of it is \
    there";

const SHORT_READ: &str = "A read() from a pipe returns at most what the pipe holds at that \
    moment, and a pipe holds 64 KiB: a larger message arrives over many reads. Read the \
    length prefix and the body in loops until every byte is there";

const READERS_HINT: &str = "A read() from a pipe returns at most what the pipe holds at \
    that moment (64 KiB): read the length prefix and the body in loops until every byte is \
    there. And a reader must hold the readers' lock for its whole message, so that no other \
    reader takes bytes from the middle of it";

hidden_test! {
    /// The course's example: a writer process puts 'A', 'B', 'C', then a reader process
    /// gets them; then both at once, with room for one message only.
    fn course_example_writer_and_reader_processes() {
        setup();
        for (maxsize, reader_first) in [(3, false), (1, true)] {
            let q = IpcQueue::new(maxsize).expect("IpcQueue::new failed");
            let (seen_read, seen_write) = pipe().expect("the test could not create a pipe");
            let seen_fd = seen_write.as_raw_fd();
            let mut children = Children::new();
            let writer_body = || {
                for value in ["A", "B", "C"] {
                    if let Err(e) = q.put(value, true, None) {
                        return put_code(Err(e)) as i32 + 10;
                    }
                }
                0
            };
            let reader_body = || {
                for _ in 0..3 {
                    match q.get::<String>(true, None) {
                        Ok(value) => raw_write(seen_fd, format!("{value}\n").as_bytes()),
                        Err(e) => raw_write(seen_fd, format!("!{e:?}\n").as_bytes()),
                    };
                }
                0
            };
            let (writer, reader);
            if reader_first {
                reader = children.spawn(reader_body);
                writer = children.spawn(writer_body);
            } else {
                // As in the course: pw.start(); pw.join(); pr.start(); pr.join().
                writer = children.spawn(writer_body);
                let status = children.wait(writer);
                assert_eq!(
                    status,
                    Some(0),
                    "the writer process's put() of 'A', 'B', 'C' into an empty queue of 3 \
                     failed (exit code 10 + {{0 Ok, 2 Full, 3 Empty, 4 other}}: {status:?})"
                );
                reader = children.spawn(reader_body);
            }
            drop(seen_write);
            let seen = String::from_utf8_lossy(&read_to_end(seen_read)).into_owned();
            let reader_status = children.wait(reader);
            let writer_status = if reader_first { children.wait(writer) } else { Some(0) };
            let when = if reader_first {
                "with maxsize 1, the reader process started first and the writer after it"
            } else {
                "the writer process put them and exited, then the reader process started"
            };
            assert_eq!(
                seen.lines().collect::<Vec<_>>(),
                ["A", "B", "C"],
                "{when}: the reader process's three get(true, None) returned {seen:?} \
                 (one per line, \"!\" for an error) instead of 'A', 'B', 'C' in order. A \
                 queue kept in process memory is copied by fork, not shared: the writer's \
                 messages must travel through a pipe created before the fork"
            );
            assert_eq!(reader_status, Some(0), "{when}: the reader process's exit");
            assert_eq!(
                writer_status,
                Some(0),
                "{when}: the writer process's put() failed (exit code 10 + {{2 Full, 3 \
                 Empty, 4 other}})"
            );
            assert!(q.empty(), "{when}: all three were got, yet empty() is false");
        }
    }
}

hidden_test! {
    /// A child puts items of several serde types; the parent gets each as its type. A
    /// message that is not JSON of the type asked for is Err(Corrupt), and consumed.
    fn items_of_any_serde_type_cross_the_fork() {
        setup();
        let q = IpcQueue::new(8).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let writer = children.spawn(|| {
            let results = [
                q.put("消息1", true, None),
                q.put(&-42i64, true, None),
                q.put(&vec![1u32, 2, 3], true, None),
                q.put(&(true, String::from("two")), true, None),
                q.put(&None::<f64>, true, None),
                q.put(&Vec::<u8>::new(), true, None),
                q.put("not a number", true, None),
                q.put(&7u8, true, None),
            ];
            match results.iter().position(|r| r.is_err()) {
                None => 0,
                Some(i) => 20 + i as i32,
            }
        });
        let status = children.wait(writer);
        assert_eq!(
            status,
            Some(0),
            "the child's 8 puts into an empty queue of 8 failed (exit code 20 + the index \
             of the first put that failed)"
        );
        let context = "a child put 8 items and exited";
        assert_eq!(q.get::<String>(true, None), Ok("消息1".to_string()), "{context}: 1st get");
        assert_eq!(q.get::<i64>(true, None), Ok(-42), "{context}: 2nd get");
        assert_eq!(q.get::<Vec<u32>>(true, None), Ok(vec![1, 2, 3]), "{context}: 3rd get");
        assert_eq!(
            q.get::<(bool, String)>(true, None),
            Ok((true, "two".to_string())),
            "{context}: 4th get"
        );
        assert_eq!(q.get::<Option<f64>>(true, None), Ok(None), "{context}: 5th get");
        assert_eq!(q.get::<Vec<u8>>(true, None), Ok(vec![]), "{context}: 6th get");
        match q.get::<i64>(true, None) {
            Err(QueueError::Corrupt(_)) => {}
            other => panic!(
                "{context}: the 7th item is the string \"not a number\", got as an i64: \
                 expected Err(Corrupt(..)), got {other:?}"
            ),
        }
        assert_eq!(
            q.get::<u8>(true, None),
            Ok(7),
            "{context}: after a get that failed to decode the 7th item, the 8th get must \
             return the 8th item (a message that does not decode is still consumed whole)"
        );
        assert!(q.empty(), "{context}: all 8 were got, yet empty() is false");
        assert_eq!(q.qsize(), 0, "{context}: all 8 were got, qsize()");
    }
}

hidden_test! {
    /// The course's first example, with the puts made by child processes: full() and
    /// qsize() follow them, and a put that finds no slot is Err(Full).
    fn course_example_full_queue() {
        setup();
        let q = IpcQueue::new(3).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let first = children.spawn(|| {
            for m in ["消息1", "消息2"] {
                if q.put(m, true, None).is_err() {
                    return 1;
                }
            }
            0
        });
        assert_eq!(children.wait(first), Some(0), "a child's put of 消息1, 消息2 failed");
        assert!(
            !q.full(),
            "a child put 消息1 and 消息2 into Queue(3): full() must be false (the course \
             prints False)"
        );
        assert_eq!(q.qsize(), 2, "a child put 消息1 and 消息2: qsize()");
        let second = children.spawn(|| put_code(q.put("消息3", true, None)) as i32);
        assert_eq!(children.wait(second), Some(0), "a child's put of 消息3 failed");
        assert!(
            q.full(),
            "children put 消息1, 消息2 and 消息3 into Queue(3): full() must be true (the \
             course prints True). Count the free slots in something every process shares"
        );
        assert_eq!(
            q.put("消息4", true, Some(MS_50)),
            Err(QueueError::Full),
            "the queue holds 3 of 3 messages, put by child processes, and nobody takes any: \
             put(\"消息4\", true, Some(50 ms)) must give up with Err(Full) after 50 ms"
        );
        assert_eq!(q.qsize(), 3, "消息列队已满，现有消息数量: qsize() after a failed put");
        assert_eq!(
            q.put("消息4", false, None),
            Err(QueueError::Full),
            "put(\"消息4\", false, None) on a full queue"
        );
        assert_eq!(q.qsize(), 3, "消息列队已满，现有消息数量: qsize() after a failed put");
        let text = QueueError::Full.to_string().to_lowercase();
        assert!(text.contains("full"), "QueueError::Full displays as {text:?}");
        let text = QueueError::Empty.to_string().to_lowercase();
        assert!(text.contains("empty"), "QueueError::Empty displays as {text:?}");

        assert!(!q.empty(), "3 messages in the queue, yet empty() is true");
        let mut got = Vec::new();
        for _ in 0..q.qsize() {
            got.push(q.get_nowait::<String>());
        }
        assert_eq!(
            got,
            [Ok("消息1".into()), Ok("消息2".into()), Ok("消息3".into())],
            "for i in range(q.qsize()): q.get_nowait()"
        );
        assert!(q.empty(), "all 3 were got: empty()");
        assert_eq!(q.qsize(), 0, "all 3 were got: qsize()");
        assert!(!q.full(), "all 3 were got: full()");
    }
}

hidden_test! {
    /// put_nowait, and put with block = false (with or without a timeout), on a queue a
    /// child filled: Err(Full) at once, without ever waiting for a slot.
    fn put_nowait_on_a_full_queue_never_waits() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let filler = children.spawn(|| {
            for m in ["first", "second"] {
                if q.put(m, true, None).is_err() {
                    return 1;
                }
            }
            0
        });
        assert_eq!(children.wait(filler), Some(0), "a child's 2 puts into a queue of 2 failed");
        let situation = "a queue a child filled (2 of 2)";
        must_not_wait(&mut children, "put_nowait(\"third\")", situation, FULL, || {
            put_code(q.put_nowait("third"))
        });
        must_not_wait(&mut children, "put(\"third\", false, None)", situation, FULL, || {
            put_code(q.put("third", false, None))
        });
        must_not_wait(
            &mut children,
            "put(\"third\", false, Some(3600 s))",
            situation,
            FULL,
            || put_code(q.put("third", false, Some(HOUR))),
        );
        for expected in ["first", "second"] {
            assert_eq!(
                q.get::<String>(true, None),
                Ok(expected.to_string()),
                "after three puts that must have failed with Full, the queue holds what the \
                 filling child put"
            );
        }
        assert!(q.empty(), "the 2 messages were got: empty()");
    }
}

hidden_test! {
    /// get_nowait, and get with block = false (with or without a timeout), on an empty
    /// queue: Err(Empty) at once, without ever waiting for a message.
    fn get_nowait_on_an_empty_queue_never_waits() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let writer = children.spawn(|| put_code(q.put("only", true, None)) as i32);
        assert_eq!(children.wait(writer), Some(0), "a child's put into an empty queue failed");
        assert_eq!(
            q.get_nowait::<String>(),
            Ok("only".to_string()),
            "a child put \"only\" and exited: the parent's get_nowait() must find it"
        );
        let situation = "an empty queue";
        must_not_wait(&mut children, "get_nowait()", situation, EMPTY, || {
            get_code(q.get_nowait::<String>(), &String::new())
        });
        must_not_wait(&mut children, "get(false, None)", situation, EMPTY, || {
            get_code(q.get::<String>(false, None), &String::new())
        });
        must_not_wait(&mut children, "get(false, Some(3600 s))", situation, EMPTY, || {
            get_code(q.get::<String>(false, Some(HOUR)), &String::new())
        });
    }
}

hidden_test! {
    /// With a timeout, put on a queue that stays full is Err(Full) and get on a queue that
    /// stays empty is Err(Empty); afterwards the queue works as before.
    fn timeouts_run_out_with_full_and_empty() {
        setup();
        let q = IpcQueue::new(3).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let filler = children.spawn(|| {
            for i in 0..3u32 {
                if q.put(&i, true, None).is_err() {
                    return 1;
                }
            }
            0
        });
        assert_eq!(children.wait(filler), Some(0), "a child's 3 puts into a queue of 3 failed");
        for timeout in [MS_50, Duration::ZERO] {
            assert_eq!(
                q.put(&99u32, true, Some(timeout)),
                Err(QueueError::Full),
                "a child filled the queue (3 of 3) and nobody takes from it: put(item, \
                 true, Some({timeout:?})) must give up with Err(Full) once the timeout has \
                 passed"
            );
        }
        for i in 0..3u32 {
            assert_eq!(
                q.get::<u32>(true, None),
                Ok(i),
                "the queue holds the 3 items a child put, and the puts that timed out added \
                 nothing"
            );
        }
        for timeout in [MS_50, Duration::ZERO] {
            assert_eq!(
                q.get::<u32>(true, Some(timeout)),
                Err(QueueError::Empty),
                "the queue is empty and nobody puts: get(true, Some({timeout:?})) must give \
                 up with Err(Empty) once the timeout has passed"
            );
        }
        assert_eq!(
            q.put_nowait(&5u32),
            Ok(()),
            "after timed-out puts and gets, put_nowait on an empty queue must succeed: does \
             a put that times out give back what it took?"
        );
        assert_eq!(
            q.get_nowait::<u32>(),
            Ok(5),
            "after timed-out gets, get_nowait on a queue holding one item must return it: \
             does a get that times out give back the readers' lock?"
        );
    }
}

hidden_test! {
    /// get with block = true waits until a message comes: a child's get, with no timeout
    /// and with a long one, returns the item the parent puts while it waits.
    fn blocking_get_waits_for_a_later_put() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        for (round, timeout) in [None, Some(HOUR)].into_iter().enumerate() {
            let what = format!("get(true, {timeout:?})");
            let item = format!("late item {round}");
            let probe = probe(&mut children, &what, || {
                get_code(q.get::<String>(true, timeout), &item)
            });
            if let Seen::Returned(code) = probe.watch() {
                panic!(
                    "in a child process, {what} on an empty queue returned {} without \
                     waiting, before anything was put: with block = true, get must wait \
                     until a message comes (or the timeout passes){}",
                    describe(code),
                    if timeout.is_some() {
                        ". A timeout of whole seconds must not become 0 ms (subsec_millis() \
                         is only the part below one second: use as_millis())"
                    } else {
                        ""
                    }
                );
            }
            q.put(&item, true, None).expect("the parent's put failed");
            let code = probe.result();
            assert_eq!(
                code,
                OK,
                "{what} was waiting in a child process, then the parent put {item:?}: the \
                 get returned {}, expected Ok({item:?})",
                describe(code)
            );
            assert_eq!(children.wait(probe.pid), Some(0), "the child that called {what}");
            assert!(q.empty(), "the child got the only item: empty()");
        }
    }
}

hidden_test! {
    /// put with block = true on a full queue waits until a slot is free: a child's put,
    /// with no timeout and with a long one, goes through once the parent gets an item.
    fn blocking_put_waits_for_a_free_slot() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        for (round, timeout) in [None, Some(HOUR)].into_iter().enumerate() {
            let [a, b, c] = ["a", "b", "c"].map(|s| format!("{s}{round}"));
            q.put(&a, true, None).expect("the parent's put into an empty queue failed");
            q.put(&b, true, None).expect("the parent's put into a queue of 2 failed");
            let what = format!("put({c:?}, true, {timeout:?})");
            let probe = probe(&mut children, &what, || put_code(q.put(&c, true, timeout)));
            if let Seen::Returned(code) = probe.watch() {
                panic!(
                    "in a child process, {what} on a full queue (2 of 2) returned {} without \
                     waiting for a slot: with block = true, put must wait until a get frees \
                     one (or the timeout passes){}",
                    describe(code),
                    if code == OK {
                        ". It put a third message into a queue of 2: take a slot first"
                    } else if timeout.is_some() {
                        ". A timeout of whole seconds must not become 0 ms (subsec_millis() \
                         is only the part below one second: use as_millis())"
                    } else {
                        ""
                    }
                );
            }
            assert_eq!(
                q.get::<String>(true, None),
                Ok(a.clone()),
                "the parent's get from a full queue"
            );
            let code = probe.result();
            assert_eq!(
                code,
                OK,
                "{what} was waiting in a child process, then the parent got one item: the \
                 put returned {}, expected Ok(())",
                describe(code)
            );
            assert_eq!(children.wait(probe.pid), Some(0), "the child that called {what}");
            assert_eq!(q.get::<String>(true, None), Ok(b), "the 2nd item, put by the parent");
            assert_eq!(
                q.get::<String>(true, None),
                Ok(c),
                "the 3rd item, put by the child once a slot was free"
            );
            assert!(q.empty(), "the three items were got: empty()");
        }
    }
}

hidden_test! {
    /// Four child processes, started together, each put 40 messages of 0 to 200 000 bytes:
    /// the parent gets every message whole, exactly once, each writer's in order.
    fn several_writers_large_messages_arrive_whole_and_once() {
        setup();
        const WRITERS: u32 = 4;
        const PER_WRITER: u32 = 40;
        let q = IpcQueue::new(8).expect("IpcQueue::new failed");
        let (gate_read, gate_write) = pipe().expect("the test could not create a pipe");
        let gate = gate_read.as_raw_fd();
        let mut children = Children::new();
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let q = &q;
            writers.push(children.spawn(move || {
                read_byte(gate);
                for seq in 0..PER_WRITER {
                    if let Err(e) = q.put(&(w, seq, payload(w, seq)), true, None) {
                        return 10 + put_code(Err(e)) as i32;
                    }
                }
                0
            }));
        }
        drop(gate_read);
        // Open the gate for all of them at once.
        raw_write(gate_write.as_raw_fd(), &[0; WRITERS as usize]);
        let total = WRITERS * PER_WRITER;
        let mut next = [0u32; WRITERS as usize];
        for n in 0..total {
            let (w, seq, data) = match q.get::<Msg>(true, None) {
                Ok(msg) => msg,
                Err(QueueError::Corrupt(why)) => panic!(
                    "after {n} of {total} messages arrived whole, get(true, None) returned \
                     Err(Corrupt({why:?})): the bytes read were not one writer's message. \
                     {INTERLEAVED}"
                ),
                Err(e) => panic!(
                    "after {n} of {total} messages, get(true, None) returned Err({e:?}): {} \
                     child processes are putting {total} messages, and a blocking get waits \
                     for the next one",
                    WRITERS
                ),
            };
            assert!(
                w < WRITERS,
                "after {n} of {total} messages, get returned a message from writer {w}, \
                 and there are only {WRITERS}: the message was corrupted. {INTERLEAVED}"
            );
            let expected = next[w as usize];
            assert!(
                seq >= expected,
                "message {seq} of writer {w} arrived a second time (or out of order: \
                 {expected} was expected next). Every message must be got exactly once"
            );
            assert_eq!(
                seq, expected,
                "writer {w}'s message {seq} arrived where its message {expected} was \
                 expected next: a writer's messages must arrive in the order it put them, \
                 and none may be lost"
            );
            if let Some(fault) = payload_fault(w, seq, &data) {
                panic!(
                    "message {seq} of writer {w} ({} bytes) arrived changed: {fault}. \
                     {INTERLEAVED}",
                    size_of(w, seq)
                );
            }
            next[w as usize] += 1;
        }
        for (w, pid) in writers.into_iter().enumerate() {
            let status = children.wait(pid);
            assert_eq!(
                status,
                Some(0),
                "writer {w}'s put(true, None) failed (exit code 10 + {{2 Full, 3 Empty, 4 \
                 other}}: {status:?})"
            );
        }
        assert!(q.empty(), "every message was got and the writers exited: empty()");
        assert_eq!(q.qsize(), 0, "every message was got and the writers exited: qsize()");
    }
}

hidden_test! {
    /// One child puts messages larger than the pipe holds (up to 1 MiB): each arrives whole.
    fn a_message_larger_than_the_pipe_arrives_whole() {
        setup();
        let sizes = [1usize << 20, 300_000, 65_536, 4_096, 0];
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let make = |seq: usize| -> String {
            (0..sizes[seq])
                .map(|i| letter(9, seq as u32, i) as char)
                .collect()
        };
        let mut children = Children::new();
        let writer = children.spawn(|| {
            for seq in 0..sizes.len() {
                if let Err(e) = q.put(&make(seq), true, None) {
                    return 10 + put_code(Err(e)) as i32;
                }
            }
            0
        });
        for (seq, &size) in sizes.iter().enumerate() {
            let data = match q.get::<String>(true, None) {
                Ok(data) => data,
                Err(QueueError::Corrupt(why)) => panic!(
                    "a child put a message of {size} bytes; get(true, None) returned \
                     Err(Corrupt({why:?})). {SHORT_READ}"
                ),
                Err(e) => panic!(
                    "a child is putting {} messages; get(true, None) for the one of {size} \
                     bytes returned Err({e:?})",
                    sizes.len()
                ),
            };
            assert_eq!(
                data.len(),
                size,
                "a child put a message of {size} bytes; get returned {} bytes. {SHORT_READ}",
                data.len()
            );
            assert!(
                data == make(seq),
                "a child put a message of {size} bytes; it arrived with the right length but \
                 changed. {SHORT_READ}"
            );
        }
        let status = children.wait(writer);
        assert_eq!(
            status,
            Some(0),
            "the writer's put failed (exit code 10 + {{2 Full, 3 Empty, 4 other}})"
        );
        assert!(q.empty(), "every message was got: empty()");
    }
}

hidden_test! {
    /// Three child processes get from one queue while a fourth puts 60 messages of 0 to
    /// 200 000 bytes: each message is got whole by exactly one reader.
    fn several_readers_share_the_messages() {
        setup();
        const READERS: u8 = 3;
        const MESSAGES: u32 = 60;
        const WRITER: u32 = 2;
        const STOP: u32 = u32::MAX;
        // A record: reader, status (0 whole, 1 changed, 2 error, 3 stop), seq (4 bytes LE).
        const RECORD: usize = 6;
        let q = IpcQueue::new(4).expect("IpcQueue::new failed");
        let (report_read, report_write) = pipe().expect("the test could not create a pipe");
        let report = report_write.as_raw_fd();
        let mut children = Children::new();
        let mut pids = Vec::new();
        for r in 0..READERS {
            let q = &q;
            pids.push(children.spawn(move || loop {
                let mut record = [r, 0, 0, 0, 0, 0];
                match q.get::<Msg>(true, None) {
                    Ok((w, seq, _)) if w == STOP => {
                        record[1] = 3;
                        record[2..].copy_from_slice(&seq.to_le_bytes());
                        raw_write(report, &record);
                        return 0;
                    }
                    Ok((w, seq, data)) => {
                        if w != WRITER || payload_fault(WRITER, seq, &data).is_some() {
                            record[1] = 1;
                        }
                        record[2..].copy_from_slice(&seq.to_le_bytes());
                        raw_write(report, &record);
                    }
                    Err(e) => {
                        record[1] = 2;
                        record[2] = get_code::<()>(Err(e), &());
                        raw_write(report, &record);
                        return 1;
                    }
                }
            }));
        }
        let writer = children.spawn(|| {
            // SAFETY: closes this child's copy of the report pipe's write end, so that the
            // test sees the end of the pipe once the readers are gone.
            unsafe { libc::close(report) };
            let stops = (0..READERS as u32).map(|i| (STOP, i, String::new()));
            for msg in (0..MESSAGES).map(|seq| (WRITER, seq, payload(WRITER, seq))).chain(stops) {
                if let Err(e) = q.put(&msg, true, None) {
                    return 10 + put_code(Err(e)) as i32;
                }
            }
            0
        });
        drop(report_write);
        let mut got_by = vec![None; MESSAGES as usize];
        let mut last = [None::<u32>; READERS as usize];
        let mut stops = 0;
        let mut bytes = [0u8; RECORD];
        let mut reports = File::from(report_read);
        while stops < READERS {
            if reports.read_exact(&mut bytes).is_err() {
                panic!(
                    "the readers exited before each got its stop message ({stops} of \
                     {READERS} did)"
                );
            }
            let (r, status) = (bytes[0], bytes[1]);
            let seq = u32::from_le_bytes(bytes[2..].try_into().unwrap());
            match status {
                3 => stops += 1,
                2 => panic!(
                    "reader {r}, one of {READERS} processes sharing the queue, got {} from \
                     get(true, None) while a writer process was putting {MESSAGES} \
                     messages. {}",
                    describe(bytes[2]),
                    if bytes[2] == EMPTY {
                        "A blocking get must wait for the next message, and the writer's \
                         messages must reach the readers (through a pipe made before the \
                         fork: a queue in process memory is copied by fork, not shared)"
                    } else {
                        READERS_HINT
                    }
                ),
                1 => panic!(
                    "reader {r} got message {seq} changed, or one that was never put. \
                     {READERS_HINT}"
                ),
                _ => {
                    assert!(seq < MESSAGES, "reader {r} got message {seq}, never put");
                    if let Some(other) = got_by[seq as usize] {
                        panic!(
                            "message {seq} was got twice, by readers {other} and {r}: every \
                             message must be got exactly once"
                        );
                    }
                    got_by[seq as usize] = Some(r);
                    if let Some(prev) = last[r as usize] {
                        assert!(
                            seq > prev,
                            "reader {r} got message {seq} after message {prev}: one writer \
                             put them in order, so each reader gets them in order"
                        );
                    }
                    last[r as usize] = Some(seq);
                }
            }
        }
        let status = children.wait(writer);
        assert_eq!(
            status,
            Some(0),
            "the writer's put failed (exit code 10 + {{2 Full, 3 Empty, 4 other}})"
        );
        for (r, pid) in pids.into_iter().enumerate() {
            assert_eq!(children.wait(pid), Some(0), "reader {r}'s exit");
        }
        let missing: Vec<usize> = (0..MESSAGES as usize).filter(|&s| got_by[s].is_none()).collect();
        assert!(
            missing.is_empty(),
            "messages {missing:?} were put but no reader got them"
        );
        assert!(q.empty(), "every message was got: empty()");
    }
}

hidden_test! {
    /// qsize(), empty() and full() follow the puts and gets of other processes; maxsize
    /// must be 1..=MAXSIZE_LIMIT.
    fn qsize_empty_and_full_follow_other_processes() {
        setup();
        assert_eq!(
            IpcQueue::new(0).err(),
            Some(QueueError::InvalidMaxsize(0)),
            "IpcQueue::new(0)"
        );
        assert_eq!(
            IpcQueue::new(MAXSIZE_LIMIT + 1).err(),
            Some(QueueError::InvalidMaxsize(MAXSIZE_LIMIT + 1)),
            "IpcQueue::new(MAXSIZE_LIMIT + 1)"
        );
        let largest = IpcQueue::new(MAXSIZE_LIMIT).expect("IpcQueue::new(MAXSIZE_LIMIT) failed");
        assert!(!largest.full(), "a new queue of MAXSIZE_LIMIT: full()");
        drop(largest);

        let q = IpcQueue::new(4).expect("IpcQueue::new failed");
        assert_eq!(q.maxsize(), 4, "maxsize() of IpcQueue::new(4)");
        let mut children = Children::new();
        let mut step = |what: &str, qsize: usize, body: &dyn Fn() -> bool| {
            let pid = children.spawn(|| if body() { 0 } else { 1 });
            assert_eq!(children.wait(pid), Some(0), "a child's {what} failed");
            let state = (q.qsize(), q.empty(), q.full());
            assert_eq!(
                state,
                (qsize, qsize == 0, qsize == 4),
                "a child {what} and exited: (qsize(), empty(), full()) of a queue of 4 must \
                 be ({qsize}, {}, {}). They must count what every process put and got, not \
                 this process's own",
                qsize == 0,
                qsize == 4
            );
        };
        step("put 2 items", 2, &|| (0..2).all(|i| q.put(&i, true, None).is_ok()));
        step("put 2 more", 4, &|| (2..4).all(|i| q.put(&i, true, None).is_ok()));
        step("got 3 items", 1, &|| {
            (0..3).all(|i| q.get::<i32>(true, None) == Ok(i))
        });
        assert_eq!(q.get::<i32>(true, None), Ok(3), "the parent's get of the 4th item");
        assert_eq!(
            (q.qsize(), q.empty(), q.full()),
            (0, true, false),
            "every item was got: (qsize(), empty(), full())"
        );
    }
}

hidden_test! {
    /// Five queues, each used across a fork and dropped: the descriptors open afterwards
    /// are those open before.
    fn no_descriptor_is_left_open_after_drop() {
        setup();
        let before = open_fds();
        for round in 0..5 {
            let q = IpcQueue::new(3).expect("IpcQueue::new failed");
            let mut children = Children::new();
            let item = format!("round {round}");
            let pid = children.spawn(|| put_code(q.put(&item, true, None)) as i32);
            assert_eq!(
                q.get::<String>(true, None),
                Ok(item.clone()),
                "a child put {item:?}: the parent's get(true, None) must return it"
            );
            assert_eq!(children.wait(pid), Some(0), "the child's put failed");
            drop(q);
        }
        let after = open_fds();
        assert!(
            after.len() <= before.len(),
            "{} descriptors were open before 5 queues were made, used and dropped, and {} \
             after: {} left open, new: {:?}. Dropping an IpcQueue must close every \
             descriptor it holds (keep them as OwnedFd)",
            before.len(),
            after.len(),
            after.len() - before.len(),
            new_fds(&before, &after)
        );
    }
}

hidden_test! {
    /// With too few descriptors left, new() fails with Os { errno: EMFILE } and leaves none
    /// of the descriptors it did open; with enough, it succeeds.
    fn new_fails_cleanly_when_no_descriptor_is_left() {
        setup();
        let before = open_fds();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit failed");
        let mut succeeded = false;
        for free in 0..64u64 {
            let lowest_free = File::open("/dev/null")
                .expect("the test could not open /dev/null")
                .as_raw_fd() as u64;
            setrlimit(Resource::RLIMIT_NOFILE, lowest_free + free, hard)
                .expect("setrlimit failed");
            let result = IpcQueue::new(4);
            setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("setrlimit failed");
            match result {
                Ok(q) => {
                    assert!(
                        free > 0,
                        "IpcQueue::new(4) succeeded with no descriptor left to open: it \
                         cannot have created a pipe. After fork a process's memory is \
                         copied, only its descriptors are shared: the queue must live in \
                         pipes created by new"
                    );
                    drop(q);
                    succeeded = true;
                    break;
                }
                Err(QueueError::Os {
                    call,
                    errno: Errno::EMFILE,
                }) => {
                    let text = QueueError::Os { call, errno: Errno::EMFILE }.to_string();
                    assert!(
                        text.contains(call),
                        "QueueError::Os {{ call: {call:?}, .. }} displays as {text:?}, \
                         which does not name the call"
                    );
                    let after = open_fds();
                    assert!(
                        after.len() <= before.len(),
                        "IpcQueue::new(4) with {free} descriptor(s) free failed with \
                         {call}() EMFILE, as it should, but left {} descriptor(s) open: {:?}. \
                         The descriptors made before the failing call must be closed: hold \
                         each in an OwnedFd from the moment it exists",
                        after.len() - before.len(),
                        new_fds(&before, &after)
                    );
                }
                Err(other) => panic!(
                    "IpcQueue::new(4) with {free} descriptor(s) free returned Err({other:?}): \
                     a pipe() that fails for want of descriptors must come back as \
                     QueueError::Os {{ call, errno: EMFILE }}"
                ),
            }
        }
        assert!(succeeded, "IpcQueue::new(4) failed even with 63 descriptors free");
        let after = open_fds();
        assert!(
            after.len() <= before.len(),
            "an IpcQueue was made and dropped, and {} descriptor(s) stayed open: {:?}",
            after.len().saturating_sub(before.len()),
            new_fds(&before, &after)
        );
    }
}

// ----- waits watched from the inside: the kata's poll(2) calls under the test kit's
// seccomp supervisor (`kata_testkit::fault`), which sees each call's timeout argument and
// can make a call fail with EINTR, as a signal arriving during the wait does -----

use kata_testkit::fault::{self, Reply};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The system calls a wait of the kata can be made with.
const POLL_CALLS: [i64; 2] = [libc::SYS_poll, libc::SYS_ppoll];

/// The timeout, in milliseconds, of the poll(2) or ppoll(2) call of notice `n` (made by
/// the body's own thread, so its arguments point into this process); None: no timeout.
fn poll_timeout_ms(n: &fault::Notice) -> Option<i64> {
    if n.nr == libc::SYS_poll {
        let ms = n.args[2] as i32 as i64;
        (ms >= 0).then_some(ms)
    } else {
        let ts = n.args[2] as *const libc::timespec;
        if ts.is_null() {
            return None;
        }
        // SAFETY: the thread that made the call is stopped inside it, and its timespec
        // lives in this process's memory.
        let ts = unsafe { std::ptr::read(ts) };
        Some(ts.tv_sec as i64 * 1000 + (ts.tv_nsec as i64 + 999_999) / 1_000_000)
    }
}

/// Waits until `pid` sleeps (inside a blocking call of the kata: it has a single thread).
/// False if it ended first.
fn asleep(pid: i32) -> bool {
    loop {
        match proc_state(pid) {
            None | Some(('Z', _)) | Some(('X', _)) => return false,
            Some(('S', _)) => return true,
            _ => kata_testkit::proc::jobs::pause(),
        }
    }
}

hidden_test! {
    /// get(true, Some(t)) on an empty queue, whose waits are interrupted by signals (the
    /// test makes its first three poll calls fail with EINTR, each after 50 ms): it waits
    /// again, for the time LEFT (the timeout is measured from the call, and a signal does
    /// not restart it), and gives Err(Empty) once t has passed.
    fn a_signal_during_a_wait_neither_ends_it_nor_restarts_the_timeout() {
        setup();
        const T: i64 = 400;
        const D: i64 = 50;
        let mut interrupted = 0i64;
        // (the poll's timeout, what it may be at most), for the first poll that waited too long.
        let mut too_long: Option<(Option<i64>, i64)> = None;
        let ((result, waited), _) = fault::supervised(
            &POLL_CALLS,
            |n, _| {
                if !n.from_caller {
                    return Reply::Continue;
                }
                // Each interrupted poll took at least D: that much less time is left.
                let most = T - D * interrupted + 1;
                let timeout = poll_timeout_ms(n);
                if too_long.is_none() && timeout.map_or(true, |ms| ms > most) {
                    too_long = Some((timeout, most));
                }
                if interrupted < 3 {
                    interrupted += 1;
                    Reply::FailAfter(Duration::from_millis(D as u64), Errno::EINTR)
                } else {
                    Reply::Continue
                }
            },
            || {
                let q = IpcQueue::new(2).expect("IpcQueue::new failed");
                let called = Instant::now();
                let result = q.get::<u32>(true, Some(Duration::from_millis(T as u64)));
                (result, called.elapsed())
            },
        );
        assert!(
            matches!(result, Err(QueueError::Empty)),
            "get(true, Some({T} ms)) on an empty queue, its first waits interrupted by \
             signals (poll failed with EINTR), gave {result:?}, expected Err(Empty) once the \
             timeout had passed: EINTR only says that a signal came, wait again"
        );
        assert!(
            waited >= Duration::from_millis(T as u64),
            "get(true, Some({T} ms)) on an empty queue gave Err(Empty) after only {waited:?}: \
             with block = true it waits until the timeout has passed"
        );
        if let Some((timeout, most)) = too_long {
            panic!(
                "get(true, Some({T} ms)) on an empty queue: after {interrupted} of its poll \
                 calls had been interrupted by a signal (EINTR), each after {D} ms, it called \
                 poll with the timeout {} where at most {most} ms were left. A signal does not \
                 restart the timeout: compute the time left (deadline - now) before every poll",
                timeout.map_or("-1 (none)".to_string(), |ms| format!("{ms} ms"))
            );
        }
    }
}

hidden_test! {
    /// put(true, Some(t)) on a full queue and get(true, Some(t)) on an empty one, with t
    /// under a second: each waits asleep in poll(2) for the time left, never by calling
    /// poll with a zero timeout over and over (spinning), and gives up once t has passed.
    fn a_timeout_under_a_second_is_waited_asleep() {
        setup();
        const T: Duration = Duration::from_millis(300);
        let base = Instant::now();
        // When the call being watched started (ns after `base`; 0: none yet), set by the body.
        let call_started = AtomicU64::new(0);
        let mut zero_polls = 0usize;
        let ((put, put_waited, get, get_waited), _) = fault::supervised(
            &POLL_CALLS,
            |n, _| {
                // A zero timeout while more than 5 ms of the wait are still ahead: a look,
                // not a wait.
                let started = call_started.load(Ordering::SeqCst);
                let into_the_call = base.elapsed().saturating_sub(Duration::from_nanos(started));
                if n.from_caller
                    && started != 0
                    && poll_timeout_ms(n) == Some(0)
                    && into_the_call + Duration::from_millis(5) < T
                {
                    zero_polls += 1;
                }
                Reply::Continue
            },
            || {
                let full = IpcQueue::new(1).expect("IpcQueue::new failed");
                let empty = IpcQueue::new(1).expect("IpcQueue::new failed");
                full.put_nowait(&1u32).expect("put_nowait into an empty queue of 1 failed");
                let mark = || call_started.store(base.elapsed().as_nanos() as u64 | 1, Ordering::SeqCst);
                mark();
                let called = Instant::now();
                let put = full.put(&2u32, true, Some(T));
                let put_waited = called.elapsed();
                mark();
                let called = Instant::now();
                let get = empty.get::<u32>(true, Some(T));
                let get_waited = called.elapsed();
                call_started.store(0, Ordering::SeqCst);
                (put, put_waited, get, get_waited)
            },
        );
        assert!(
            matches!(put, Err(QueueError::Full)) && put_waited >= T,
            "put(item, true, Some({T:?})) on a full queue gave {put:?} after {put_waited:?}, \
             expected Err(Full) once the timeout had passed"
        );
        assert!(
            matches!(get, Err(QueueError::Empty)) && get_waited >= T,
            "get(true, Some({T:?})) on an empty queue gave {get:?} after {get_waited:?}, \
             expected Err(Empty) once the timeout had passed"
        );
        assert!(
            zero_polls <= 4,
            "put and get with a timeout of {T:?} called poll(2) {zero_polls} times with a \
             zero timeout while most of their wait was still ahead: they spun, looking over \
             and over, instead of sleeping in poll for the time left. Turn the time left \
             into milliseconds with as_millis() rounded up (as_secs() * 1000 is 0 for any \
             time under a second)"
        );
    }
}

hidden_test! {
    /// get(true, Some(t)) measures t from the call, whatever it waits for: here another
    /// process holds the readers' lock for at least its first 400 ms (that process waits
    /// in a get of its own, with a 400 ms timeout), and once the lock is free the timed
    /// get waits for a message only for what is left of t, never for t afresh.
    fn a_timeout_counts_from_the_call_across_every_wait() {
        setup();
        const T: i64 = 1000;
        const HELD: i64 = 400;
        let q = IpcQueue::new(4).expect("IpcQueue::new failed");
        let mut children = Children::new();
        // The other reader takes the lock no sooner than this.
        let forked = Instant::now();
        let reader = children.spawn(|| {
            get_code(q.get::<String>(true, Some(Duration::from_millis(HELD as u64))), &String::new())
                as i32
        });
        assert!(
            asleep(reader),
            "a child's get(true, Some({HELD} ms)) on an empty queue returned at once: with \
             block = true it waits until the timeout has passed"
        );
        // (the first poll's notice, then the largest timeout of any later poll)
        let mut first: Option<Instant> = None;
        let mut later: Option<Option<i64>> = None;
        let q_addr = &q as *const IpcQueue as usize;
        let ((result, waited), _) = fault::supervised(
            &POLL_CALLS,
            |n, _| {
                if !n.from_caller {
                    return Reply::Continue;
                }
                match first {
                    None => first = Some(Instant::now()),
                    Some(_) => {
                        let timeout = poll_timeout_ms(n);
                        later = Some(match (later, timeout) {
                            (Some(None), _) | (_, None) => None,
                            (Some(Some(a)), Some(b)) => Some(a.max(b)),
                            (None, Some(b)) => Some(b),
                        });
                    }
                }
                Reply::Continue
            },
            || {
                // SAFETY: the queue outlives this body, and the test's thread does not
                // touch it meanwhile (it supervises).
                let q = unsafe { &*(q_addr as *const IpcQueue) };
                let called = Instant::now();
                let result = q.get::<String>(true, Some(Duration::from_millis(T as u64)));
                (result, called.elapsed())
            },
        );
        let reader_code = children.wait(reader);
        assert_eq!(
            reader_code,
            Some(EMPTY as i32),
            "the other reader's get(true, Some({HELD} ms)) on the empty queue must give \
             Err(Empty)"
        );
        assert!(
            matches!(result, Err(QueueError::Empty)) && waited >= Duration::from_millis(T as u64),
            "get(true, Some({T} ms)) while another process held the readers' lock (for \
             {HELD} ms at least) gave {result:?} after {waited:?}, expected Err(Empty) once \
             the timeout had passed"
        );
        // A poll after the first one comes once the lock is free: at least HELD ms after
        // the other reader was forked, and the timed get began after the fork was seen
        // asleep, by the time of its first poll. So at most T - (HELD - that gap) ms were
        // left (with 100 ms of slack for the arithmetic of the poll's timeout).
        let (Some(first), Some(timeout)) = (first, later) else { return };
        let gap = first.saturating_duration_since(forked).as_millis() as i64;
        let most = T - (HELD - gap) + 100;
        if timeout.map_or(true, |ms| ms > most) && most < T {
            panic!(
                "get(true, Some({T} ms)): another process held the readers' lock for the \
                 first {} ms or more; once it had the lock, the get waited for a message with \
                 poll's timeout {}, where at most {} ms were left. The timeout counts from the \
                 call: compute one deadline at the start, and give every wait (for the lock, \
                 then for a message) only the time left until it",
                HELD - gap,
                timeout.map_or("-1 (none)".to_string(), |ms| format!("{ms} ms")),
                T - (HELD - gap)
            );
        }
    }
}

/// A child that puts a 300 kB message into `q` (of 2 slots), which nobody reads: it takes a
/// slot and the writers' lock, and stays in the middle of its write until the test gets
/// the message. Returns its pid once it is asleep there.
fn writer_in_the_middle(children: &mut Children, q: &IpcQueue) -> i32 {
    let big = "w".repeat(300_000);
    let writer = children.spawn(|| put_code(q.put(&big, true, None)) as i32);
    assert!(
        asleep(writer),
        "a child's put of a 300 kB message into an empty queue that nobody reads returned: \
         the data pipe holds 64 KiB, so the write of the rest must wait for a reader"
    );
    writer
}

/// Gets the writer's 300 kB message, and waits for the writer.
fn finish_the_writer(children: &mut Children, q: &IpcQueue, writer: i32) {
    let got = q.get::<String>(true, None);
    assert!(
        matches!(&got, Ok(s) if s.len() == 300_000 && s.bytes().all(|b| b == b'w')),
        "the parent's get of the child's 300 kB message gave {}",
        match &got {
            Ok(s) => format!("Ok(a string of {} bytes)", s.len()),
            Err(e) => format!("Err({e:?})"),
        }
    );
    assert_eq!(children.wait(writer), Some(0), "the child's put of a 300 kB message");
}

hidden_test! {
    /// Another process is in the middle of writing a message larger than the pipe (it
    /// holds the writers' lock while it waits for a reader): put_nowait, and put with
    /// block = false, give Err(Full) at once, without waiting for the lock.
    fn put_nowait_never_waits_for_another_writer() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let writer = writer_in_the_middle(&mut children, &q);
        let situation = "a queue of 2 (1 slot free) while another process is in the middle \
                         of writing a 300 kB message";
        must_not_wait(&mut children, "put_nowait(\"x\")", situation, FULL, || {
            put_code(q.put_nowait("x"))
        });
        must_not_wait(&mut children, "put(\"x\", false, Some(3600 s))", situation, FULL, || {
            put_code(q.put("x", false, Some(HOUR)))
        });
        finish_the_writer(&mut children, &q, writer);
        assert!(
            matches!(q.get_nowait::<String>(), Err(QueueError::Empty)),
            "the puts that gave Full added nothing: the queue is empty"
        );
    }
}

hidden_test! {
    /// A put that gives up (Full) because another process holds the writers' lock gives
    /// back the slot it took: once that writer is done and its message got, the queue of 2
    /// is empty, qsize() is 0, and it takes two messages again.
    fn a_put_that_gives_up_keeps_no_slot() {
        setup();
        let q = IpcQueue::new(2).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let writer = writer_in_the_middle(&mut children, &q);
        let situation = "a queue of 2 (1 slot free) while another process is in the middle \
                         of writing a 300 kB message";
        must_not_wait(&mut children, "put_nowait(\"x\")", situation, FULL, || {
            put_code(q.put_nowait("x"))
        });
        let timed = children.spawn(|| put_code(q.put("y", true, Some(MS_50))) as i32);
        assert_eq!(
            children.wait(timed),
            Some(FULL as i32),
            "a child's put(\"y\", true, Some(50 ms)) on {situation}: expected Err(Full) once \
             the timeout had passed (the writers' lock never came free)"
        );
        finish_the_writer(&mut children, &q, writer);
        let state = (q.qsize(), q.empty(), q.full());
        let puts = [q.put_nowait("a"), q.put_nowait("b"), q.put_nowait("c")];
        assert!(
            state == (0, true, false)
                && matches!(puts, [Ok(()), Ok(()), Err(QueueError::Full)]),
            "two puts gave up (Full) while another process was writing; once its message was \
             got, the queue of 2 had (qsize(), empty(), full()) = {state:?} and three \
             put_nowait gave {puts:?}; expected (0, true, false) and Ok, Ok, Full. A put that \
             took a slot and then gives up must give the slot back, or the queue shrinks \
             for good"
        );
    }
}

hidden_test! {
    /// A get that finds the queue empty (at once, or after its timeout) frees no slot: only
    /// a get that has read a whole message gives one back. A queue of 1 then still takes
    /// one message, not two.
    fn a_get_that_finds_nothing_frees_no_slot() {
        setup();
        let q = IpcQueue::new(1).expect("IpcQueue::new failed");
        let mut children = Children::new();
        let getter = children.spawn(|| {
            let codes = [
                get_code(q.get_nowait::<u32>(), &0),
                get_code(q.get::<u32>(true, Some(Duration::from_millis(20))), &0),
                get_code(q.get::<u32>(false, Some(HOUR)), &0),
            ];
            if codes.iter().all(|&c| c == EMPTY) {
                0
            } else {
                1
            }
        });
        assert_eq!(
            children.wait(getter),
            Some(0),
            "a child's get_nowait, get(true, Some(20 ms)) and get(false, Some(3600 s)) on an \
             empty queue must each give Err(Empty)"
        );
        let putter = children.spawn(|| {
            match (q.put_nowait(&1u32), q.put_nowait(&2u32)) {
                (Ok(()), Err(QueueError::Full)) => 0,
                (Ok(()), Ok(())) => 2,
                _ => 1,
            }
        });
        let code = children.wait(putter);
        assert_eq!(
            code,
            Some(0),
            "after three gets found the queue of 1 empty, a child's two put_nowait gave {}: \
             expected Ok, then Full. A get that returns Empty read no message, so it must \
             not give a slot back (the queue would then hold more than maxsize)",
            match code {
                Some(2) => "Ok, Ok",
                _ => "something else than Ok, Full",
            }
        );
        let state = (q.qsize(), q.empty(), q.full());
        assert_eq!(
            state,
            (1, false, true),
            "a child put one message into the queue of 1: (qsize(), empty(), full())"
        );
        assert_eq!(q.get_nowait::<u32>(), Ok(1), "the parent's get_nowait of the child's message");
    }
}
