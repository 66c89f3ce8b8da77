//! Similar submissions: pairs of students whose sources of one kata are nearly the same
//! once names, comments and formatting are set aside. A help for the instructor to know
//! where to look, never part of a score.
//!
//! Built the way MOSS and JPlag are (Schleimer, Wilkerson, Aiken, "Winnowing: Local
//! Algorithms for Document Fingerprinting", SIGMOD 2003; JPlag's token streams):
//!
//! 1. **Tokens.** The grader's own [`lexer`] reads the source, so comments and whitespace
//!    are gone from the start. Every name the submission could choose (locals, fields,
//!    functions, types, raw identifiers) becomes one token `ID`; keywords and punctuation
//!    stay; literals become one token per kind (string, number, char, lifetime). Names of
//!    the libraries' API ([`API`]: `Mutex`, `Condvar`, `fetch_add`, `wait`, `fork`,
//!    `waitpid`, `VecDeque`, …) stay as they are: a plagiarist cannot rename them without
//!    changing what the code does, and they are what tells two *designs* apart (a
//!    counter behind a `Mutex` against an `AtomicU64`; `notify_all` against `notify_one`).
//!    Normalising them too would make every two Rust files of one shape alike. A name the
//!    submission defines that happens to be an API name (a method `wait`) stays too: a
//!    rare cost. `use` declarations are dropped (their order and grouping are
//!    formatting; what they bring in shows where it is used), and so is a trailing comma
//!    before a closing bracket (rustfmt's choice).
//! 2. **Fingerprints.** The tokens are cut into items (each top-level function, type,
//!    constant, `impl` header, and each item inside an `impl`, `trait` or `mod` block).
//!    Every k-gram of tokens within an item (k = [`Options::k`], 12) is hashed, and
//!    winnowing keeps, of every window of w = [`Options::w`] (8) consecutive hashes, the
//!    smallest. That guarantees that any run of at least k + w − 1 = 19 identical tokens
//!    (two or three lines of Rust) shared by two submissions yields a shared fingerprint,
//!    while nothing shorter than k tokens can: k = 12 is above what Rust's fine-grained
//!    tokens (each punctuation character is one) repeat by accident (`self.ID.lock();`
//!    alone is 8), and w = 8 keeps about 2/(w+1) ≈ 22% of the hashes, enough for files of
//!    a few hundred tokens. Fingerprints are position-independent, and since no k-gram
//!    straddles two items, moving functions around changes none of them (with k-grams
//!    across items, reversing the items of `async_callback`'s solution cost it 0.13 of
//!    similarity once the stub was discounted).
//! 3. **What counts for no one.** Every k-gram of the stub (MOSS's base file) is removed
//!    from every submission's fingerprints: what all students start from must not make
//!    them alike. Optionally ([`Options::common_share`], MOSS's `-m`), so is what most of
//!    the class shares.
//! 4. **Similarity.** The share of the smaller fingerprint set found in the other
//!    (containment, JPlag's "maximum similarity"): a copy padded with dead code or extra
//!    helpers stays as similar as the copy, where Jaccard would fall with every line
//!    added. Its weak point, a small submission contained in a large one by chance, is
//!    closed by not judging submissions with fewer than [`Options::min_fingerprints`] (16)
//!    fingerprints of their own (after the stub): roughly 70 tokens, seven or eight lines
//!    of new code. `race`, whose stub leaves two short bodies to write, is never judged:
//!    there is too little in it to tell a copy from the one obvious answer. Two
//!    submissions with the same normalised token stream (and enough of their own) score
//!    exactly 1.0.
//!
//! Deterministic: sets are sorted vectors, and the pairs are sorted by similarity (most
//! similar first), then by names. Cost: linear in the sources to tokenise and
//! fingerprint, then every pair's sorted sets merged. 100 submissions of each of the 18
//! katas (1,800 sources, 2.2 million tokens) take 0.4 s of CPU in a release build, half
//! of it in the lexer; the test `a_class_of_a_hundred_is_quick` times it in a debug build.
//!
//! [`lexer`]: crate::source::lexer

use crate::source::lexer::{self, Kind};

/// Two submissions whose sources of one kata are nearly the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub kata: String,
    pub a: String,
    pub b: String,
    /// 0.0 (nothing shared) to 1.0 (the same after normalising).
    pub similarity: f64,
}

/// The threshold the grader recommends. On this course's sources (see the test
/// `similar_figures_support_the_default_threshold`): disguised copies of the reference
/// solutions (names, comments, layout, order) score 0.9 to 1.0; mutants of a solution
/// (near-copies with one bug put in) a median of 0.97, 90% of them at 0.85 or more;
/// implementations written apart from the solution at most 0.39, and that with the
/// solution's very design. A flagged pair is then worth a look; pairs between 0.5 and
/// 0.8 are worth one when a class is small.
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// How fingerprints are taken and compared (see the module's documentation for why these
/// defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Tokens per k-gram: nothing shorter is ever seen as shared.
    pub k: usize,
    /// The winnowing window, in k-grams: any shared run of k + w − 1 tokens is seen.
    pub w: usize,
    /// Fewer fingerprints than this (after the stub's and the common ones are removed):
    /// too little to judge, never flagged.
    pub min_fingerprints: usize,
    /// With `Some(share)`, a fingerprint held by more than this share of the submissions
    /// (and by more than 10 of them: MOSS's `-m`) is common knowledge, not evidence. Off
    /// by default: it would also hide a solution copied by most of a small class, and the
    /// stub already accounts for what everyone starts from.
    pub common_share: Option<f64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            k: 12,
            w: 8,
            min_fingerprints: 16,
            common_share: None,
        }
    }
}

/// The pairs among `sources` (student, source text of the kata) at or above `threshold`,
/// most similar first. What the kata's `stub` already holds counts for no one.
pub fn similar_pairs(
    kata: &str,
    stub: Option<&str>,
    sources: &[(String, String)],
    threshold: f64,
) -> Vec<Pair> {
    similar_pairs_with(kata, stub, sources, threshold, &Options::default())
}

/// [`similar_pairs`] with other [`Options`].
pub fn similar_pairs_with(
    kata: &str,
    stub: Option<&str>,
    sources: &[(String, String)],
    threshold: f64,
    options: &Options,
) -> Vec<Pair> {
    let scored = score_all(stub, sources, options);
    let mut pairs: Vec<Pair> = scored
        .into_iter()
        .filter(|&(_, _, s)| s >= threshold)
        .map(|(i, j, similarity)| {
            let (a, b) = (&sources[i].0, &sources[j].0);
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            Pair {
                kata: kata.to_string(),
                a: a.clone(),
                b: b.clone(),
                similarity,
            }
        })
        .collect();
    pairs.sort_by(|x, y| {
        y.similarity
            .total_cmp(&x.similarity)
            .then_with(|| x.a.cmp(&y.a))
            .then_with(|| x.b.cmp(&y.b))
    });
    pairs
}

/// Every pair `(i, j)`, `i < j`, of `sources` that can be judged, with its similarity.
fn score_all(
    stub: Option<&str>,
    sources: &[(String, String)],
    options: &Options,
) -> Vec<(usize, usize, f64)> {
    let k = options.k.max(1);
    let w = options.w.max(1);
    let base: Vec<u64> = stub
        .map(|s| {
            let mut all: Vec<u64> = items(s)
                .iter()
                .flat_map(|item| kgram_hashes(item, k))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        })
        .unwrap_or_default();
    let docs: Vec<(Vec<u64>, Vec<u64>)> = sources
        .iter()
        .map(|(_, text)| {
            let items = items(text);
            let mut prints: Vec<u64> = items
                .iter()
                .flat_map(|item| winnow(&kgram_hashes(item, k), w))
                .collect();
            prints.sort_unstable();
            prints.dedup();
            (items.concat(), minus(&prints, &base))
        })
        .collect();
    let mut common = Vec::new();
    if let Some(share) = options.common_share {
        // How many submissions hold each fingerprint (each set is sorted, deduplicated).
        let mut held: Vec<u64> = docs.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        held.sort_unstable();
        let limit = ((share * sources.len() as f64).floor() as usize).max(10);
        let mut i = 0;
        while i < held.len() {
            let j = i + held[i..].iter().take_while(|&&h| h == held[i]).count();
            if j - i > limit {
                common.push(held[i]);
            }
            i = j;
        }
    }
    let docs: Vec<(Vec<u64>, Vec<u64>)> = docs
        .into_iter()
        .map(|(tokens, prints)| {
            let prints = minus(&prints, &common);
            (tokens, prints)
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..docs.len() {
        if docs[i].1.len() < options.min_fingerprints {
            continue;
        }
        for j in i + 1..docs.len() {
            if docs[j].1.len() < options.min_fingerprints {
                continue;
            }
            let similarity = if docs[i].0 == docs[j].0 {
                1.0
            } else {
                let shared = shared(&docs[i].1, &docs[j].1);
                shared as f64 / docs[i].1.len().min(docs[j].1.len()) as f64
            };
            out.push((i, j, similarity));
        }
    }
    out
}

/// What is in `a` and not in `b` (both sorted, deduplicated).
fn minus(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter()
        .copied()
        .filter(|h| b.binary_search(h).is_err())
        .collect()
}

/// How many hashes `a` and `b` (both sorted, deduplicated) have in common.
fn shared(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Whether `word` is one of Rust's keywords (strict, reserved in use, and the weak ones
/// that read as code), or `_`.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "_" | "as"
            | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "union"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "macro_rules"
    )
}

/// Names of the standard library, the course's sync facade, nix and libc that the katas
/// use: kept as they are (see the module's documentation), sorted for binary search.
pub const API: &[&str] = &[
    "AcqRel",
    "Acquire",
    "Any",
    "Arc",
    "AssertUnwindSafe",
    "AtomicBool",
    "AtomicI32",
    "AtomicI64",
    "AtomicIsize",
    "AtomicU32",
    "AtomicU64",
    "AtomicU8",
    "AtomicUsize",
    "BTreeMap",
    "BTreeSet",
    "Barrier",
    "BinaryHeap",
    "Box",
    "Builder",
    "Cell",
    "Child",
    "Clone",
    "Condvar",
    "Copy",
    "Debug",
    "Default",
    "Display",
    "Drop",
    "Duration",
    "EAGAIN",
    "EINTR",
    "Eq",
    "Err",
    "Errno",
    "Error",
    "Exited",
    "Fn",
    "FnMut",
    "FnOnce",
    "ForkResult",
    "Formatter",
    "From",
    "HashMap",
    "HashSet",
    "Instant",
    "Into",
    "Iterator",
    "JoinHandle",
    "Mutex",
    "MutexGuard",
    "None",
    "Ok",
    "Once",
    "OnceCell",
    "OnceLock",
    "Option",
    "Ordering",
    "Parent",
    "PartialEq",
    "PhantomData",
    "Pid",
    "PollFd",
    "PollFlags",
    "Rc",
    "Receiver",
    "RefCell",
    "Relaxed",
    "Release",
    "Result",
    "RwLock",
    "SIGKILL",
    "SIGTERM",
    "Send",
    "Sender",
    "SeqCst",
    "Signal",
    "Signaled",
    "Some",
    "String",
    "Sync",
    "SyncSender",
    "Vec",
    "VecDeque",
    "WNOHANG",
    "WaitPidFlag",
    "WaitStatus",
    "Weak",
    "_exit",
    "all",
    "any",
    "as_raw_fd",
    "assert",
    "assert_eq",
    "atomic",
    "bool",
    "borrow",
    "borrow_mut",
    "catch_unwind",
    "channel",
    "char",
    "checked_add",
    "checked_sub",
    "clone",
    "close",
    "collect",
    "collections",
    "compare_exchange",
    "compare_exchange_weak",
    "contains",
    "current",
    "derive",
    "drain",
    "drop",
    "dup2",
    "elapsed",
    "enumerate",
    "eprintln",
    "exit",
    "expect",
    "f32",
    "f64",
    "fetch_add",
    "fetch_and",
    "fetch_max",
    "fetch_min",
    "fetch_or",
    "fetch_sub",
    "fetch_update",
    "filter",
    "find",
    "flush",
    "fmt",
    "for_each",
    "fork",
    "format",
    "from_millis",
    "from_secs",
    "get",
    "get_mut",
    "getpid",
    "getppid",
    "i32",
    "i64",
    "insert",
    "into_inner",
    "into_iter",
    "io",
    "is_empty",
    "is_none",
    "is_some",
    "isize",
    "iter",
    "iter_mut",
    "join",
    "kata_sync",
    "kill",
    "len",
    "libc",
    "load",
    "lock",
    "map",
    "map_err",
    "matches",
    "mem",
    "mpsc",
    "new",
    "nix",
    "notify_all",
    "notify_one",
    "now",
    "panic",
    "park",
    "pipe",
    "pipe2",
    "poll",
    "pop",
    "pop_back",
    "pop_front",
    "println",
    "process",
    "push",
    "push_back",
    "push_front",
    "read",
    "recv",
    "recv_timeout",
    "remove",
    "replace",
    "resume_unwind",
    "saturating_sub",
    "scope",
    "send",
    "sleep",
    "spawn",
    "std",
    "store",
    "str",
    "swap",
    "sync",
    "sync_channel",
    "take",
    "thread",
    "thread_local",
    "try_lock",
    "try_recv",
    "try_send",
    "u32",
    "u64",
    "u8",
    "unistd",
    "unpark",
    "unreachable",
    "unwrap",
    "unwrap_or",
    "usize",
    "vec",
    "wait",
    "wait_for",
    "wait_timeout",
    "wait_timeout_while",
    "wait_while",
    "waitpid",
    "with",
    "wrapping_add",
    "write",
    "write_str",
    "writeln",
    "yield_now",
];

/// FNV-1a, 64 bits: stable across runs and platforms, unlike std's hasher.
fn fnv(tag: u8, text: &str) -> u64 {
    std::iter::once(tag)
        .chain(text.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The splitmix64 finaliser: spreads a hash's bits, so the minimum of a window is any
/// k-gram's with equal chance.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The normalised tokens of `text`, one hash each (see the module's documentation).
pub fn normalise(text: &str) -> Vec<u64> {
    items(text).concat()
}

/// The normalised tokens of `text`, one hash each, cut into its items: each top-level
/// item (function, type, `impl` header, constant…) and each item of an `impl`, `trait` or
/// `mod` block is a run of its own, so that k-grams never straddle two items and moving
/// items around changes no fingerprint.
fn items(text: &str) -> Vec<Vec<u64>> {
    let tokens = lexer::tokenize(text);
    let mut items: Vec<Vec<u64>> = Vec::new();
    let mut item: Vec<u64> = Vec::new();
    // For each open brace, whether it holds items (`impl`, `trait` and `mod` blocks).
    let mut braces: Vec<bool> = Vec::new();
    let mut brackets = 0usize;
    let mut opens_items = false;
    let mut item_has_fn = false;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let item_level = brackets == 0 && braces.iter().all(|&holds| holds);
        // `use …;`: formatting, as far as similarity goes.
        if t.is_keyword("use") && item_level {
            while i < tokens.len() && !tokens[i].is_punct(';') {
                i += 1;
            }
            i += 1;
            items.push(std::mem::take(&mut item));
            continue;
        }
        // A trailing comma before a closing bracket.
        if t.is_punct(',')
            && tokens
                .get(i + 1)
                .is_some_and(|n| n.is_punct(')') || n.is_punct(']') || n.is_punct('}'))
        {
            i += 1;
            continue;
        }
        item.push(match &t.kind {
            Kind::Ident { raw: false }
                if is_keyword(&t.text) || API.binary_search(&t.text.as_str()).is_ok() =>
            {
                fnv(b'k', &t.text)
            }
            Kind::Ident { .. } => fnv(b'I', ""),
            Kind::Str { .. } => fnv(b'S', ""),
            Kind::Literal if t.text.starts_with(|c: char| c.is_ascii_digit()) => fnv(b'N', ""),
            Kind::Literal => fnv(b'C', ""),
            Kind::Lifetime => fnv(b'L', ""),
            Kind::Punct(c) => fnv(b'P', c.encode_utf8(&mut [0; 4])),
        });
        let mut ends_item = false;
        match &t.kind {
            Kind::Ident { raw: false } if item_level => {
                if t.text == "fn" {
                    item_has_fn = true;
                } else if matches!(t.text.as_str(), "impl" | "trait" | "mod") && !item_has_fn {
                    opens_items = true;
                }
            }
            Kind::Punct('(' | '[') => brackets += 1,
            Kind::Punct(')' | ']') => brackets = brackets.saturating_sub(1),
            Kind::Punct('{') => {
                let holds = item_level && opens_items;
                braces.push(holds);
                opens_items = false;
                ends_item = holds;
            }
            Kind::Punct('}') => {
                braces.pop();
                ends_item = brackets == 0 && braces.iter().all(|&holds| holds);
            }
            Kind::Punct(';') => ends_item = item_level,
            _ => {}
        }
        if ends_item {
            items.push(std::mem::take(&mut item));
            opens_items = false;
            item_has_fn = false;
        }
        i += 1;
    }
    items.push(item);
    items.retain(|item| !item.is_empty());
    items
}

/// The hash of every k-gram of `tokens`, in order.
fn kgram_hashes(tokens: &[u64], k: usize) -> Vec<u64> {
    if tokens.len() < k {
        return Vec::new();
    }
    tokens
        .windows(k)
        .map(|gram| {
            mix(gram.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &t| {
                (h ^ t).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5)
            }))
        })
        .collect()
}

/// Robust winnowing: of every window of `w` consecutive hashes the smallest (the
/// rightmost of equals), each chosen position once. Sorted and deduplicated: a set.
fn winnow(hashes: &[u64], w: usize) -> Vec<u64> {
    let mut prints = Vec::new();
    if hashes.is_empty() {
        return prints;
    }
    let w = w.min(hashes.len());
    let mut chosen: Option<usize> = None;
    for start in 0..=hashes.len() - w {
        let window = &hashes[start..start + w];
        let mut at = start;
        for (offset, &h) in window.iter().enumerate() {
            if h <= hashes[at] {
                at = start + offset;
            }
        }
        if chosen != Some(at) {
            chosen = Some(at);
            prints.push(hashes[at]);
        }
    }
    prints.sort_unstable();
    prints.dedup();
    prints
}

#[cfg(test)]
mod tests;
