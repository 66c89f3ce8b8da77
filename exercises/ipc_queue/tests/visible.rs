//! Visible tests: run them with `cargo test -p ipc_queue`. The grader's hidden tests go
//! further (several writers of large messages, calls that must not wait, timeouts that
//! must wait, descriptors left open).

use ipc_queue::{IpcQueue, QueueError, MAXSIZE_LIMIT};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::time::Duration;

/// Runs `body` in a forked child, which exits with the code it returns (never returns
/// into the test).
fn child(body: impl FnOnce() -> i32) -> Pid {
    // The child runs `body` and leaves with _exit.
    match kata_sync::process::fork().expect("fork failed") {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(99);
            // Ends the child at once, without running the test's code.
            kata_sync::process::_exit(code)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for `pid` and returns its exit code.
fn exit_code(pid: Pid) -> i32 {
    match waitpid(pid, None).expect("waitpid failed") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("child {pid} ended with {other:?}"),
    }
}

#[test]
fn course_example_writer_and_reader_processes() {
    // The course: a writer process puts 'A', 'B', 'C', a reader process gets them.
    let q = IpcQueue::new(3).unwrap();
    let writer = child(|| {
        for value in ["A", "B", "C"] {
            if q.put(value, true, None).is_err() {
                return 1;
            }
        }
        0
    });
    let reader = child(|| {
        for expected in ["A", "B", "C"] {
            match q.get::<String>(true, None) {
                Ok(value) if value == expected => {}
                _ => return 1,
            }
        }
        0
    });
    assert_eq!(exit_code(writer), 0, "the writer's put() failed");
    assert_eq!(
        exit_code(reader),
        0,
        "the reader process did not get 'A', 'B', 'C' in order: do the writer's messages \
         reach another process? (a queue in process memory is copied by fork, not shared)"
    );
    assert!(
        q.empty(),
        "both processes are done, yet the queue is not empty"
    );
}

#[test]
fn full_and_empty_in_one_process() {
    let q = IpcQueue::new(3).unwrap();
    for m in ["消息1", "消息2"] {
        q.put(m, true, None).unwrap();
    }
    assert!(!q.full(), "2 messages of 3: not full");
    q.put("消息3", true, None).unwrap();
    assert!(q.full(), "3 messages of 3: full");
    assert_eq!(q.qsize(), 3);
    assert_eq!(
        q.put("消息4", true, Some(Duration::from_millis(50))),
        Err(QueueError::Full)
    );
    assert_eq!(q.put_nowait("消息4"), Err(QueueError::Full));
    for m in ["消息1", "消息2", "消息3"] {
        assert_eq!(q.get_nowait::<String>().unwrap(), m);
    }
    assert!(q.empty());
    assert_eq!(q.get_nowait::<String>(), Err(QueueError::Empty));
    assert_eq!(
        q.get::<String>(true, Some(Duration::from_millis(50))),
        Err(QueueError::Empty)
    );
}

#[test]
fn a_child_fills_the_queue_the_parent_sees_it_full() {
    let q = IpcQueue::new(2).unwrap();
    let filler = child(|| {
        for i in 0..2 {
            if q.put_nowait(&i).is_err() {
                return 1;
            }
        }
        0
    });
    assert_eq!(exit_code(filler), 0, "the child's put_nowait() failed");
    assert!(
        q.full(),
        "a child put 2 messages into a queue of 2: full() must say so"
    );
    assert_eq!(q.qsize(), 2, "qsize() after a child put 2 messages");
    assert_eq!(q.put_nowait(&7), Err(QueueError::Full));
    assert_eq!(q.get_nowait::<i32>(), Ok(0));
    assert_eq!(q.get_nowait::<i32>(), Ok(1));
}

#[test]
fn a_large_message_from_a_child_arrives_whole() {
    // Far more than PIPE_BUF (4096) and than the pipe holds (64 KiB).
    let q = IpcQueue::new(1).unwrap();
    let big: String = (0..300_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let writer = child(|| {
        if q.put(&big, true, None).is_ok() {
            0
        } else {
            1
        }
    });
    let got: String = q.get(true, None).expect("get() failed");
    assert_eq!(exit_code(writer), 0, "the child's put() failed");
    assert_eq!(
        got.len(),
        big.len(),
        "the message arrived with the wrong length"
    );
    assert!(got == big, "the message arrived changed");
}

#[test]
fn maxsize_must_be_between_1_and_the_limit() {
    assert_eq!(IpcQueue::new(0).err(), Some(QueueError::InvalidMaxsize(0)));
    assert_eq!(
        IpcQueue::new(MAXSIZE_LIMIT + 1).err(),
        Some(QueueError::InvalidMaxsize(MAXSIZE_LIMIT + 1))
    );
    assert_eq!(
        IpcQueue::new(MAXSIZE_LIMIT).unwrap().maxsize(),
        MAXSIZE_LIMIT
    );
}
