//! `grader`: see `grader --help` and the README.

fn main() {
    // A panic is a bug of the grader's own: it must read as "could not grade" (status 2,
    // like every other grader error), never as a test run's 101, which CI scripts could
    // take for a failing submission.
    let code = std::panic::catch_unwind(|| {
        grader::cli::main(
            std::env::args(),
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )
    })
    .unwrap_or_else(|_| {
        eprintln!(
            "grader: error: the grader itself failed (a bug in the grader, not in the \
             submission; the panic is above); no score was given"
        );
        grader::cli::EXIT_ERROR
    });
    std::process::exit(code);
}
