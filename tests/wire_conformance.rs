//! Runs `honch-conformance` over every shared wire-v2 fixture, and checks that the runner
//! notices a fixture whose expected bytes were edited.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/wire-v2")
}

fn fixtures() -> Vec<PathBuf> {
    let dir = fixture_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the shared fixtures must be at {} (../shared beside the repo): {e}",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn run(files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_honch-conformance"))
        .args(files)
        .output()
        .expect("honch-conformance runs");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    (output.status.success(), stdout)
}

#[test]
fn every_shared_fixture_passes() {
    let files = fixtures();
    let (ok, stdout) = run(&files);
    assert!(ok, "conformance failures:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len() + 1, "{stdout}");
    assert!(
        lines[..files.len()].iter().all(|l| l.starts_with("PASS ")),
        "{stdout}"
    );
    assert_eq!(lines[files.len()], format!("{} passed, 0 failed", files.len()));
}

/// Writes an edited copy of fixture `name` into a folder of its own per `label` (tests run
/// in parallel and may edit the same fixture).
fn edited_copy(label: &str, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("fixture readable");
    let mut fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    edit(&mut fixture);
    let dir = std::env::temp_dir().join(format!("honch-wire-conformance-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, fixture.to_string()).expect("write edited fixture");
    path
}

/// Flips the low bit of byte `index` of frame `frame`'s hex.
fn flip_hex_byte(fixture: &mut serde_json::Value, frame: usize, index: usize) -> (u8, u8) {
    let hex = fixture["frames"][frame]["hex"].as_str().expect("hex").to_owned();
    let old = u8::from_str_radix(&hex[2 * index..2 * index + 2], 16).expect("hex byte");
    let new = old ^ 1;
    let edited = format!("{}{new:02x}{}", &hex[..2 * index], &hex[2 * index + 2..]);
    fixture["frames"][frame]["hex"] = serde_json::Value::String(edited);
    (old, new)
}

#[test]
fn an_edited_expected_byte_fails_with_its_position() {
    let mut flipped = (0, 0);
    let path = edited_copy("byte", "single-required-context.json", |f| {
        flipped = flip_hex_byte(f, 0, 40);
    });
    let (ok, stdout) = run(&[path]);
    assert!(!ok, "the runner passed an edited fixture:\n{stdout}");
    let expected = format!(
        "FAIL single-required-context: frame 0 (offset 0) byte 40: fixture has {:02x}, encoder wrote {:02x}",
        flipped.1, flipped.0
    );
    assert!(stdout.lines().any(|l| l == expected), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn an_edited_continuation_byte_fails_too() {
    let path = edited_copy("continuation", "multi-frame-non-value-boundary.json", |f| {
        flip_hex_byte(f, 2, 10);
    });
    let (ok, stdout) = run(&[path]);
    assert!(!ok);
    assert!(
        stdout.contains("FAIL multi-frame-non-value-boundary: frame 2 (offset 74) byte 10:"),
        "{stdout}"
    );
}

#[test]
fn wrong_expectations_fail() {
    let code = edited_copy("code", "value-types.json", |f| {
        f["expected_capture_response_code"] = 204.into();
    });
    let (ok, stdout) = run(&[code]);
    assert!(!ok);
    assert!(stdout.contains("capture answered 422"), "{stdout}");

    let events = edited_copy("events", "single-required-context.json", |f| {
        f["expanded_event_json"][0]["timestamp"] = 1.into();
    });
    let (ok, stdout) = run(&[events]);
    assert!(!ok);
    assert!(stdout.contains("expanded_event_json[0].timestamp"), "{stdout}");
}
