//! Command-line tests of `loss-tools`: snapshots (insta + insta-cmd) of `eval`, `explain` and
//! `sweep` on the built-in sample and on small fixtures written here, and one test per kind of
//! bad input asserting the one-line message, the exit status and that `--output` is untouched.
//!
//! Fixtures are made by code (deterministic values) in a temporary directory and referred to by
//! relative paths, so the snapshots hold no machine paths. Numbers are printed with fixed
//! precision by the tool, so the snapshots are the same on every platform.

use std::path::Path;
use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};

fn tool() -> Command {
    Command::new(get_cargo_bin("loss-tools"))
}

/// A tool command running in `dir`.
fn tool_in(dir: &Path) -> Command {
    let mut c = tool();
    c.current_dir(dir);
    c
}

/// A `.npy` file (format 1.0) with the given dtype, shape and raw little-endian data.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An 8-bit greyscale PNG.
fn grey_png(w: u32, h: u32, values: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(values).unwrap();
    wr.finish().unwrap();
    out
}

/// Deterministic pseudo-random values in `[-1, 1)`.
fn values(seed: u32, n: usize) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let h = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)).rotate_left(13);
            (h % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// A 1 x 6 x 5 x 3 NHWC float32 logits file and its int64 label map (with ignored pixels).
fn nhwc_fixture(dir: &Path, name: &str, seed: u32) {
    let (h, w, c) = (6, 5, 3);
    let labels: Vec<i64> = (0..h * w)
        .map(|i| match (i * 7 + seed as usize) % 10 {
            0..=5 => 0,
            6 | 7 => 1,
            8 => 2,
            _ => 255,
        })
        .collect();
    let noise = values(seed, h * w * c);
    let logits: Vec<f32> = (0..h * w * c)
        .map(|i| {
            let (p, k) = (i / c, i % c);
            let boost = if labels[p] == k as i64 { 1.5 } else { 0.0 };
            2.0 * noise[i] + boost
        })
        .collect();
    std::fs::create_dir_all(dir.join("pred")).unwrap();
    std::fs::create_dir_all(dir.join("mask")).unwrap();
    std::fs::write(
        dir.join(format!("pred/{name}.npy")),
        npy("<f4", false, &[1, h, w, c], &f32_bytes(&logits)),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("mask/{name}.npy")),
        npy("<i8", false, &[1, h, w], &i64_bytes(&labels)),
    )
    .unwrap();
}

/// An 8 x 8 binary probability map (HW float32) and its 0/1 greyscale PNG mask.
fn binary_fixture(dir: &Path) {
    let mask: Vec<u8> = (0..64)
        .map(|i| u8::from((2..6).contains(&(i % 8)) && i / 8 >= 3))
        .collect();
    let noise = values(3, 64);
    let probs: Vec<f32> = mask
        .iter()
        .zip(&noise)
        .map(|(&m, &n)| (if m == 1 { 0.7 } else { 0.2 } + 0.25 * n).clamp(0.0, 1.0))
        .collect();
    std::fs::write(
        dir.join("bin.npy"),
        npy("<f4", false, &[8, 8], &f32_bytes(&probs)),
    )
    .unwrap();
    std::fs::write(dir.join("bin.png"), grey_png(8, 8, &mask)).unwrap();
}

#[test]
fn sample_report() {
    assert_cmd_snapshot!(tool());
}

#[test]
fn eval_sample_json() {
    assert_cmd_snapshot!(tool().args(["eval", "--format", "json"]));
}

#[test]
fn eval_sample_csv_exclude_background_jaccard() {
    assert_cmd_snapshot!(tool().args([
        "eval",
        "--format",
        "csv",
        "--loss",
        "jaccard",
        "--exclude-background"
    ]));
}

#[test]
fn eval_sample_kornia_focal_sigmoid() {
    assert_cmd_snapshot!(tool().args(["eval", "--loss", "focal", "--convention", "kornia"]));
}

#[test]
fn eval_nhwc_logits_with_ignore_index() {
    let dir = tempfile::tempdir().unwrap();
    nhwc_fixture(dir.path(), "a", 1);
    assert_cmd_snapshot!(tool_in(dir.path()).args([
        "eval",
        "pred/a.npy",
        "mask/a.npy",
        "--from-logits",
        "--ignore-index",
        "255",
        "--class-names",
        "sky,tree,car",
    ]));
}

#[test]
fn eval_directory_per_file_and_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        nhwc_fixture(dir.path(), name, i as u32 + 1);
    }
    assert_cmd_snapshot!(tool_in(dir.path()).args([
        "eval",
        "pred",
        "mask",
        "--from-logits",
        "--ignore-index",
        "255",
        "--loss",
        "generalized-dice",
    ]));
}

#[test]
fn eval_state_of_parts_merges_into_the_whole() {
    use loss_tools::scoring::dataset::{state_from_json, state_json};
    use loss_tools::scoring::totals::Totals;
    let dir = tempfile::tempdir().unwrap();
    let names = ["a", "b", "c", "d"];
    for (i, name) in names.iter().enumerate() {
        nhwc_fixture(dir.path(), name, i as u32 + 7);
    }
    let state = |pred: &str, mask: &str, out: &str| {
        let run = tool_in(dir.path())
            .args(["eval", pred, mask, "--from-logits", "--ignore-index", "255"])
            .args(["--state", out, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        state_from_json(&std::fs::read_to_string(dir.path().join(out)).unwrap()).unwrap()
    };
    let whole = state("pred", "mask", "whole.json");
    // Each file alone, merged in another order and grouping.
    let parts: Vec<Totals> = names
        .iter()
        .map(|n| {
            state(
                &format!("pred/{n}.npy"),
                &format!("mask/{n}.npy"),
                &format!("{n}.json"),
            )
        })
        .collect();
    let (mut left, mut right) = (parts[3].clone(), parts[1].clone());
    left.merge(&parts[0]).unwrap();
    right.merge(&parts[2]).unwrap();
    right.merge(&left).unwrap();
    assert_eq!(state_json(&right), state_json(&whole));
    assert_eq!(right, whole);
}

#[test]
fn eval_state_refuses_to_replace_an_input_or_the_report() {
    let dir = tempfile::tempdir().unwrap();
    nhwc_fixture(dir.path(), "a", 1);
    for (out, message) in [
        ("pred/a.npy", "--state pred/a.npy: is the input pred/a.npy"),
        ("r.txt", "--output and --state are both r.txt"),
    ] {
        let run = tool_in(dir.path())
            .args(["eval", "pred/a.npy", "mask/a.npy", "--output", "r.txt"])
            .args(["--state", out])
            .output()
            .unwrap();
        assert!(!run.status.success());
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(message), "{err}");
    }
    assert!(!dir.path().join("r.txt").exists());
}

#[test]
fn eval_binary_png_mask_torchvision() {
    let dir = tempfile::tempdir().unwrap();
    binary_fixture(dir.path());
    assert_cmd_snapshot!(tool_in(dir.path()).args([
        "eval",
        "bin.npy",
        "bin.png",
        "--convention",
        "torchvision",
        "--format",
        "csv",
    ]));
}

#[test]
fn eval_dense_targets_and_raw_predictions_agree_with_label_maps() {
    // The same data as label map, as one-hot .npy and as raw float32: the same numbers.
    let dir = tempfile::tempdir().unwrap();
    nhwc_fixture(dir.path(), "a", 5);
    let run = |args: &[&str]| {
        let out = tool_in(dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .skip_while(|l| !l.starts_with("class "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Rewrite the label map without ignored pixels, then as one-hot.
    let bytes = std::fs::read(dir.path().join("mask/a.npy")).unwrap();
    let labels: Vec<i64> = bytes[bytes.len() - 30 * 8..]
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()).min(2))
        .collect();
    std::fs::write(
        dir.path().join("labels.npy"),
        npy("<i8", false, &[1, 6, 5], &i64_bytes(&labels)),
    )
    .unwrap();
    let onehot: Vec<f32> = labels
        .iter()
        .flat_map(|&l| (0..3).map(move |k| if l == k { 1.0 } else { 0.0 }))
        .collect();
    std::fs::write(
        dir.path().join("onehot.npy"),
        npy("<f4", false, &[1, 6, 5, 3], &f32_bytes(&onehot)),
    )
    .unwrap();
    let pred = std::fs::read(dir.path().join("pred/a.npy")).unwrap();
    std::fs::write(dir.path().join("pred.raw"), &pred[pred.len() - 90 * 4..]).unwrap();
    let a = run(&["eval", "pred/a.npy", "labels.npy", "--from-logits"]);
    let b = run(&["eval", "pred/a.npy", "onehot.npy", "--from-logits"]);
    let c = run(&[
        "eval",
        "pred.raw",
        "labels.npy",
        "--from-logits",
        "--shape",
        "1,6,5,3",
        "--layout",
        "nhwc",
    ]);
    assert!(a.contains("overall"), "{a}");
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn explain_the_seed_example() {
    assert_cmd_snapshot!(tool().arg("explain"));
}

/// docs/tools.md shows `explain`'s output verbatim: it must stay what the command prints.
#[test]
fn explain_output_in_the_docs_is_current() {
    let out = tool().arg("explain").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let docs = include_str!("../../docs/tools.md");
    assert!(
        docs.contains(&format!("```text\n{printed}```")),
        "docs/tools.md's explain block differs from:\n{printed}"
    );
}

#[test]
fn explain_with_other_parameters() {
    assert_cmd_snapshot!(tool().args([
        "explain",
        "--negatives",
        "1000",
        "--positives",
        "100",
        "--pt-negative",
        "0.9",
        "--pt-positive",
        "0.3",
        "--gamma",
        "0.5"
    ]));
}

#[test]
fn sweep_sample_table() {
    assert_cmd_snapshot!(tool().args(["sweep", "--alphas", "0.1,0.25,0.5,0.9", "--gammas", "0,2"]));
}

#[test]
fn sweep_writes_svg_and_png_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool_in(dir.path())
        .args(["sweep", "--plot", "plots/sweep", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["grid"].as_array().unwrap().len(), 7 * 4);
    let svg = std::fs::read_to_string(dir.path().join("plots/sweep.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("positives&apos; share")
            || svg.contains("positives' share")
    );
    assert!(svg.contains("gradient (dashed)"));
    let grid = json["grid"].as_array().unwrap();
    assert!(grid.iter().all(|p| p["gradient_share"].is_f64()));
    let png = std::fs::read(dir.path().join("plots/sweep.png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (1500, 480));
}

#[test]
fn sweep_from_logits_csv() {
    let dir = tempfile::tempdir().unwrap();
    nhwc_fixture(dir.path(), "a", 1);
    assert_cmd_snapshot!(tool_in(dir.path()).args([
        "sweep",
        "pred/a.npy",
        "mask/a.npy",
        "--from-logits",
        "--ignore-index",
        "255",
        "--alphas",
        "0.25,0.75",
        "--gammas",
        "0,2",
        "--format",
        "csv",
    ]));
}

/// The seed article's example as data (every pixel's foreground probability 0.05; 10
/// positives, 990 negatives): sweep's gradient share against the closed form of the hard-target
/// focal derivative from logits, `|dFL/dx| = alpha_t u^gamma (gamma p_t CE + u)` with
/// `u = 1 - p_t`, `CE = -ln p_t`, in f64.
#[test]
fn sweep_gradient_share_of_the_seed_example() {
    let dir = tempfile::tempdir().unwrap();
    let (h, w, positives) = (10, 100, 10);
    let x = (0.05f64 / 0.95).ln() as f32;
    std::fs::write(
        dir.path().join("x.npy"),
        npy("<f4", false, &[h, w], &f32_bytes(&vec![x; h * w])),
    )
    .unwrap();
    let mask: Vec<u8> = (0..h * w).map(|i| u8::from(i < positives)).collect();
    std::fs::write(
        dir.path().join("m.png"),
        grey_png(w as u32, h as u32, &mask),
    )
    .unwrap();
    let out = tool_in(dir.path())
        .args([
            "sweep",
            "x.npy",
            "m.png",
            "--from-logits",
            "--alphas",
            "0.25,0.5",
        ])
        .args(["--gammas", "0,2,5", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let grid = json["grid"].as_array().unwrap();
    assert_eq!(grid.len(), 6);
    let p = 1.0 / (1.0 + (-f64::from(x)).exp());
    let derivative = |alpha_t: f64, gamma: f64, p_t: f64| {
        let u = 1.0 - p_t;
        alpha_t * u.powf(gamma) * (gamma * p_t * -p_t.ln() + u)
    };
    for point in grid {
        let alpha = point["alpha"].as_f64().unwrap();
        let gamma = point["gamma"].as_f64().unwrap();
        let pos = positives as f64 * derivative(alpha, gamma, p);
        let neg = (h * w - positives) as f64 * derivative(1.0 - alpha, gamma, 1.0 - p);
        let want = pos / (pos + neg);
        let got = point["gradient_share"].as_f64().unwrap();
        // JSON rounds to 6 decimals; the f32 derivatives are within 1e-5 relative.
        assert!(
            (got - want).abs() <= 5e-7 + 2e-5 * want,
            "alpha {alpha} gamma {gamma}: {got} vs {want}"
        );
    }
}

#[test]
fn overlays_are_written_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool_in(dir.path())
        .args(["eval", "--overlay", "ov", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tool_in(dir.path())
        .args([
            "eval",
            "--overlay",
            "ov",
            "--overlay-class",
            "2",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    for name in ["sample_pred.png", "sample_pred_class2.png"] {
        let bytes = std::fs::read(dir.path().join("ov").join(name)).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        // 64 x 64 scaled by 4 to be visible.
        assert_eq!((reader.info().width, reader.info().height), (256, 256));
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let has = |rgb: [u8; 3]| buf.chunks_exact(3).any(|p| p == rgb);
        // True positives, false positives and false negatives all occur in the sample.
        assert!(
            has([0, 200, 80]) && has([230, 40, 40]) && has([40, 120, 255]),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: one line on stderr naming the file and the problem, non-zero exit, and an
// existing --output file left as it was.

/// Runs `eval ARGS --output out.txt` in `dir` where `out.txt` already exists; returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out_file = dir.join("out.txt");
    std::fs::write(&out_file, "previous report\n").unwrap();
    let out = tool_in(dir)
        .args(args)
        .args(["--output", "out.txt"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous report\n",
        "output file changed"
    );
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "temporary files left: {names:?}");
    stderr
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    binary_fixture(dir.path());
    nhwc_fixture(dir.path(), "a", 1);
    dir
}

#[test]
fn truncated_npy() {
    let dir = setup();
    let bytes = std::fs::read(dir.path().join("bin.npy")).unwrap();
    std::fs::write(dir.path().join("cut.npy"), &bytes[..bytes.len() - 10]).unwrap();
    let e = fails(dir.path(), &["eval", "cut.npy", "bin.png"]);
    assert_eq!(
        e,
        "error: cut.npy: truncated: shape [8, 8] of <f4 needs 256 data bytes, file has 246\n"
    );
}

#[test]
fn not_an_npy_file() {
    let dir = setup();
    std::fs::write(dir.path().join("text.npy"), "hello, I am a CSV\n1,2,3\n").unwrap();
    let e = fails(dir.path(), &["eval", "text.npy", "bin.png"]);
    assert_eq!(
        e,
        "error: text.npy: not a .npy file (no \\x93NUMPY magic)\n"
    );
    let e = fails(dir.path(), &["eval", "bin.npy", "text.npy"]);
    assert!(e.starts_with("error: text.npy: not a .npy file"), "{e}");
    let e = fails(dir.path(), &["eval", "bin.npy", "bin.npy.missing"]);
    assert!(e.starts_with("error: bin.npy.missing: cannot read"), "{e}");
}

#[test]
fn wrong_dtype() {
    let dir = setup();
    std::fs::write(
        dir.path().join("int.npy"),
        npy("<i8", false, &[8, 8], &[0; 512]),
    )
    .unwrap();
    let e = fails(dir.path(), &["eval", "int.npy", "bin.png"]);
    assert_eq!(
        e,
        "error: int.npy: predictions must be float16/32/64, int8 or uint8, found <i8\n"
    );
    std::fs::write(
        dir.path().join("c.npy"),
        npy("<c8", false, &[8, 8], &[0; 512]),
    )
    .unwrap();
    let e = fails(dir.path(), &["eval", "c.npy", "bin.png"]);
    assert!(e.starts_with("error: c.npy: unsupported dtype <c8"), "{e}");
    let rgb = {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0; 192]).unwrap();
        w.finish().unwrap();
        out
    };
    std::fs::write(dir.path().join("rgb.png"), rgb).unwrap();
    let e = fails(dir.path(), &["eval", "bin.npy", "rgb.png"]);
    assert!(
        e.contains("rgb.png: Rgb PNG: a label mask must be greyscale or palette"),
        "{e}"
    );
}

#[test]
fn shape_mismatch() {
    let dir = setup();
    std::fs::write(dir.path().join("small.png"), grey_png(4, 4, &[0; 16])).unwrap();
    let e = fails(dir.path(), &["eval", "bin.npy", "small.png"]);
    assert_eq!(
        e,
        "error: small.png: shape 4x4 matches neither the predictions (8x8) nor a label map of 1x8x8 (shape mismatch)\n"
    );
    let e = fails(
        dir.path(),
        &["eval", "pred/a.npy", "bin.png", "--from-logits"],
    );
    assert!(
        e.starts_with("error: bin.png: shape 8x8 matches neither"),
        "{e}"
    );
}

#[test]
fn label_outside_the_classes() {
    let dir = setup();
    // Without --ignore-index, 255 is not a class of the 3-class fixture.
    let e = fails(
        dir.path(),
        &["eval", "pred/a.npy", "mask/a.npy", "--from-logits"],
    );
    assert!(
        e.starts_with("error: mask/a.npy: label 255 at pixel 4 (sample 0, row 0, column 4) is outside the classes (predictions have 3 classes)"),
        "{e}"
    );
    let mut mask = vec![0u8; 64];
    mask[10] = 2;
    std::fs::write(dir.path().join("two.png"), grey_png(8, 8, &mask)).unwrap();
    let e = fails(dir.path(), &["eval", "bin.npy", "two.png"]);
    assert!(
        e.contains("label 2 at pixel 10 (sample 0, row 1, column 2)"),
        "{e}"
    );
    assert!(
        e.contains("binary predictions: labels must be 0 or 1"),
        "{e}"
    );
}

#[test]
fn non_finite_predictions() {
    let dir = setup();
    let mut v = vec![0.5f32; 64];
    v[19] = f32::NAN;
    std::fs::write(
        dir.path().join("nan.npy"),
        npy("<f4", false, &[8, 8], &f32_bytes(&v)),
    )
    .unwrap();
    let e = fails(dir.path(), &["eval", "nan.npy", "bin.png"]);
    assert_eq!(
        e,
        "error: nan.npy: NaN at index 19 (sample 0, class 0, row 2, column 3); pass --allow-nonfinite to proceed\n"
    );
    v[19] = f32::INFINITY;
    std::fs::write(
        dir.path().join("inf.npy"),
        npy("<f4", false, &[8, 8], &f32_bytes(&v)),
    )
    .unwrap();
    let e = fails(dir.path(), &["eval", "inf.npy", "bin.png", "--from-logits"]);
    assert!(e.starts_with("error: inf.npy: inf at index 19"), "{e}");
    // --allow-nonfinite proceeds; the NaN propagates into the losses.
    v[19] = f32::NAN;
    std::fs::write(
        dir.path().join("nan.npy"),
        npy("<f4", false, &[8, 8], &f32_bytes(&v)),
    )
    .unwrap();
    let out = tool_in(dir.path())
        .args([
            "eval",
            "nan.npy",
            "bin.png",
            "--allow-nonfinite",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8(out.stdout).unwrap().contains("nan"));
}

#[test]
fn probabilities_outside_0_1_and_raw_sizes() {
    let dir = setup();
    let e = fails(
        dir.path(),
        &["eval", "pred/a.npy", "mask/a.npy", "--ignore-index", "255"],
    );
    assert!(
        e.contains("is not a probability; pass --from-logits for logits"),
        "{e}"
    );
    std::fs::write(dir.path().join("p.raw"), [0u8; 10]).unwrap();
    let e = fails(dir.path(), &["eval", "p.raw", "bin.png"]);
    assert_eq!(
        e,
        "error: p.raw: not .npy or .png: give --shape to read it as raw little-endian float32\n"
    );
    let e = fails(dir.path(), &["eval", "p.raw", "bin.png", "--shape", "8,8"]);
    assert_eq!(
        e,
        "error: p.raw: raw float32 file has 10 bytes but --shape 8x8 needs 256\n"
    );
    let e = fails(
        dir.path(),
        &[
            "eval",
            "p.raw",
            "bin.png",
            "--shape",
            "99999999999,99999999999,9999",
        ],
    );
    assert!(e.ends_with("is too large\n"), "{e}");
    let e = fails(dir.path(), &["eval", "p.raw", "bin.png", "--shape", "0,8"]);
    assert!(e.contains("p.raw: "), "{e}");
}

#[test]
fn bad_options() {
    let dir = setup();
    let e = fails(
        dir.path(),
        &["eval", "bin.npy", "bin.png", "--loss", "softmax-focal"],
    );
    assert!(e.contains("needs at least 2 classes"), "{e}");
    let e = fails(
        dir.path(),
        &["eval", "bin.npy", "bin.png", "--alpha", "1.5"],
    );
    assert!(e.contains("--alpha 1.5"), "{e}");
    let e = fails(dir.path(), &["eval", "pred", "bin.png"]);
    assert!(e.contains("give two files or two directories"), "{e}");
    let e = fails(dir.path(), &["eval", "--class-names", "a,b"]);
    assert!(
        e.contains("--class-names gives 2 names for 4 classes"),
        "{e}"
    );
}

#[test]
fn output_is_replaced_atomically_on_success() {
    let dir = setup();
    std::fs::write(dir.path().join("out.json"), "old").unwrap();
    let out = tool_in(dir.path())
        .args(["eval", "--format", "json", "--output", "out.json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_eq!(v["overall"]["pixels"], 4096);
}

#[test]
fn the_committed_sample_is_current() {
    let out = tool().args(["sample", "--check"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_directory_reports_its_first_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        nhwc_fixture(dir.path(), name, i as u32 + 1);
    }
    let cut = |name: &str| {
        let path = dir.path().join(format!("pred/{name}.npy"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
    };
    cut("d");
    cut("b");
    let e = fails(
        dir.path(),
        &[
            "eval",
            "pred",
            "mask",
            "--from-logits",
            "--ignore-index",
            "255",
        ],
    );
    assert!(e.starts_with("error: pred/b.npy: truncated"), "{e}");
    std::fs::remove_file(dir.path().join("mask/c.npy")).unwrap();
    let e = fails(dir.path(), &["eval", "pred", "mask", "--from-logits"]);
    assert!(
        e.starts_with("error: pred/c.npy: no target with the same name in mask"),
        "{e}"
    );
}

/// A binary int8 logit map (one code per pixel of the 8x8 fixture) and its dequantized f32
/// twin, computed as `loss_core::quantized` computes it.
fn int8_fixture(dir: &Path) {
    let mask: Vec<u8> = (0..64)
        .map(|i| u8::from((2..6).contains(&(i % 8)) && i / 8 >= 3))
        .collect();
    let codes: Vec<i8> = mask
        .iter()
        .zip(values(9, 64))
        .map(|(&m, n)| (if m == 1 { 40.0 } else { -50.0 } + 60.0 * n) as i8)
        .collect();
    let bytes: Vec<u8> = codes.iter().map(|&c| c.cast_unsigned()).collect();
    std::fs::write(dir.join("q.npy"), npy("|i1", false, &[8, 8], &bytes)).unwrap();
    let real: Vec<f32> = codes
        .iter()
        .map(|&c| 0.0625 * (i32::from(c) + 4) as f32)
        .collect();
    std::fs::write(
        dir.join("f.npy"),
        npy("<f4", false, &[8, 8], &f32_bytes(&real)),
    )
    .unwrap();
}

#[test]
fn eval_int8_predictions_equal_their_dequantized_float32_twin() {
    let dir = setup();
    int8_fixture(dir.path());
    let run = |args: &[&str]| {
        let out = tool_in(dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = |report: &str| {
        report
            .lines()
            .skip_while(|l| !l.starts_with("class "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let common = ["bin.png", "--from-logits", "--convention", "torchvision"];
    let q = run(&[
        &["eval", "q.npy"][..],
        &common,
        &["--scale", "0.0625", "--zero-point", "-4"],
    ]
    .concat());
    let f = run(&[&["eval", "f.npy"][..], &common].concat());
    assert!(table(&q).contains("overall"), "{q}");
    assert_eq!(table(&q), table(&f));
    assert!(
        q.contains("|i1 8x8, dequantized (scale 0.0625, zero point -4; TFLite affine"),
        "the report says which path ran: {q}"
    );
}

#[test]
fn int8_predictions_need_a_valid_quantization() {
    let dir = setup();
    int8_fixture(dir.path());
    let cases: [(&[&str], &str); 6] = [
        (
            &[],
            "error: q.npy: int8 predictions need --scale and --zero-point (the model's output quantization)\n",
        ),
        (
            &["--scale", "0", "--zero-point", "0"],
            "error: q.npy: --scale 0 (class 0) is not a finite number above 0\n",
        ),
        (
            &["--scale", "0.1", "--zero-point", "200"],
            "error: q.npy: --zero-point 200 (class 0) is not a code of |i1 (-128..=127)\n",
        ),
        (
            &["--scale", "0.1,0.2", "--zero-point", "0"],
            "error: q.npy: --scale has 2 values: give one, or one per class (1)\n",
        ),
        (
            &["--scale", "0.1", "--zero-point", "-1,2,3"],
            "error: q.npy: --zero-point has 3 values: give one, or one per class (1)\n",
        ),
        (
            &["--scale", "nan", "--zero-point", "1"],
            "error: q.npy: --scale NaN (class 0) is not a finite number above 0\n",
        ),
    ];
    for (extra, expected) in cases {
        let args = [&["eval", "q.npy", "bin.png", "--from-logits"][..], extra].concat();
        assert_eq!(fails(dir.path(), &args), expected, "{extra:?}");
    }
    let e = fails(
        dir.path(),
        &[
            "eval",
            "f.npy",
            "bin.png",
            "--from-logits",
            "--scale",
            "0.1",
            "--zero-point",
            "0",
        ],
    );
    assert_eq!(
        e,
        "error: f.npy: --scale and --zero-point are for int8 / uint8 predictions, these are <f4\n"
    );
}
