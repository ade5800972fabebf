//! Throughput of `loss-tools eval` against just reading the same files (ignored: a
//! measurement, not a test; run it by hand, release build):
//!
//! ```text
//! cargo test --release -p loss-tools --test bench_eval -- --ignored --nocapture
//! ```
//!
//! Writes 256 pairs (`BENCH_FILES` overrides) of 1×4×512×512 float32 predictions (`.npy`,
//! 4 MiB each) and 512×512 8-bit PNG masks into a temporary directory outside the repository,
//! reads every file once to warm the page cache, then times (a) reading all files with
//! `std::fs::read` on the same rayon pool `eval` uses and (b) `loss-tools eval DIR DIR`
//! (logits, softmax focal, dice, confusion counts; `BENCH_PROBABILITIES=1` for probabilities).
//! `BENCH_DIR=DIR` writes the dataset there and keeps it (to profile `eval` on it).
//! It prints both times, their ratio and the peak resident memory of the `eval` process
//! (Linux `VmHWM`, polled), to compare with the size of one file and of the dataset.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use rayon::prelude::*;

const SIDE: usize = 512;
const CLASSES: usize = 4;

fn header(shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    let mut h = dict.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out
}

/// xorshift32: cheap deterministic noise for the synthetic scores.
fn xorshift(state: &mut u32) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    (*state >> 8) as f32 / (1u32 << 24) as f32
}

fn write_pair(dir: &Path, i: usize, probabilities: bool) {
    let n = SIDE * SIDE;
    let labels: Vec<u8> = (0..n)
        .map(|s| {
            let (y, x) = (s / SIDE, s % SIDE);
            ((x / 96 + y / 80 + i) % CLASSES) as u8
        })
        .collect();
    let mut state = 0x9e37_79b9 ^ i as u32;
    let mut scores = vec![0.0f32; CLASSES * n];
    for s in 0..n {
        let mut z = [0.0f32; CLASSES];
        for (c, zc) in z.iter_mut().enumerate() {
            *zc =
                3.0 * xorshift(&mut state) - 1.5 + if labels[s] as usize == c { 2.0 } else { 0.0 };
        }
        if probabilities {
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let e = z.map(|v| (v - m).exp());
            let sum: f32 = e.iter().sum();
            for c in 0..CLASSES {
                z[c] = (e[c] / sum).clamp(0.0, 1.0);
            }
        }
        for c in 0..CLASSES {
            scores[c * n + s] = z[c];
        }
    }
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(dir.join(format!("pred/{i:04}.npy"))).unwrap(),
    );
    f.write_all(&header(&format!("(1, {CLASSES}, {SIDE}, {SIDE})")))
        .unwrap();
    for v in &scores {
        f.write_all(&v.to_le_bytes()).unwrap();
    }
    f.flush().unwrap();
    let mut png_bytes = Vec::new();
    let mut e = png::Encoder::new(&mut png_bytes, SIDE as u32, SIDE as u32);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().unwrap();
    w.write_image_data(&labels).unwrap();
    w.finish().unwrap();
    std::fs::write(dir.join(format!("mask/{i:04}.png")), png_bytes).unwrap();
}

fn read_all(files: &[std::path::PathBuf]) -> (Duration, u64) {
    let t = Instant::now();
    let bytes: u64 = files
        .par_iter()
        .map(|p| std::fs::read(p).unwrap().len() as u64)
        .sum();
    (t.elapsed(), bytes)
}

/// Peak resident set (kB) of a running child, polled from /proc until it exits.
fn run_and_watch(cmd: &mut Command) -> (Duration, u64, bool) {
    let t = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).spawn().unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(line) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kb: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (t.elapsed(), peak, status.success());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
#[ignore = "a measurement: run by hand with --release (see the file's docs)"]
fn eval_keeps_up_with_reading() {
    let files: usize = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let probabilities = std::env::var("BENCH_PROBABILITIES").is_ok_and(|v| v == "1");
    // BENCH_DIR keeps the dataset (e.g. to profile `eval` on it); by default it is temporary.
    let temp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("BENCH_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    let dir = root.as_path();
    std::fs::create_dir_all(dir.join("pred")).unwrap();
    std::fs::create_dir_all(dir.join("mask")).unwrap();
    let t = Instant::now();
    (0..files)
        .into_par_iter()
        .for_each(|i| write_pair(dir, i, probabilities));
    eprintln!("generated {files} pairs in {:.1?}", t.elapsed());

    let mut paths: Vec<_> = ["pred", "mask"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let _ = read_all(&paths); // warm the page cache
    let (read, bytes) = (0..3).map(|_| read_all(&paths)).min().unwrap();
    // The disk itself, bypassing the page cache: `dd iflag=direct`, two files at a time.
    let t = Instant::now();
    let direct_ok = paths
        .par_chunks(paths.len().div_ceil(2).max(1))
        .all(|chunk| {
            chunk.iter().all(|p| {
                Command::new("dd")
                    .arg(format!("if={}", p.display()))
                    .args(["of=/dev/null", "bs=4M", "iflag=direct"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
        });
    let direct = t.elapsed();

    let eval_cmd = || {
        let mut cmd = Command::new(get_cargo_bin("loss-tools"));
        cmd.current_dir(dir)
            .args(["eval", "pred", "mask", "--format", "csv"]);
        if !probabilities {
            cmd.arg("--from-logits");
        }
        cmd
    };
    let runs: Vec<_> = (0..3).map(|_| run_and_watch(&mut eval_cmd())).collect();
    assert!(runs.iter().all(|r| r.2), "eval failed");
    let eval = runs.iter().map(|r| r.0).min().unwrap();
    let peak = runs.iter().map(|r| r.1).max().unwrap();
    let mib = bytes as f64 / (1024.0 * 1024.0);
    let threads = rayon::current_num_threads();
    eprintln!(
        "{files} pairs, {mib:.0} MiB, {threads} threads, {}\n\
         read only : {read:.2?} ({:.0} MiB/s, page cache)\n\
         disk      : {} (dd iflag=direct, bypassing the cache)\n\
         eval      : {eval:.2?} ({:.0} MiB/s)\n\
         eval speed / page-cache read speed = {:.3}\n\
         eval peak RSS {:.0} MiB (one prediction file is {:.0} MiB, the dataset {mib:.0} MiB)",
        if probabilities {
            "probabilities"
        } else {
            "logits"
        },
        mib / read.as_secs_f64(),
        if direct_ok {
            format!(
                "{direct:.2?} ({:.0} MiB/s; eval / disk = {:.2})",
                mib / direct.as_secs_f64(),
                direct.as_secs_f64() / eval.as_secs_f64()
            )
        } else {
            "not measured (dd iflag=direct unavailable)".into()
        },
        mib / eval.as_secs_f64(),
        read.as_secs_f64() / eval.as_secs_f64(),
        peak as f64 / 1024.0,
        (CLASSES * SIDE * SIDE * 4) as f64 / (1024.0 * 1024.0),
    );
}
