//! Hostile fixture: tries to rewrite the hidden tests and the grader's report.
fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let course = manifest
        .split("/target/grader/")
        .next()
        .unwrap()
        .to_string();
    let _ = std::fs::write(
        format!("{course}/grader/hidden/race/race_loom.rs"),
        "// pwned\n",
    );
    let _ = std::fs::write(format!("{course}/course.yaml"), "pwned: true\n");
}
