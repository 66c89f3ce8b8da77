//! The records a hidden test's process sends the grader, and how the grader reads them.
//!
//! The format belongs to the harness; the grader links this module to parse it, so the
//! writer and the reader cannot drift apart. One record is
//!
//! ```text
//! <kind> <payload length> <tag>\n<payload>
//! ```
//!
//! where `tag` is a 128-bit message authentication code of the kind and the payload, keyed
//! with a random key that the grader hands to the harness alone (32 hex digits). The key
//! itself never travels on the proof channel: code that redirects the channel and reads
//! what the harness writes learns tags of messages already sent, never how to tag a new
//! one (in particular, never a `done` it was not given).

use std::fmt::Write as _;

/// The key's length in bytes.
pub const KEY_LEN: usize = 32;

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The test body returned normally, in the test's own process.
    Done,
    /// A panic in the test's own process: `location\nthread\nmessage`.
    Panic,
    /// A panic in a process forked from the test (a child that came back into the test
    /// code): same payload.
    ChildPanic,
    /// The harness found a wall of the grader missing and refused to run the test.
    Fault,
    /// The facade's hang watch found every thread of the test blocked: its report.
    Hang,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Done => "done",
            Kind::Panic => "panic",
            Kind::ChildPanic => "child-panic",
            Kind::Fault => "fault",
            Kind::Hang => "hang",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "done" => Kind::Done,
            "panic" => Kind::Panic,
            "child-panic" => Kind::ChildPanic,
            "hang" => Kind::Hang,
            "fault" => Kind::Fault,
            _ => return None,
        })
    }
}

/// SipHash-2-4 (std's, keyed) twice with independent key halves: a 128-bit tag.
fn tag(key: &[u8; KEY_LEN], kind: Kind, payload: &[u8]) -> [u8; 16] {
    #[allow(deprecated)] // std's SipHasher is SipHash-2-4 exactly, which is what we want.
    fn sip(k0: u64, k1: u64, parts: &[&[u8]]) -> u64 {
        use std::hash::Hasher;
        let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
        for part in parts {
            h.write(part);
        }
        h.finish()
    }
    let word = |i: usize| u64::from_le_bytes(key[i * 8..i * 8 + 8].try_into().unwrap());
    // The kind and the payload are separated by a byte no kind contains, so that no two
    // (kind, payload) pairs make the same message.
    let parts: [&[u8]; 3] = [kind.as_str().as_bytes(), b"\0", payload];
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&sip(word(0), word(1), &parts).to_le_bytes());
    out[8..].copy_from_slice(&sip(word(2), word(3), &parts).to_le_bytes());
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One whole record, ready for a single write.
pub fn encode(key: &[u8; KEY_LEN], kind: Kind, payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "{} {} {}\n",
        kind.as_str(),
        payload.len(),
        hex(&tag(key, kind, payload))
    );
    let mut record = head.into_bytes();
    record.extend_from_slice(payload);
    record
}

/// A panic as the harness reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Panic {
    /// `file:line` of the panic.
    pub location: String,
    /// The panicking thread's name.
    pub thread: String,
    pub message: String,
}

/// Everything the grader learned from one test's proof channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proof {
    /// The test body returned normally, in the test's own process.
    pub done: bool,
    /// The first panic of the test's own process.
    pub panic: Option<Panic>,
    /// The first panic of a process forked from the test.
    pub child_panic: Option<Panic>,
    /// The harness's report of a missing wall (a fault of the grader, not of the test).
    pub fault: Option<String>,
    /// The hang watch's report: every thread of the test was blocked.
    pub hang: Option<String>,
    /// Records whose tag was wrong, and whether bytes were left that were no record at
    /// all: something other than the harness wrote on the channel (a forgery).
    pub untrusted: usize,
    pub garbage: bool,
}

impl Proof {
    /// Whether anything but the harness wrote on the channel.
    pub fn tampered(&self) -> bool {
        self.untrusted > 0 || self.garbage
    }
}

fn parse_panic(payload: &[u8]) -> Panic {
    let text = String::from_utf8_lossy(payload);
    let mut lines = text.splitn(3, '\n');
    Panic {
        location: lines.next().unwrap_or("").to_string(),
        thread: lines.next().unwrap_or("").to_string(),
        message: lines.next().unwrap_or("").to_string(),
    }
}

/// Reads the records in `bytes`; only those tagged with `key` count.
pub fn parse(bytes: &[u8], key: &[u8; KEY_LEN]) -> Proof {
    let mut proof = Proof::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
            proof.garbage = true;
            break;
        };
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        let mut fields = header.split(' ');
        let (Some(kind), Some(len), Some(tag_hex), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            proof.garbage = true;
            break;
        };
        let (Some(kind), Ok(len)) = (Kind::parse(kind), len.parse::<usize>()) else {
            proof.garbage = true;
            break;
        };
        let body = &rest[newline + 1..];
        if len > body.len() {
            proof.garbage = true;
            break;
        }
        let payload = &body[..len];
        rest = &body[len..];
        if tag_hex != hex(&tag(key, kind, payload)) {
            proof.untrusted += 1;
            continue;
        }
        match kind {
            Kind::Done => proof.done = true,
            Kind::Panic if proof.panic.is_none() => proof.panic = Some(parse_panic(payload)),
            Kind::ChildPanic if proof.child_panic.is_none() => {
                proof.child_panic = Some(parse_panic(payload))
            }
            Kind::Fault if proof.fault.is_none() => {
                proof.fault = Some(String::from_utf8_lossy(payload).into_owned())
            }
            Kind::Hang if proof.hang.is_none() => {
                proof.hang = Some(String::from_utf8_lossy(payload).into_owned())
            }
            _ => {}
        }
    }
    proof
}

/// A key as the grader hands it over: 32 random bytes.
pub fn key_from_bytes(bytes: &[u8]) -> Option<[u8; KEY_LEN]> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_LEN] = [7; KEY_LEN];

    #[test]
    fn records_round_trip() {
        let mut bytes = encode(&KEY, Kind::Panic, b"a.rs:3\nmain\nboom\nmore");
        bytes.extend(encode(&KEY, Kind::Done, b""));
        bytes.extend(encode(&KEY, Kind::Hang, b"hang: all\n  stuck"));
        let proof = parse(&bytes, &KEY);
        assert_eq!(proof.hang.as_deref(), Some("hang: all\n  stuck"));
        assert!(proof.done);
        assert!(!proof.tampered());
        assert_eq!(
            proof.panic,
            Some(Panic {
                location: "a.rs:3".into(),
                thread: "main".into(),
                message: "boom\nmore".into()
            })
        );
    }

    #[test]
    fn a_record_tagged_with_another_key_does_not_count() {
        let other = [8; KEY_LEN];
        let proof = parse(&encode(&other, Kind::Done, b""), &KEY);
        assert!(!proof.done);
        assert_eq!(proof.untrusted, 1);
    }

    #[test]
    fn a_replayed_tag_proves_nothing_else() {
        // The tag of a panic record, seen by code that redirected the channel, does not
        // make a `done`, nor a panic with another message.
        let panic = encode(&KEY, Kind::Panic, b"x");
        let text = String::from_utf8(panic).unwrap();
        let tag = text.split(' ').nth(2).unwrap().split('\n').next().unwrap();
        let forged = format!("done 0 {tag}\n");
        let proof = parse(forged.as_bytes(), &KEY);
        assert!(!proof.done);
        assert_eq!(proof.untrusted, 1);
        let forged = format!("panic 1 {tag}\ny");
        assert_eq!(parse(forged.as_bytes(), &KEY).untrusted, 1);
    }

    #[test]
    fn garbage_is_noticed_and_stops_the_reading() {
        let mut bytes = b"0123456789abcdef0123456789abcdef done 0\n".to_vec();
        bytes.extend(encode(&KEY, Kind::Done, b""));
        let proof = parse(&bytes, &KEY);
        assert!(proof.garbage);
        assert!(!proof.done, "nothing after garbage is believed");
    }

    #[test]
    fn the_tag_is_siphash_2_4() {
        // The reference implementation's first test vector: key 00..0f, empty message,
        // is 0x726fdb47dd0e0e31 (siphash's vectors.h). Our message for (Done, "") is
        // "done\0", so check the primitive on its own.
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(
            u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]),
            u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]),
        );
        std::hash::Hasher::write(&mut h, b"");
        assert_eq!(std::hash::Hasher::finish(&h), 0x726fdb47dd0e0e31);
    }
}
