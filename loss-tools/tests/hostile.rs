//! Hostile inputs: one test per class of failure an attacker (or an unlucky user) can provoke.
//! The promise each checks: a one-line error naming the file and the problem, a non-zero exit,
//! no panic, bounded memory and time, and nothing the user had is lost.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tool_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loss-tools"));
    c.current_dir(dir);
    c
}

/// Runs the command with a deadline (a hang fails the test instead of stalling it).
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{cmd:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs the command and checks it failed with exactly one line on stderr, which it returns.
fn one_line_error(cmd: Command) -> String {
    let out = run(cmd);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.len() < 1100, "bounded: {} bytes", stderr.len());
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// A `.npy` file (format 1.0) with a header dict and raw data.
fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.as_bytes().to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// A float32 `.npy` of the given shape, every value 0.25.
fn npy_f32(shape: &str, count: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..count).flat_map(|_| 0.25f32.to_le_bytes()).collect();
    npy_with_header(
        &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"),
        &data,
    )
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc = 0xffff_ffffu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    c.extend_from_slice(&(!crc).to_be_bytes());
    c
}

/// An 8-bit greyscale PNG header declaring `w x h` pixels, with `idat` as its only data.
fn png_declaring(w: u32, h: u32, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(b"IDAT", idat));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// A real 8-bit greyscale PNG of zeros.
fn grey_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(&vec![0u8; (w * h) as usize]).unwrap();
    wr.finish().unwrap();
    out
}

/// A directory with 4x4 probabilities `p.npy` and their 4x4 mask `m.png`.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.npy"), npy_f32("(4, 4)", 16)).unwrap();
    std::fs::write(dir.path().join("m.png"), grey_png(4, 4)).unwrap();
    dir
}

fn eval(dir: &Path, args: &[&str]) -> Command {
    let mut c = tool_in(dir);
    c.arg("eval").args(args);
    c
}

// 1. Declared sizes are checked before anything is allocated.

#[test]
fn declared_sizes_are_checked_before_allocating() {
    let dir = fixture();
    let d = dir.path();
    // 69 bytes declaring 33554432 x 2147483647 pixels.
    std::fs::write(
        d.join("huge.png"),
        png_declaring(33_554_432, 2_147_483_647, &[]),
    )
    .unwrap();
    let e = one_line_error(eval(d, &["p.npy", "huge.png"]));
    assert!(
        e.contains("huge.png: PNG of 33554432x2147483647 pixels, more than the 16"),
        "{e}"
    );
    // A real PNG, far larger than the predictions: refused before it is decoded.
    std::fs::write(d.join("big.png"), grey_png(2048, 2048)).unwrap();
    let e = one_line_error(eval(d, &["p.npy", "big.png"]));
    assert!(e.contains("big.png: PNG of 2048x2048 pixels"), "{e}");
    // A PNG declaring more pixel data than its bytes can inflate to, as predictions.
    std::fs::write(d.join("bomb.png"), png_declaring(60_000, 60_000, &[])).unwrap();
    let e = one_line_error(eval(d, &["bomb.png", "m.png"]));
    assert!(
        e.contains("bomb.png: PNG declares 60000x60000 pixels"),
        "{e}"
    );
    // A v2 .npy declaring a 4 GiB header.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    v2.extend_from_slice(b"{'descr': '<f4'");
    std::fs::write(d.join("v2.npy"), v2).unwrap();
    let e = one_line_error(eval(d, &["v2.npy", "m.png"]));
    assert!(
        e.contains("v2.npy: bad .npy header: declares 4294967295 header bytes"),
        "{e}"
    );
    // A target .npy declaring more values than the predictions hold.
    std::fs::write(d.join("t.npy"), npy_f32("(64, 64)", 64 * 64)).unwrap();
    let e = one_line_error(eval(d, &["p.npy", "t.npy"]));
    assert!(
        e.contains("t.npy: shape [64, 64] holds 4096 values, more than the 16"),
        "{e}"
    );
}

#[test]
fn batch_shapes_that_overflow_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let line = |id: u32, shape: &str, data: &str| {
        format!(
            "{{\"id\": {id}, \"function\": \"torchvision.ops.sigmoid_focal_loss\", \"params\": {{\"reduction\": \"none\"}}, \"inputs\": {{\"inputs\": {{\"shape\": {shape}, \"data\": {data}}}, \"targets\": {{\"shape\": {shape}, \"data\": {data}}}}}}}\n"
        )
    };
    let requests = [
        line(1, "[3, 9223372036854775808, 2]", "[]"),
        // Wraps to 2 without a checked product.
        line(2, "[9223372036854775809, 2]", "[0, 1]"),
        line(3, "[0, 18446744073709551615, 2]", "[]"),
        line(4, "[2]", "[0, 1]"),
    ]
    .concat();
    std::fs::write(dir.path().join("r.jsonl"), requests).unwrap();
    let mut c = tool_in(dir.path());
    c.args(["batch", "--input", "r.jsonl"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (i, l) in lines[..3].iter().enumerate() {
        assert!(
            l.contains(&format!(
                "\"error\": \"line {}: input `inputs`: shape",
                i + 1
            )) && l.contains("overflows"),
            "{l}"
        );
    }
    assert!(lines[3].contains("\"loss\""), "{}", lines[3]);
}

// 2. A failing stdout.

#[test]
fn a_full_disk_is_a_one_line_error() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = fixture();
    for args in [
        vec!["eval", "p.npy", "m.png"],
        vec!["explain"],
        vec!["sweep", "p.npy", "m.png"],
    ] {
        let mut c = tool_in(dir.path());
        c.args(&args);
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        c.stdout(full).stderr(Stdio::piped());
        let out = c.output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "error: standard output: cannot write: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_a_non_zero_exit() {
    let dir = fixture();
    let requests = include_str!("fixtures/batch_requests.jsonl");
    std::fs::write(dir.path().join("r.jsonl"), requests).unwrap();
    let first = requests.lines().next().unwrap();
    std::fs::write(dir.path().join("one.json"), first).unwrap();
    for args in [
        vec!["eval", "p.npy", "m.png"],
        vec!["explain"],
        vec!["batch", "--input", "r.jsonl"],
        vec!["translate", "--input", "one.json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut c = tool_in(dir.path());
        c.args(&args).stdout(writer).stderr(Stdio::piped());
        let out = c.output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

// 3. One bad line does not stop `batch`.

#[test]
fn batch_answers_every_line_after_bad_bytes() {
    let good = include_str!("fixtures/batch_requests.jsonl")
        .lines()
        .next()
        .unwrap();
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\n{\"id\": \"caf\xe9\"}\n");
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\r\n\n");
    input.extend_from_slice(good.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_loss-tools"))
        .arg("batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].contains("\"loss\""), "BOM: {}", lines[0]);
    assert_eq!(
        lines[1],
        "{\"id\": null, \"error\": \"line 2: invalid UTF-8 at byte 12\"}"
    );
    assert!(lines[2].contains("\"loss\"") && lines[3].contains("\"loss\""));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "1 of 4 requests failed\n"
    );
}

// 4. Output never destroys input.

#[test]
fn outputs_that_name_an_input_are_refused() {
    let dir = fixture();
    let d = dir.path();
    let before = std::fs::read(d.join("p.npy")).unwrap();
    let e = one_line_error(eval(d, &["p.npy", "m.png", "--output", "./p.npy"]));
    assert!(e.contains("--output ./p.npy: is the input p.npy"), "{e}");
    assert_eq!(std::fs::read(d.join("p.npy")).unwrap(), before);
    let e = one_line_error(eval(d, &["p.npy", "m.png", "--overlay", "."]));
    assert!(e.contains("--overlay .: holds input files"), "{e}");
    let mut sweep = tool_in(d);
    sweep.args(["sweep", "p.npy", "m.png", "--plot", "m"]);
    let e = one_line_error(sweep);
    assert!(e.contains("--plot m.png: is the input m.png"), "{e}");
    // Directories: the overlays would replace the masks.
    std::fs::create_dir(d.join("pred")).unwrap();
    std::fs::create_dir(d.join("mask")).unwrap();
    std::fs::rename(d.join("p.npy"), d.join("pred/a.npy")).unwrap();
    std::fs::rename(d.join("m.png"), d.join("mask/a.png")).unwrap();
    let mask = std::fs::read(d.join("mask/a.png")).unwrap();
    let e = one_line_error(eval(d, &["pred", "mask", "--overlay", "mask"]));
    assert!(e.contains("--overlay mask: holds input files"), "{e}");
    assert_eq!(std::fs::read(d.join("mask/a.png")).unwrap(), mask);
    // batch: the responses would replace the requests.
    std::fs::write(d.join("r.jsonl"), "{}\n").unwrap();
    let mut c = tool_in(d);
    c.args(["batch", "--input", "r.jsonl", "--output", "r.jsonl"]);
    let e = one_line_error(c);
    assert!(e.contains("--output r.jsonl: is the input"), "{e}");
    assert_eq!(std::fs::read_to_string(d.join("r.jsonl")).unwrap(), "{}\n");
}

#[cfg(unix)]
#[test]
fn batch_output_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "old\n").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(dir.path().join("r.jsonl"), "\n").unwrap();
    let mut c = tool_in(dir.path());
    c.args(["batch", "--input", "r.jsonl", "--output", "out.jsonl"]);
    assert!(run(c).status.success());
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
}

#[cfg(unix)]
#[test]
fn sigterm_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "previous\n").unwrap();
    // Requests from a pipe kept open: `batch` waits with its temporary file created.
    let mut child = tool_in(dir.path())
        .args(["batch", "--output", "out.jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let temporary = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp"))
            .count()
    };
    let start = Instant::now();
    while temporary() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no temporary file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
    assert_eq!(temporary(), 0, "temporary file left behind");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
}

// 5. Non-regular files.

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_without_reading() {
    let dir = fixture();
    let d = dir.path();
    assert!(
        Command::new("mkfifo")
            .arg(d.join("fifo.npy"))
            .status()
            .unwrap()
            .success()
    );
    let e = one_line_error(eval(d, &["fifo.npy", "m.png"]));
    assert_eq!(
        e,
        "error: fifo.npy: cannot read: a FIFO, not a regular file\n"
    );
    let e = one_line_error(eval(d, &["p.npy", "/dev/zero", "--shape", "4,4"]));
    assert!(
        e.contains("/dev/zero: cannot read: a character device"),
        "{e}"
    );
    let mut c = tool_in(d);
    c.args(["batch", "--input", "fifo.npy"]);
    let e = one_line_error(c);
    assert!(e.contains("fifo.npy: cannot read: a FIFO"), "{e}");
    let mut c = tool_in(d);
    c.args(["batch", "--input", "."]);
    let e = one_line_error(c);
    assert!(e.contains(".: cannot read: a directory"), "{e}");
    let mut c = tool_in(d);
    c.args(["translate", "--input", "/dev/zero"]);
    let e = one_line_error(c);
    assert!(
        e.contains("/dev/zero: cannot read: a character device"),
        "{e}"
    );
}

// 6. Messages: one line, bounded, naming the file.

#[test]
fn messages_are_one_line_and_name_the_file() {
    let dir = fixture();
    let d = dir.path();
    std::fs::write(
        d.join("bad.npy"),
        npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4,4 }",
            &[0; 64],
        ),
    )
    .unwrap();
    let e = one_line_error(eval(d, &["bad.npy", "m.png"]));
    assert!(e.starts_with("error: bad.npy: bad .npy header: "), "{e}");
    let deep = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': {}{}, }}",
        "(".repeat(3000),
        ")".repeat(3000)
    );
    std::fs::write(d.join("deep.npy"), npy_with_header(&deep, &[])).unwrap();
    let e = one_line_error(eval(d, &["deep.npy", "m.png"]));
    assert!(
        e.contains("deep.npy: bad .npy header: brackets nested"),
        "{e}"
    );
    // A newline in a file name is escaped.
    std::fs::copy(d.join("p.npy"), d.join("two\nlines.npy")).unwrap();
    std::fs::write(d.join("t.png"), grey_png(5, 5)).unwrap();
    let e = one_line_error(eval(d, &["two\nlines.npy", "t.png"]));
    assert!(e.starts_with("error: t.png: "), "{e}");
    let e = one_line_error(eval(d, &["two\nlines.npy", "missing.png"]));
    assert!(e.starts_with("error: missing.png: cannot read"), "{e}");
    std::fs::write(d.join("two\nlines.npy"), b"junk").unwrap();
    let e = one_line_error(eval(d, &["two\nlines.npy", "m.png"]));
    assert!(
        e.starts_with("error: two\\nlines.npy: not a .npy file"),
        "{e}"
    );
    // monitor-baseline names the file holding a NaN.
    std::fs::create_dir(d.join("frames")).unwrap();
    let mut data: Vec<u8> = (0..32).flat_map(|_| 0.5f32.to_le_bytes()).collect();
    data[20..24].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(
        d.join("frames/f0.npy"),
        npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4, 4), }",
            &data,
        ),
    )
    .unwrap();
    let mut c = tool_in(d);
    c.args(["monitor-baseline", "frames"]);
    let e = one_line_error(c);
    assert!(e.contains("frames/f0.npy: NaN at index 5"), "{e}");
}

// 7. Negative numbers are values.

#[test]
fn negative_numbers_parse_and_are_validated() {
    let dir = fixture();
    let d = dir.path();
    let out = run(eval(d, &["p.npy", "m.png", "--ignore-index", "-100"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = tool_in(d);
    c.args(["explain", "--gamma", "-1"]);
    let e = one_line_error(c);
    assert_eq!(e, "error: --gamma -1: must be finite and >= 0\n");
    let e = one_line_error(eval(d, &["p.npy", "m.png", "--gamma", "-1"]));
    assert!(e.contains("--gamma -1"), "{e}");
    let mut c = tool_in(d);
    c.args(["sweep", "p.npy", "m.png", "--alphas", "-0.5"]);
    let e = one_line_error(c);
    assert!(e.contains("--alphas: -0.5 is not in [0, 1]"), "{e}");
}

// 8. Directories: one prediction per name.

#[test]
fn two_predictions_with_one_name_are_refused() {
    let dir = fixture();
    let d = dir.path();
    std::fs::create_dir(d.join("pred")).unwrap();
    std::fs::create_dir(d.join("mask")).unwrap();
    std::fs::copy(d.join("p.npy"), d.join("pred/a.npy")).unwrap();
    let raw: Vec<u8> = (0..16).flat_map(|_| 0.25f32.to_le_bytes()).collect();
    std::fs::write(d.join("pred/a.bin"), raw).unwrap();
    std::fs::copy(d.join("m.png"), d.join("mask/a.png")).unwrap();
    let e = one_line_error(eval(
        d,
        &["pred", "mask", "--shape", "4,4", "--overlay", "over"],
    ));
    assert!(
        e.contains("pred/a.bin and pred/a.npy: two predictions with the same name"),
        "{e}"
    );
    assert!(!d.join("over/a.png").exists());
}
