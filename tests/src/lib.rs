//! Shared helpers for the cross-crate tests: the accuracy rule of docs/numerics.md, worst-error
//! bookkeeping, the input sweeps and seeded random data, and the f64 oracles ([`oracle`]) the
//! tests compare `loss-core` against.
//!
//! # The accuracy rule (elementwise)
//! For an exact (f64 oracle) value `v` and the f32 result `r`:
//!
//! | `|v|` | requirement |
//! |---|---|
//! | `>= 1e-6` | `|r - v| / |v| <= 1e-6` |
//! | `[1e-30, 1e-6)` | `|r - v| / |v| <= 2e-5` (the rounding of an exponent's argument limits f32 here) |
//! | `< 1e-30` | `|r - v| <= 1e-30` |
//! | `±inf` | `r` is the same infinity |
//! | NaN | `r` is NaN |

pub mod oracle;

use std::fmt;

use proptest::test_runner::{RngAlgorithm, TestRng};

/// Relative bound where the exact value is at least [`NORMAL_FLOOR`].
pub const REL: f64 = 1e-6;
/// Relative bound for exact values in `[TINY_FLOOR, NORMAL_FLOOR)`.
pub const REL_SMALL: f64 = 2e-5;
/// Absolute bound below [`TINY_FLOOR`].
pub const ABS_TINY: f64 = 1e-30;
/// Lower end of the range checked with [`REL`].
pub const NORMAL_FLOOR: f64 = 1e-6;
/// Lower end of the range checked with [`REL_SMALL`].
pub const TINY_FLOOR: f64 = 1e-30;

/// Which branch of the rule an exact value falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// `|v| >= 1e-6`, relative error.
    Normal,
    /// `1e-30 <= |v| < 1e-6`, relative error.
    Small,
    /// `|v| < 1e-30`, absolute error.
    Tiny,
    /// `v` is infinite or NaN, must match exactly.
    NonFinite,
}

/// Classifies `exact` and measures the error of `actual` in that tier's terms. Returns the tier,
/// the error (relative, absolute, or 0/inf for non-finite) and whether it is within bounds.
pub fn measure(actual: f32, exact: f64) -> (Tier, f64, bool) {
    let r = f64::from(actual);
    if !exact.is_finite() {
        let same = if exact.is_nan() {
            r.is_nan()
        } else {
            r == exact
        };
        return (
            Tier::NonFinite,
            if same { 0.0 } else { f64::INFINITY },
            same,
        );
    }
    let a = exact.abs();
    if a >= NORMAL_FLOOR {
        let e = (r - exact).abs() / a;
        (Tier::Normal, e, e <= REL)
    } else if a >= TINY_FLOOR {
        let e = (r - exact).abs() / a;
        (Tier::Small, e, e <= REL_SMALL)
    } else {
        let e = (r - exact).abs();
        (Tier::Tiny, e, e <= ABS_TINY)
    }
}

/// The largest error seen in one tier and where it happened.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The error (relative or absolute, as the tier says).
    pub error: f64,
    /// A description of the input.
    pub at: String,
    /// How many values were checked in this tier.
    pub count: u64,
}

/// Worst errors per tier over many checks, plus the first failures.
#[derive(Debug, Clone, Default)]
pub struct Worst {
    /// `|v| >= 1e-6`.
    pub normal: Record,
    /// `1e-30 <= |v| < 1e-6`.
    pub small: Record,
    /// `|v| < 1e-30`.
    pub tiny: Record,
    /// Non-finite exact values checked.
    pub non_finite: u64,
    /// Values outside the rule.
    pub failed: u64,
    /// Descriptions of the first failures.
    pub failures: Vec<String>,
}

impl Worst {
    /// Checks `actual` against `exact`; `at` describes the input and is only evaluated when
    /// needed.
    pub fn check(&mut self, actual: f32, exact: f64, at: impl FnOnce() -> String) {
        if exact.is_nan() {
            // The sweeps hold no NaN input, so a NaN here is a hole in the oracle.
            self.fail(format!(
                "{}: the oracle gives NaN (loss-core {actual:e})",
                at()
            ));
            return;
        }
        let (tier, error, ok) = measure(actual, exact);
        let record = match tier {
            Tier::Normal => &mut self.normal,
            Tier::Small => &mut self.small,
            Tier::Tiny => &mut self.tiny,
            Tier::NonFinite => {
                self.non_finite += 1;
                if !ok {
                    self.fail(format!("{}: got {actual:e}, exact {exact:e}", at()));
                }
                return;
            }
        };
        record.count += 1;
        if ok && error <= record.error {
            return;
        }
        let at = at();
        if error > record.error {
            record.error = error;
            record.at.clone_from(&at);
        }
        if !ok {
            self.fail(format!("{at}: got {actual:e}, exact {exact:e} ({tier:?})"));
        }
    }

    fn fail(&mut self, msg: String) {
        self.failed += 1;
        if self.failures.len() < 60 {
            self.failures.push(msg);
        }
    }

    /// Merges another tracker into this one.
    pub fn merge(&mut self, other: Self) {
        for (mine, theirs) in [
            (&mut self.normal, other.normal),
            (&mut self.small, other.small),
            (&mut self.tiny, other.tiny),
        ] {
            mine.count += theirs.count;
            if theirs.error > mine.error {
                mine.error = theirs.error;
                mine.at = theirs.at;
            }
        }
        self.non_finite += other.non_finite;
        self.failed += other.failed;
        for f in other.failures {
            if self.failures.len() < 20 {
                self.failures.push(f);
            }
        }
    }

    /// Panics with the failures if any value was outside the rule.
    pub fn assert_ok(&self, name: &str) {
        assert!(
            self.failed == 0,
            "{name}: {} values outside the tolerance; first ones:\n{}",
            self.failed,
            self.failures.join("\n")
        );
    }
}

impl fmt::Display for Worst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, name: &str, r: &Record| {
            writeln!(
                f,
                "  {name:<28} n = {:>9}  worst = {:.3e}  at {}",
                r.count, r.error, r.at
            )
        };
        line(f, "rel, exact >= 1e-6", &self.normal)?;
        line(f, "rel, exact in [1e-30, 1e-6)", &self.small)?;
        line(f, "abs, exact < 1e-30", &self.tiny)?;
        write!(f, "  non-finite exact values: {}", self.non_finite)
    }
}

/// Relative error of `actual` against `exact` (`0` when both are zero).
pub fn rel_error(actual: f32, exact: f64) -> f64 {
    let d = (f64::from(actual) - exact).abs();
    if d == 0.0 { 0.0 } else { d / exact.abs() }
}

/// Focusing exponents of the sweep: the set, the other integer fast paths and one more
/// real value.
pub const GAMMAS: [f32; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0];

/// Positive-class weights of the sweep (`None`: unweighted).
pub const ALPHAS: [Option<f32>; 4] = [None, Some(0.0), Some(0.25), Some(1.0)];

/// Targets: hard, soft, and soft values next to 0 and 1.
pub const TARGETS: [f32; 11] = [
    0.0,
    1.0,
    0.5,
    0.3,
    0.7,
    0.1,
    0.9,
    1e-3,
    0.999,
    1e-7,
    1.0 - f32::EPSILON / 2.0,
];

/// Logits: the extremes of the accuracy sweeps (`±1e4`, `±88`, `±30`, `±inf`), the f32 extremes, both
/// sides of where `exp(-|x|)` leaves the normal range (`±87.3`) and underflows (`±103.9`), a
/// logarithmic grid over `1e-8 ..= 1e4` (100 points a decade) with both signs, and a linear
/// grid over `[-20, 20]`.
pub fn logit_sweep() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
    ];
    for m in [
        1e4f32, 88.0, 30.0, 87.3, 87.4, 103.9, 104.0, 89.0, 100.0, 17.0,
    ] {
        v.extend([m, -m]);
    }
    for k in -800..=400 {
        let m = 10f64.powf(f64::from(k) / 100.0) as f32;
        v.extend([m, -m]);
    }
    for k in -400..=400 {
        v.push(k as f32 * 0.05);
    }
    v
}

/// Probabilities: 0, 1, the clamp bounds given and their f32 neighbours, the smallest f32
/// values, and logarithmic grids towards 0 and towards 1 (50 points a decade down to `1e-8`).
pub fn probability_sweep(bounds: &[f32]) -> Vec<f32> {
    let mut v = vec![
        0.0,
        1.0,
        1e-45,
        f32::MIN_POSITIVE,
        1e-30,
        0.5,
        0.05,
        0.95,
        1.0f32.next_down(),
        f32::EPSILON,
    ];
    for &b in bounds {
        v.extend([b, b.next_up(), b.next_down()]);
    }
    for k in 0..=400 {
        let d = 10f64.powf(-f64::from(k) / 50.0);
        v.extend([d as f32, (1.0 - d) as f32]);
    }
    v.retain(|p| (0.0..=1.0).contains(p));
    v
}

/// A reproducible random number generator (`proptest`'s ChaCha generator) for test data.
pub fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The README's examples, compiled and run as doc tests so they stay true to the code.
#[doc = include_str!("../../README.md")]
pub mod readme {}
