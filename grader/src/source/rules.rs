//! What a submission may not write, whatever the kata: the constructs that would let it
//! read files outside its `src/` while it is compiled, or run code outside the reach of
//! the grader's walls.
//!
//! - `unsafe` in any form (blocks, functions, impls, and `#[unsafe(…)]` attributes such
//!   as `#[unsafe(naked)]`, which rustc's `unsafe_code` lint lets through), and inline or
//!   global assembly: with them, code can read the process's memory (the harness's key),
//!   or run before `main`. The grader also compiles kata crates with `unsafe_code`
//!   forbidden; this check gives the reason first, and covers what the lint does not.
//! - `#[no_mangle]`, `#[export_name]`, `#[link_section]`: symbols that shadow libc's or
//!   the runtime's, and constructors.
//! - `#[link(…)]`: linking an object, archive or linker script of the submission's own
//!   into the test binary.
//! - `include!`, `include_str!`, `include_bytes!` of anything but a plain relative path
//!   inside `src/`, `#[path = …]` modules and `#[debugger_visualizer(…)]`: files read at
//!   compile time, which could pull the hidden tests or the solutions into the binary.
//!
//! Identifiers cannot be made up by macros, so a forbidden name must appear in the
//! source as a token: this reads tokens, never text, and is exact about what it refuses.

use super::lexer::{Kind, Token};

/// Words refused wherever they appear as identifiers, and why.
const REFUSED_WORDS: &[(&str, &str)] = &[
    ("asm", "inline assembly is not allowed"),
    ("global_asm", "assembly is not allowed"),
    ("naked_asm", "assembly is not allowed"),
    (
        "no_mangle",
        "`#[no_mangle]` is not allowed: it could shadow a libc or runtime symbol",
    ),
    (
        "export_name",
        "`#[export_name]` is not allowed: it could shadow a libc or runtime symbol",
    ),
    (
        "link_section",
        "`#[link_section]` is not allowed: it could place a constructor that runs before the tests",
    ),
    (
        "debugger_visualizer",
        "`#[debugger_visualizer]` is not allowed: it reads a file at compile time",
    ),
];

const INCLUDES: &[&str] = &["include_str", "include_bytes", "include"];

/// Finds refused constructs in one file's tokens: (line, why).
pub fn refusals(tokens: &[Token]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let punct_at = |i: usize, c: char| tokens.get(i).is_some_and(|t| t.is_punct(c));
    for (i, token) in tokens.iter().enumerate() {
        if !matches!(token.kind, Kind::Ident { .. }) {
            continue;
        }
        let name = token.text.as_str();
        if token.is_keyword("unsafe") {
            out.push((
                token.line,
                "`unsafe` is not allowed: katas are compiled with unsafe code forbidden (fork \
                 and _exit are kata_sync::process::fork and kata_sync::process::_exit)"
                    .to_string(),
            ));
        } else if let Some((_, why)) = REFUSED_WORDS.iter().find(|(w, _)| *w == name) {
            out.push((token.line, why.to_string()));
        } else if name == "link"
            && punct_at(i + 1, '(')
            && !(i > 0 && (punct_at(i - 1, '.') || punct_at(i - 1, ':')))
            && !(i > 0 && tokens[i - 1].is_keyword("fn"))
        {
            out.push((
                token.line,
                "`#[link(…)]` is not allowed: it links files of the submission's own into the \
                 test binary (a function named `link` must be called as a method or by path)"
                    .to_string(),
            ));
        } else if name == "path"
            && punct_at(i + 1, '=')
            && !punct_at(i + 2, '=')
            && tokens
                .get(i + 2)
                .is_some_and(|t| matches!(t.kind, Kind::Str { .. }))
        {
            out.push((
                token.line,
                "`#[path = …]` modules are not allowed: keep modules inside src/".to_string(),
            ));
        } else if INCLUDES.contains(&name) {
            match include_argument(tokens, i) {
                Some(Ok(path)) if is_inside_src(&path) => {}
                Some(Ok(path)) => out.push((
                    token.line,
                    format!("`{name}!(\"{path}\")` reads a file outside src/"),
                )),
                Some(Err(())) => out.push((
                    token.line,
                    format!("`{name}!` with anything but a plain relative path inside src/"),
                )),
                None => out.push((
                    token.line,
                    format!(
                        "`{name}` named without being called: include macros may not be renamed \
                         or passed around"
                    ),
                )),
            }
        }
    }
    out
}

/// After an include macro's name at `i`: `Some(Ok(path))` for `!("literal")`, `Some(Err)`
/// for a call with another argument, `None` when the name is not called.
fn include_argument(tokens: &[Token], i: usize) -> Option<Result<String, ()>> {
    if !tokens.get(i + 1)?.is_punct('!') {
        return None;
    }
    let open = tokens.get(i + 2);
    let close = match open.map(|t| &t.kind) {
        Some(Kind::Punct('(')) => ')',
        Some(Kind::Punct('[')) => ']',
        Some(Kind::Punct('{')) => '}',
        _ => return Some(Err(())),
    };
    let literal = tokens.get(i + 3).and_then(|t| t.plain_string());
    match (literal, tokens.get(i + 4)) {
        (Some(path), Some(end)) if end.is_punct(close) => Some(Ok(path.to_string())),
        _ => Some(Err(())),
    }
}

fn is_inside_src(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && !path.split(['/', '\\']).any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn refused(text: &str) -> Vec<usize> {
        refusals(&tokenize(text))
            .into_iter()
            .map(|(line, _)| line)
            .collect()
    }

    #[test]
    fn reads_outside_src_are_refused() {
        assert_eq!(
            refused("const S: &str = include_str!(\"/etc/passwd\");"),
            [1]
        );
        assert_eq!(
            refused("\nconst S: &[u8] = include_bytes!(\"../../x\");"),
            [2]
        );
        assert_eq!(
            refused("const S: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/x\"));"),
            [1]
        );
        assert_eq!(refused("use std::include_str as grab;"), [1]);
        assert_eq!(refused("#[path = \"/course/solutions/x.rs\"]\nmod x;"), [1]);
        assert_eq!(refused("#![path=\"a\"]"), [1]);
        assert_eq!(
            refused("#[cfg_attr(all(), path = \"../x.rs\")] mod x;"),
            [1]
        );
        assert_eq!(refused("include!(\"../hidden.rs\");"), [1]);
        assert_eq!(
            refused("include!(\"a\\x2e./b\");"),
            [1],
            "escapes are refused"
        );
        assert_eq!(
            refused("#![debugger_visualizer(gdb_script_file = \"../../../hidden/race_loom.rs\")]"),
            [1]
        );
        // A macro that takes the name: `include` is named without its `!(…)`.
        assert_eq!(
            refused("macro_rules! m { ($i:ident) => { $i!(\"../x\") } }\nm!(include_str);"),
            [2]
        );
    }

    #[test]
    fn unsafe_assembly_and_symbol_tricks_are_refused() {
        assert_eq!(refused("fn f() { unsafe { g() } }"), [1]);
        assert_eq!(
            refused(
                "#[unsafe(naked)]\npub extern \"C\" fn n() { core::arch::naked_asm!(\"ret\") }"
            ),
            [1, 2]
        );
        assert_eq!(refused("std::arch::global_asm!(\"nop\");"), [1]);
        assert_eq!(refused("#[no_mangle] pub extern \"C\" fn _exit() {}"), [1]);
        assert_eq!(refused("#[export_name = \"write\"] fn w() {}"), [1]);
        assert_eq!(
            refused("#[used]\n#[link_section = \".init_array\"]\nstatic C: fn() = f;"),
            [2]
        );
        assert_eq!(
            refused("#[link(name = \"x.rs\", kind = \"static\", modifiers = \"+verbatim\")]\nextern \"C\" {}"),
            [1]
        );
        assert_eq!(
            refused("#[cfg_attr(all(), link(name = \"m\"))] extern {}"),
            [1]
        );
        assert_eq!(
            refused("macro_rules! l { ($($a:tt)*) => { #[$($a)*] extern \"C\" {} } }\nl!(link(name = \"x\"));"),
            [2]
        );
    }

    #[test]
    fn ordinary_code_is_fine() {
        assert!(refused("const S: &str = include_str!(\"data/table.txt\");").is_empty());
        assert!(refused(
            "// include_str!(\"/etc/passwd\") unsafe\nlet s = \"include_str! unsafe\";"
        )
        .is_empty());
        assert!(refused(
            "let path = Path::new(\"x\"); let include_me = 1; #[derive(Debug)] struct S;"
        )
        .is_empty());
        assert!(refused("fn f(path: &str) { if path == \"x\" {} }").is_empty());
        assert!(
            refused("let r#unsafe = 1; node.link(other); list::link(a, b); fn link(a: u8) {}")
                .is_empty()
        );
        assert!(refused("fn f<'a>(x: &'a str) -> char { 'x' }").is_empty());
    }
}
