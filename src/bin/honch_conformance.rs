//! `honch-conformance FILE...`: runs wire-v2 conformance fixtures (see
//! `honch::capture::conformance`). Prints `PASS <name>` or `FAIL <name>: <first difference>`
//! per fixture and `N passed, M failed` last; exits non-zero on any failure.

use std::path::Path;
use std::process::ExitCode;

use honch::capture::conformance::run_file;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: honch-conformance FIXTURE.json...");
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let result = run_file(Path::new(file));
        println!("{}", result.line());
        if result.failure.is_none() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
