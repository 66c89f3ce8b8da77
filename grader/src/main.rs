//! `grader`: see `grader --help` and the README.

fn main() {
    let code = grader::cli::main(
        std::env::args(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
