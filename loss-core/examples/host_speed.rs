//! Host speed of the binary kernels on one 2048 × 2048 map (4,194,304 elements), single thread:
//! nanoseconds per element, the median of several runs, on fixed pseudo-random data.
//!
//! ```console
//! cargo run --release -p loss-core --example host_speed               # the table
//! cargo run --release -p loss-core --example host_speed -- --runs 21  # more runs
//! cargo run --release -p loss-core --example host_speed -- --dump DIR # also write the data
//! ```
//!
//! `--dump DIR` writes `logits.f32` and `targets.f32` (raw little-endian `f32`, 2048 × 2048,
//! row-major) so that `scripts/bench_frameworks.py` runs torchvision and MONAI on exactly the
//! same values. Output: header lines starting with `#`, then one tab-separated line per case:
//! `case`, `wall_ns` and `cpu_ns` (per element, medians), `wall_ms`, `wall_min_ms`,
//! `wall_max_ms` (per call), `value` (the loss, to check that the frameworks computed the same
//! thing). `cpu_ns` is the CPU time of the thread (Linux; elsewhere the wall time): on a
//! shared machine it leaves out the time the thread waited for a core, which the wall time
//! counts.
//!
//! The cases are the three the framework comparison uses, and three that take the quantized
//! count apart:
//! - `focal_f32`: `SigmoidFocal::torchvision()`, mean, on `f32` logits and `f32` 0/1 targets;
//! - `dice_logits_f32`: `OverlapLoss::dice().with_predictions(Predictions::Logits)`;
//! - `focal_int8`: `CodeCounts::<i8>::push` of the logits quantized to `i8` (scale 1/16, zero
//!   point 0) with a byte mask, then `QuantizedFocal::<i8>::loss` (mean); the per-code table
//!   is built once, outside the timed part;
//! - `counts_int8`: the `push` alone, same data;
//! - `counts_int8_uniform`: the `push` of uniformly random codes (few repeats of a bin);
//! - `counts_int8_runs`: the `push` of runs of 64 equal codes (seven codes in turn), target 0,
//!   like the saturated background of a real map: neighbours hit the same bin;
//! - `counts_int8_constant`: the `push` of one code everywhere, target 0.

use std::hint::black_box;
use std::time::Instant;

use loss_core::Mask;
use loss_core::Predictions;
use loss_core::dice::OverlapLoss;
use loss_core::focal::SigmoidFocal;
use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal};

const SIDE: usize = 2048;
const N: usize = SIDE * SIDE;
const SEED: u32 = 0x2545_f491;
/// The int8 quantization of the logits: `x = (q - 0) / 16`, so `[-8, 7.94]`.
const SCALE: f32 = 1.0 / 16.0;

/// A 32-bit LCG: uniform in `[0, 1)`.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 8) as f32 / (1u32 << 24) as f32
    }
}

/// A segmentation-like map: smooth structures (`libm::sinf`, the same on every machine) plus
/// noise, logits in about `[-10, 10]`; targets 1 where the structure (with its own noise) is
/// high, about a quarter of the map.
fn data() -> (Vec<f32>, Vec<f32>) {
    let mut rng = Lcg(SEED);
    let mut logits = Vec::with_capacity(N);
    let mut targets = Vec::with_capacity(N);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (r, c) = (r as f32, c as f32);
            let base =
                7.0 * libm::sinf(r / 97.0 + 3.0 * libm::sinf(c / 151.0)) * libm::cosf(c / 83.0);
            logits.push(base + 6.0 * rng.next() - 3.0);
            targets.push(if base + 4.0 * rng.next() - 2.0 > 2.5 {
                1.0
            } else {
                0.0
            });
        }
    }
    (logits, targets)
}

/// The CPU time of this thread, in milliseconds (Linux), else `None`.
fn cpu_ms() -> Option<f64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::time::{ClockId, clock_gettime};
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Some(t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 * 1e-6)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Times of one case, in milliseconds per call.
struct Timing {
    wall_median: f64,
    wall_min: f64,
    wall_max: f64,
    cpu_median: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `runs` timed calls of `f` (after one untimed call), and the last result.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Timing, T) {
    let mut result = black_box(f());
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (start, start_cpu) = (Instant::now(), cpu_ms());
        result = black_box(f());
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        wall.push(elapsed);
        cpu.push(
            cpu_ms()
                .zip(start_cpu)
                .map_or(elapsed, |(end, start)| end - start),
        );
    }
    let timing = Timing {
        wall_min: wall.iter().copied().fold(f64::INFINITY, f64::min),
        wall_max: wall.iter().copied().fold(0.0, f64::max),
        wall_median: median(wall),
        cpu_median: median(cpu),
    };
    (timing, result)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 11;
    let mut dump = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--dump" => dump = Some(args.next().ok_or("--dump DIR")?),
            _ => return Err(format!("unknown argument {arg} (--runs N, --dump DIR)").into()),
        }
    }
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let (logits, targets) = data();
    if let Some(dir) = dump {
        let raw = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        std::fs::create_dir_all(&dir)?;
        std::fs::write(format!("{dir}/logits.f32"), raw(&logits))?;
        std::fs::write(format!("{dir}/targets.f32"), raw(&targets))?;
    }
    let mask: Vec<u8> = targets.iter().map(|&t| u8::from(t == 1.0)).collect();
    let codes: Vec<i8> = logits
        .iter()
        .map(|&x| libm::roundf(x / SCALE).clamp(-128.0, 127.0) as i8)
        .collect();
    let mut rng = Lcg(SEED ^ 0x5555_5555);
    let uniform: Vec<i8> = (0..N).map(|_| (rng.next() * 256.0) as u8 as i8).collect();
    let runs64: Vec<i8> = (0..N).map(|i| ((i / 64) % 7) as i8 - 100).collect();
    let constant = vec![-100i8; N];
    let zeros = vec![0u8; N];

    let focal = SigmoidFocal::torchvision();
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    let quantization = Quantization::new(SCALE, 0)?;
    let table = QuantizedFocal::<i8>::new(&focal, quantization)?;
    let count = |codes: &[i8], mask: &[u8]| {
        let mut counts = CodeCounts::<i8>::new();
        counts.push(black_box(codes), Mask::bytes(black_box(mask)))?;
        Ok::<_, loss_core::Error>(counts)
    };

    println!(
        "# {N} elements ({SIDE} x {SIDE}), seed {SEED:#010x}, median of {runs} runs, one thread\n\
         # case\twall_ns\tcpu_ns\twall_ms\twall_min_ms\twall_max_ms\tvalue"
    );
    let report = |name: &str, (t, value): (Timing, f32)| {
        let ns = |ms: f64| ms * 1e6 / N as f64;
        println!(
            "{name}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{value:e}",
            ns(t.wall_median),
            ns(t.cpu_median),
            t.wall_median,
            t.wall_min,
            t.wall_max
        );
    };
    let (x, t) = (&logits[..], &targets[..]);
    report(
        "focal_f32",
        time(runs, || focal.loss(black_box(x), black_box(t))).map_ok()?,
    );
    report(
        "dice_logits_f32",
        time(runs, || dice.loss(black_box(x), black_box(t))).map_ok()?,
    );
    report(
        "focal_int8",
        time(runs, || table.loss(&count(&codes, &mask)?)).map_ok()?,
    );
    let pushed =
        |codes: &[i8], mask: &[u8]| time(runs, || count(codes, mask).map(|c| c.count() as f32));
    report("counts_int8", pushed(&codes, &mask).map_ok()?);
    report("counts_int8_uniform", pushed(&uniform, &mask).map_ok()?);
    report("counts_int8_runs", pushed(&runs64, &zeros).map_ok()?);
    report("counts_int8_constant", pushed(&constant, &zeros).map_ok()?);
    Ok(())
}

/// Moves the error of a timed fallible call out of the pair.
trait MapOk {
    fn map_ok(self) -> Result<(Timing, f32), loss_core::Error>;
}

impl MapOk for (Timing, Result<f32, loss_core::Error>) {
    fn map_ok(self) -> Result<(Timing, f32), loss_core::Error> {
        Ok((self.0, self.1?))
    }
}
