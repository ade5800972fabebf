//! Replays the committed hostile inputs (`loss-tools/tests/corpus/`) and deterministic
//! mutations of them (every truncation, bytes flipped at pseudo-random places) through the
//! `.npy` and PNG readers and the `batch` request parser: each must answer with a value or a
//! one-line error, never a panic or an allocation its file cannot justify. A stable-Rust
//! first step towards coverage-guided fuzzing of the same entry points.

use std::path::{Path, PathBuf};

use super::{npy, png};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// `splitmix64`, for reproducible mutation positions.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The file, every prefix of it (up to 512 bytes), and 256 copies with one byte changed.
fn mutations(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![bytes.to_vec()];
    out.extend((0..bytes.len().min(512)).map(|n| bytes[..n].to_vec()));
    for k in 0..256u64 {
        let r = splitmix64(k);
        let mut m = bytes.to_vec();
        if let Some(b) = m.get_mut(r as usize % bytes.len().max(1)) {
            *b ^= (r >> 32) as u8 | 1;
        }
        out.push(m);
    }
    out
}

fn check_message(file: &str, result: Result<(), String>) {
    if let Err(e) = result {
        assert!(
            !e.contains('\n') && e.chars().count() <= 300,
            "{file}: not one bounded line: {e:?}"
        );
    }
}

#[test]
fn hostile_files_give_errors_not_panics() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut cases = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        for (i, m) in mutations(&bytes).iter().enumerate() {
            let unlimited;
            match path.extension().and_then(|e| e.to_str()) {
                Some("npy") => {
                    unlimited = npy::parse(m, None).map(|_| ());
                    check_message(&name, npy::parse(m, Some(16)).map(|_| ()));
                }
                Some("png") => {
                    unlimited = png::read_mask(m, None).map(|_| ());
                    check_message(&name, png::read_mask(m, Some(16)).map(|_| ()));
                }
                _ => continue,
            }
            let valid = name.starts_with("valid-");
            if i == 0 {
                assert_eq!(unlimited.is_ok(), valid, "{name}: {unlimited:?}");
            }
            check_message(&name, unlimited);
            cases += 1;
        }
    }
    assert!(cases > 5000, "{cases} cases");
}

#[test]
fn hostile_batch_lines_each_get_a_response() {
    let bytes = std::fs::read(corpus().join("batch.jsonl")).unwrap();
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let mut out = Vec::new();
    let (requests, failures) = crate::batch::run(bytes.as_slice(), &mut out).unwrap();
    assert_eq!(requests, lines);
    // The first line (after a byte order mark) and the last (with `\r\n`) are good requests.
    assert_eq!(failures, lines - 2);
    let text = String::from_utf8(out).unwrap();
    for (n, response) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(response).unwrap();
        if n == 0 || n == lines - 1 {
            assert!(v.get("loss").is_some(), "{response}");
        } else {
            let e = v["error"].as_str().unwrap();
            assert!(e.starts_with(&format!("line {}: ", n + 1)), "{response}");
        }
    }
    // Every line mutated: still one response per line.
    for m in mutations(&bytes).iter().step_by(7) {
        let mut out = Vec::new();
        let (requests, _) = crate::batch::run(m.as_slice(), &mut out).unwrap();
        assert_eq!(String::from_utf8_lossy(&out).lines().count(), requests);
    }
}
