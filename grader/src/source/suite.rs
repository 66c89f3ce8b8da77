//! The tests a hidden suite file declares, read from its source: the grader never runs a
//! test binary (which links the submission) just to learn its test names.

use super::lexer::{tokenize, Kind};

/// One `hidden_test! { fn name() … }` of a suite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub line: usize,
}

/// What a suite file declares: its hidden tests in order, and the lines of any bare
/// `#[test]` (which would run without the harness's proof, so never pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declarations {
    pub tests: Vec<Declared>,
    pub bare_tests: Vec<usize>,
}

/// Reads the declarations of one suite file's text.
pub fn declarations(text: &str) -> Declarations {
    let tokens = tokenize(text);
    let mut out = Declarations::default();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_word("hidden_test") && tokens.get(i + 1).is_some_and(|n| n.is_punct('!')) {
            // The first `fn <name>` inside the invocation.
            let mut j = i + 2;
            while j + 1 < tokens.len() && !tokens[j].is_keyword("fn") {
                j += 1;
            }
            if let Some(name) = tokens
                .get(j + 1)
                .filter(|n| matches!(n.kind, Kind::Ident { .. }))
            {
                out.tests.push(Declared {
                    name: name.text.clone(),
                    line: name.line,
                });
            }
            i = j + 1;
            continue;
        }
        if t.is_punct('#')
            && tokens.get(i + 1).is_some_and(|n| n.is_punct('['))
            && tokens.get(i + 2).is_some_and(|n| n.is_word("test"))
            && tokens.get(i + 3).is_some_and(|n| n.is_punct(']'))
        {
            out.bare_tests.push(t.line);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_tests_are_read_in_order() {
        let text = "use kata_harness::hidden_test;\n\
                    hidden_test! {\n    /// doc\n    fn first() { let f = |x| x; }\n}\n\
                    fn helper() {}\n\
                    kata_harness::hidden_test! { fn second() {} }\n\
                    #[test]\nfn bare() {}\n";
        let d = declarations(text);
        let names: Vec<(&str, usize)> = d.tests.iter().map(|t| (t.name.as_str(), t.line)).collect();
        assert_eq!(names, [("first", 4), ("second", 7)]);
        assert_eq!(d.bare_tests, [8]);
    }
}
