//! `batch` on arbitrary input (one or more request lines, any bytes): one JSON response per
//! request line, a loss or an error naming the line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let (requests, failures) = loss_tools::batch::run(data, &mut out).expect("in-memory I/O");
    assert!(failures <= requests);
    let text = String::from_utf8(out).expect("responses are UTF-8");
    assert_eq!(text.lines().count(), requests);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a response is JSON");
        assert!(
            v.get("loss").is_some() != v.get("error").is_some(),
            "{line}"
        );
    }
});
