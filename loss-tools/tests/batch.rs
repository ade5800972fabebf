//! `loss-tools batch` and `translate` on a representative request set: one request per
//! supported function (taken from the framework vectors) plus bad lines.

use std::process::Command;

const REQUESTS: &str = include_str!("fixtures/batch_requests.jsonl");

fn batch_output() -> String {
    let mut out = Vec::new();
    loss_tools::batch::run(REQUESTS.as_bytes(), &mut out).expect("in-memory I/O");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn batch_responses() {
    insta::assert_snapshot!(batch_output());
}

#[test]
fn translate_every_function() {
    let mut all = String::new();
    for line in REQUESTS.lines() {
        match loss_tools::batch::translate(line) {
            Ok(code) => all.push_str(&code),
            Err(e) => all.push_str(&format!("error: {e}\n")),
        }
        all.push('\n');
    }
    insta::assert_snapshot!(all);
}

#[test]
fn cli_writes_the_file_and_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("requests.jsonl");
    let output = dir.path().join("responses.jsonl");
    std::fs::write(&input, REQUESTS).unwrap();
    std::fs::write(&output, "previous content\n").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_loss-tools"))
        .args(["batch", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    // Some requests are bad on purpose: exit 1, every line still answered.
    assert_eq!(status.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&status.stderr).contains("3 of 25 requests failed"));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), batch_output());
}

#[test]
fn cli_unreadable_input_leaves_the_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("responses.jsonl");
    std::fs::write(&output, "previous content\n").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_loss-tools"))
        .args(["batch", "--input", "no/such/file.jsonl", "--output"])
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("error: no/such/file.jsonl: cannot read")
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "previous content\n"
    );
}
