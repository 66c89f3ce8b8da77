//! `grader`: see `grader --help` and the README.

fn main() {
    let code = grader::cli::main(std::env::args(), &mut std::io::stdout());
    std::process::exit(code);
}
