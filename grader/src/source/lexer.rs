//! A small Rust lexer: enough to read a submission's tokens the way rustc does, without
//! comments, and with string contents kept apart from code.
//!
//! It knows line and block comments (nested), string, byte and C string literals (plain
//! and raw), char and byte literals as opposed to lifetimes, numbers, identifiers
//! (raw ones too: `r#unsafe` is an identifier, not the keyword) and punctuation, one
//! character at a time. Every check of [`crate::source`] reads this one token stream.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword. `raw` for `r#name`, which is never a keyword.
    Ident {
        raw: bool,
    },
    /// A string literal of any kind; [`Token::value`] holds its contents, unescaped only
    /// for plain strings without escapes (`None` otherwise).
    Str {
        value: Option<String>,
    },
    /// A char or byte literal, or a number.
    Literal,
    Lifetime,
    /// One punctuation character.
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    /// The identifier (without `r#`), or the literal's source text.
    pub text: String,
    /// 1-based.
    pub line: usize,
}

impl Token {
    /// Whether this is the identifier or keyword `name` (raw identifiers never match a
    /// keyword: `r#unsafe` is not `unsafe`).
    pub fn is_word(&self, name: &str) -> bool {
        matches!(self.kind, Kind::Ident { .. }) && self.text == name
    }

    pub fn is_keyword(&self, name: &str) -> bool {
        self.kind == Kind::Ident { raw: false } && self.text == name
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    /// The contents of a plain string literal without escapes.
    pub fn plain_string(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str { value } => value.as_deref(),
            _ => None,
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The tokens of `text`. Unterminated literals and comments end at the end of the text.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count_lines = |from: usize, to: usize, chars: &[char]| {
        chars[from..to.min(chars.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count()
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i, &chars);
            continue;
        }
        // String-like literals with a prefix: b"", c"", r"", br"", cr"", r#""#, …
        let prefix_len = {
            let mut j = i;
            while j < chars.len() && j - i < 2 && matches!(chars[j], 'b' | 'c' | 'r') {
                j += 1;
            }
            let prefix: String = chars[i..j].iter().collect();
            let valid = matches!(prefix.as_str(), "" | "b" | "c" | "r" | "br" | "cr");
            if valid
                && (chars.get(j) == Some(&'"')
                    || (prefix.ends_with('r') && chars.get(j) == Some(&'#')))
            {
                Some(j - i)
            } else {
                None
            }
        };
        if let Some(plen) = prefix_len {
            let raw = plen > 0 && chars[i + plen - 1] == 'r';
            let mut j = i + plen;
            if raw {
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    j += 1;
                    let body_start = j;
                    while j < chars.len() {
                        if chars[j] == '"'
                            && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#'))
                        {
                            break;
                        }
                        j += 1;
                    }
                    let body: String = chars[body_start..j.min(chars.len())].iter().collect();
                    let end = (j + 1 + hashes).min(chars.len());
                    let is_plain = plen == 1; // r"…": a str
                    tokens.push(Token {
                        kind: Kind::Str {
                            value: is_plain.then_some(body),
                        },
                        text: chars[start..end].iter().collect(),
                        line: start_line,
                    });
                    line += count_lines(start, end, &chars);
                    i = end;
                    continue;
                }
                // `r#ident`: a raw identifier.
                if plen == 1 && hashes == 1 && chars.get(j).is_some_and(|&c| is_ident_start(c)) {
                    let s = j;
                    while j < chars.len() && is_ident_continue(chars[j]) {
                        j += 1;
                    }
                    tokens.push(Token {
                        kind: Kind::Ident { raw: true },
                        text: chars[s..j].iter().collect(),
                        line: start_line,
                    });
                    i = j;
                    continue;
                }
                // Not a literal after all: fall through to the identifier below.
            } else {
                // A quoted string with escapes.
                j += 1; // the opening quote
                let body_start = j;
                let mut escaped = false;
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' {
                        escaped = true;
                        j += 1;
                    }
                    j += 1;
                }
                let body: String = chars[body_start..j.min(chars.len())].iter().collect();
                let end = (j + 1).min(chars.len());
                tokens.push(Token {
                    kind: Kind::Str {
                        value: (plen == 0 && !escaped).then_some(body),
                    },
                    text: chars[start..end].iter().collect(),
                    line: start_line,
                });
                line += count_lines(start, end, &chars);
                i = end;
                continue;
            }
        }
        // Char and byte literals, and lifetimes.
        if c == '\'' || (c == 'b' && next == Some('\'')) {
            let q = if c == 'b' { i + 1 } else { i };
            let after = chars.get(q + 1).copied();
            let char_literal = match after {
                Some('\\') => true,
                Some(_) => chars.get(q + 2) == Some(&'\''),
                None => false,
            };
            if char_literal {
                let mut j = q + 1;
                while j < chars.len() && chars[j] != '\'' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let end = (j + 1).min(chars.len());
                tokens.push(Token {
                    kind: Kind::Literal,
                    text: chars[start..end].iter().collect(),
                    line: start_line,
                });
                i = end;
                continue;
            }
            if c == '\'' && after.is_some_and(is_ident_start) {
                let mut j = i + 1;
                while j < chars.len() && is_ident_continue(chars[j]) {
                    j += 1;
                }
                tokens.push(Token {
                    kind: Kind::Lifetime,
                    text: chars[start..j].iter().collect(),
                    line: start_line,
                });
                i = j;
                continue;
            }
        }
        if is_ident_start(c) {
            let mut j = i;
            while j < chars.len() && is_ident_continue(chars[j]) {
                j += 1;
            }
            tokens.push(Token {
                kind: Kind::Ident { raw: false },
                text: chars[i..j].iter().collect(),
                line: start_line,
            });
            i = j;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric()
                    || chars[j] == '_'
                    || (chars[j] == '.' && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                j += 1;
            }
            tokens.push(Token {
                kind: Kind::Literal,
                text: chars[i..j].iter().collect(),
                line: start_line,
            });
            i = j;
            continue;
        }
        tokens.push(Token {
            kind: Kind::Punct(c),
            text: c.to_string(),
            line: start_line,
        });
        i += 1;
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
            .into_iter()
            .filter(|t| matches!(t.kind, Kind::Ident { .. }))
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn comments_and_strings_hide_their_words() {
        assert_eq!(
            words("a // unsafe\n/* unsafe /* nested */ unsafe */ b \"unsafe\" r#\"unsafe\"# c"),
            ["a", "b", "c"]
        );
        assert_eq!(words("b\"x\" c\"y\" br#\"z\"# cr\"w\" d"), ["d"]);
    }

    #[test]
    fn chars_and_lifetimes_are_told_apart() {
        let tokens = tokenize("fn f<'a>(x: &'a str) -> char { '\\'' } let c = 'x'; b'y'");
        let lifetimes = tokens.iter().filter(|t| t.kind == Kind::Lifetime).count();
        assert_eq!(lifetimes, 2);
        assert!(words("let c = '\"'; unsafe").contains(&"unsafe".to_string()));
    }

    #[test]
    fn raw_identifiers_are_not_keywords() {
        let tokens = tokenize("r#unsafe unsafe");
        assert!(!tokens[0].is_keyword("unsafe"));
        assert!(tokens[0].is_word("unsafe"));
        assert!(tokens[1].is_keyword("unsafe"));
    }

    #[test]
    fn lines_are_counted_through_multi_line_tokens() {
        let tokens = tokenize("a\n/* x\ny */\n\"s\nt\"\nb");
        let b = tokens.iter().find(|t| t.text == "b").unwrap();
        assert_eq!(b.line, 6);
    }

    #[test]
    fn plain_strings_keep_their_value() {
        let tokens = tokenize("x(\"src/data.txt\", \"a\\nb\", r\"raw\", b\"bytes\")");
        let values: Vec<Option<&str>> = tokens
            .iter()
            .filter(|t| matches!(t.kind, Kind::Str { .. }))
            .map(|t| t.plain_string())
            .collect();
        assert_eq!(values, [Some("src/data.txt"), None, Some("raw"), None]);
    }
}
