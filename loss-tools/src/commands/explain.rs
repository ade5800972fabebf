//! `loss-tools explain`: the seed article's worked example of cross-entropy against focal loss,
//! recomputed with `loss-core` and set beside the article's own figures.
//!
//! The example (seed article section 3; `docs/tools.md` has the reading): `negatives` easy
//! negatives whose true-class probability is `p_t = 0.95` (the model gives the foreground
//! 0.05) and `positives` hard positives with `p_t = 0.05`, alpha 0.25, gamma 2. Each element's
//! loss comes from [`BinaryFocal`] with the clamp disabled (`[0, 1]`): focal loss with
//! `alpha`/`gamma`, cross-entropy as the same loss with no alpha and gamma 0. Totals are the
//! per-element value times the count (f64), so any count is exact. The article uses log base
//! 10; the natural-log column is what a framework computes; the shares are base-free.
//!
//! A second table shows the gradient, which is what training follows: each element's
//! `|dL/dx|` from `loss-core`'s `loss_and_grad_elementwise` ([`Split`]), with `x` the logit
//! (`SigmoidFocal` at `ln(p / (1 - p))`) or the probability (`BinaryFocal`), and the two
//! groups' shares of `Σ |dL/dx|` (per-element × count).

use clap::Args;
use loss_core::Reduction;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_tools::shares::{Split, Sums};

use super::Failure;
use crate::output::table::Table;

/// Options of `loss-tools explain` (defaults: the article's example).
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Number of easy negatives.
    #[arg(long, default_value_t = 100_000)]
    negatives: u64,
    /// Number of hard positives.
    #[arg(long, default_value_t = 10)]
    positives: u64,
    /// Probability of the true class for the negatives (`1 - p` of the foreground).
    #[arg(long, default_value_t = 0.95)]
    pt_negative: f32,
    /// Probability of the true class for the positives.
    #[arg(long, default_value_t = 0.05)]
    pt_positive: f32,
    /// Focal alpha (weight of positives; negatives get `1 - alpha`).
    #[arg(long, default_value_t = 0.25)]
    alpha: f32,
    /// Focal gamma.
    #[arg(long, default_value_t = 2.0)]
    gamma: f32,
}

impl ExplainArgs {
    fn is_article(&self) -> bool {
        self.negatives == 100_000
            && self.positives == 10
            && self.pt_negative == 0.95
            && self.pt_positive == 0.05
            && self.alpha == 0.25
            && self.gamma == 2.0
    }
}

/// Five significant digits (f32 inputs such as 0.95 carry a relative error near 1e-7, and the
/// losses about 1e-6, so a sixth digit would be noise), scientific below 1e-3.
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() < 1e-3 {
        return format!("{v:.4e}");
    }
    let digits = (4 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

fn element(loss: &BinaryFocal, p: f32, t: f32) -> Result<f64, String> {
    loss.with_reduction(Reduction::Sum)
        .loss(&[p], &[t])
        .map(f64::from)
        .map_err(|e| e.to_string())
}

/// The report text.
fn render(a: &ExplainArgs) -> Result<String, String> {
    let losses = losses(a)?;
    let article = a.is_article();
    let mut out = intro(a);
    out.push_str(&table(a, &losses, article).render());
    out.push('\n');
    out.push_str(if article {
        ARTICLE_NOTES
    } else {
        "The article column applies to its own example only (no options).\n"
    });
    out.push('\n');
    out.push_str(&gradients(a)?);
    Ok(out)
}

/// The gradient section: the same example's `|dL/dx|`, per element and as shares.
fn gradients(a: &ExplainArgs) -> Result<String, String> {
    let g = gradient_sums(a)?;
    let mut out = String::from(
        "Gradient shares: which elements the gradient listens to. Sum of |dL/dx| over a group\n\
         / over all elements, from loss-core's loss_and_grad_elementwise, with x the logit\n\
         ln(p / (1 - p)) (SigmoidFocal) or the probability p (BinaryFocal, clamp off). Per\n\
         element in ln (log10 divides by ln 10); the shares are base-free. dL/dlogit =\n\
         dL/dp p (1 - p), so the columns' shares differ only where the kinds' p (1 - p) do.\n\n",
    );
    let mut t = Table::new(&["quantity", "x = logit", "x = probability"]);
    let opt = |v: Option<f64>| v.map_or_else(|| "-".into(), sig);
    let mut row = |q: String, f: &dyn Fn(&GradientSums) -> Option<f64>| {
        t.row(vec![q, opt(f(&g.logit)), opt(f(&g.probability))]);
    };
    let (pn, pp) = (a.pt_negative, a.pt_positive);
    row(format!("|dCE/dx| per negative (p_t {pn})"), &|s| {
        Some(s.ce.negatives)
    });
    row(format!("|dCE/dx| per positive (p_t {pp})"), &|s| {
        Some(s.ce.positives)
    });
    row("|dFL/dx| per negative".into(), &|s| Some(s.fl.negatives));
    row("|dFL/dx| per positive".into(), &|s| Some(s.fl.positives));
    // `-` where cross-entropy's derivative is 0 (p_t 1: nothing left to learn).
    let ratio = |a: f64, b: f64| (b != 0.0).then(|| a / b);
    row("|dFL/dx| / |dCE/dx| per negative".into(), &|s| {
        ratio(s.fl.negatives, s.ce.negatives)
    });
    row("|dFL/dx| / |dCE/dx| per positive".into(), &|s| {
        ratio(s.fl.positives, s.ce.positives)
    });
    let (np, nn) = (a.positives as f64, a.negatives as f64);
    let ce = |s: &GradientSums| s.ce.scaled(np, nn);
    let fl = |s: &GradientSums| s.fl.scaled(np, nn);
    row("negatives' share of the CE gradient".into(), &|s| {
        ce(s).negatives_share()
    });
    row("positives' share of the CE gradient".into(), &|s| {
        ce(s).positives_share()
    });
    row("negatives' share of the FL gradient".into(), &|s| {
        fl(s).negatives_share()
    });
    row("positives' share of the FL gradient".into(), &|s| {
        fl(s).positives_share()
    });
    row("positives' gradient share FL / CE".into(), &|s| {
        Some(fl(s).positives_share()? / ce(s).positives_share()?)
    });
    out.push_str(&t.render());
    Ok(out)
}

/// `|dL/dx|` of one element of each kind, cross-entropy and focal.
#[derive(Debug, Clone, Copy)]
struct GradientSums {
    ce: Sums,
    fl: Sums,
}

/// The per-element gradient magnitudes with respect to the logit and to the probability.
#[derive(Debug, Clone, Copy)]
struct Gradients {
    logit: GradientSums,
    probability: GradientSums,
}

/// One negative (foreground probability `1 - p_t`, target 0) and one positive through
/// `loss-core`: [`Split`] of the pair gives each element's `|dL/dx|` as its group's sum.
fn gradient_sums(a: &ExplainArgs) -> Result<Gradients, String> {
    let bad = |e: loss_core::Error| format!("{e}");
    let p = [1.0 - a.pt_negative, a.pt_positive];
    let t = [0.0, 1.0];
    // The logit of each probability, in f64 then rounded once (0 and 1 give -inf and inf).
    let x = p.map(|p| {
        let p = f64::from(p);
        (p / (1.0 - p)).ln() as f32
    });
    let fl = SigmoidFocal::new(Some(a.alpha), a.gamma).map_err(bad)?;
    let ce = SigmoidFocal::new(None, 0.0).map_err(bad)?;
    let logit = GradientSums {
        ce: Split::of(&ce, &x, &t)?.gradient,
        fl: Split::of(&fl, &x, &t)?.gradient,
    };
    let fl = BinaryFocal::new(Some(a.alpha), a.gamma, 0.0, 1.0).map_err(bad)?;
    let ce = BinaryFocal::new(None, 0.0, 0.0, 1.0).map_err(bad)?;
    let probability = GradientSums {
        ce: Split::of(&ce, &p, &t)?.gradient,
        fl: Split::of(&fl, &p, &t)?.gradient,
    };
    Ok(Gradients { logit, probability })
}

/// The losses of one element of each kind, from `loss-core`.
struct Losses {
    /// Cross-entropy of a negative.
    ce_neg: f64,
    /// Cross-entropy of a positive.
    ce_pos: f64,
    /// Focal loss of a negative.
    fl_neg: f64,
    /// Focal loss of a positive.
    fl_pos: f64,
}

fn losses(a: &ExplainArgs) -> Result<Losses, String> {
    for (name, v) in [
        ("--pt-negative", a.pt_negative),
        ("--pt-positive", a.pt_positive),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            return Err(format!("{name} {v}: a probability in (0, 1]"));
        }
    }
    if !(0.0..=1.0).contains(&a.alpha) {
        return Err(format!("--alpha {}: must be in [0, 1]", a.alpha));
    }
    if !(a.gamma.is_finite() && a.gamma >= 0.0) {
        return Err(format!("--gamma {}: must be finite and >= 0", a.gamma));
    }
    let bad = |e: loss_core::Error| format!("{e}");
    let fl = BinaryFocal::new(Some(a.alpha), a.gamma, 0.0, 1.0).map_err(bad)?;
    let ce = BinaryFocal::new(None, 0.0, 0.0, 1.0).map_err(bad)?;
    // A negative has target 0 and foreground probability 1 - p_t.
    let p_neg = 1.0 - a.pt_negative;
    Ok(Losses {
        ce_neg: element(&ce, p_neg, 0.0)?,
        ce_pos: element(&ce, a.pt_positive, 1.0)?,
        fl_neg: element(&fl, p_neg, 0.0)?,
        fl_pos: element(&fl, a.pt_positive, 1.0)?,
    })
}

/// What the example is.
fn intro(a: &ExplainArgs) -> String {
    let (pn, pp) = (a.pt_negative, a.pt_positive);
    format!(
        "Cross-entropy (CE) against focal loss (FL, alpha {}, gamma {}) on {} easy negatives \
         (p_t {pn}) and {} hard positives (p_t {pp}).\nPer-element losses from loss-core \
         BinaryFocal (clamp off); CE is the same loss with no alpha and gamma 0.\n\n",
        a.alpha, a.gamma, a.negatives, a.positives
    )
}

/// Our figures beside the article's (`-` where the example is not the article's).
fn table(a: &ExplainArgs, l: &Losses, article: bool) -> Table {
    let Losses {
        ce_neg,
        ce_pos,
        fl_neg,
        fl_pos,
    } = *l;
    let (nn, np) = (a.negatives as f64, a.positives as f64);
    let share = |pos: f64, neg: f64| pos / (pos + neg);
    let ce_share = share(ce_pos * np, ce_neg * nn);
    let fl_share = share(fl_pos * np, fl_neg * nn);
    let ln10 = std::f64::consts::LN_10;
    let fig = |s: &str| if article { s.to_string() } else { "-".into() };
    let mut t = Table::new(&["quantity", "article", "ours (log10)", "ours (ln)"]);
    let mut row = |q: String, art: &str, ln_value: f64, base_free: bool| {
        let log10 = if base_free { ln_value } else { ln_value / ln10 };
        t.row(vec![q, fig(art), sig(log10), sig(ln_value)]);
    };
    let (pn, pp) = (a.pt_negative, a.pt_positive);
    row(
        format!("CE per negative (p_t {pn})"),
        "0.02227",
        ce_neg,
        false,
    );
    row(
        format!("CE per positive (p_t {pp})"),
        "1.30102",
        ce_pos,
        false,
    );
    row(
        format!("CE of the {} negatives", a.negatives),
        "-",
        ce_neg * nn,
        false,
    );
    row(
        format!("CE of the {} positives", a.positives),
        "-",
        ce_pos * np,
        false,
    );
    row("positives' share of CE".into(), "0.0058", ce_share, true);
    row("FL per negative".into(), "0.00004176", fl_neg, false);
    row("FL per positive".into(), "0.29354264", fl_pos, false);
    row(
        format!("FL of the {} negatives", a.negatives),
        "4.1756",
        fl_neg * nn,
        false,
    );
    row(
        format!("FL of the {} positives", a.positives),
        "2.935",
        fl_pos * np,
        false,
    );
    row("FL total".into(), "7.110", fl_neg * nn + fl_pos * np, false);
    row("positives' share of FL".into(), "0.4127", fl_share, true);
    row(
        "share FL / share CE".into(),
        "71",
        fl_share / ce_share,
        true,
    );
    t
}

/// What to know about the article's figures.
const ARTICLE_NOTES: &str = "Notes on the article's figures (seed article, section 3):\n\
     - Its logarithms are base 10 (0.02227 = -log10 0.95, 1.30102 = -log10 0.05); the\n  \
     frameworks use ln. The shares do not depend on the base.\n\
     - Its text says 10,000 negatives once, but its sums use 100,000, as here.\n\
     - 4.1756 and 7.110 come from rounding -log10 0.95 to 0.02227 before multiplying;\n  \
     unrounded they are 4.1768 and 7.1123.\n\
     - p_t is the probability of the true class: the negatives' foreground probability\n  \
     is 0.05, not 0.95.\n";

/// Runs `loss-tools explain`.
pub fn run(args: &ExplainArgs) -> Result<(), Failure> {
    let text = render(args)?;
    super::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ExplainArgs {
        ExplainArgs {
            negatives: 100_000,
            positives: 10,
            pt_negative: 0.95,
            pt_positive: 0.05,
            alpha: 0.25,
            gamma: 2.0,
        }
    }

    #[test]
    fn reproduces_the_checked_figures() {
        // seed notes section 3: the exact values (log10, 100,000 / 10) to five digits.
        let text = render(&args()).unwrap();
        for figure in [
            "4.1768",
            "2.9354",
            "7.1123",
            "0.41273",
            "0.0058065",
            "16.377",
        ] {
            assert!(text.contains(figure), "{figure} missing from\n{text}");
        }
    }

    #[test]
    fn gradient_shares_of_the_seed_example() {
        // 1 - share and the share of each kind; the ratio to CE; -, not NaN, for 0 / 0.
        let text = render(&args()).unwrap();
        for figure in ["0.0018964", "0.99810", "0.092536", "0.90746", "48.796"] {
            assert!(text.contains(figure), "{figure} missing from\n{text}");
        }
        let mut a = args();
        a.pt_negative = 1.0;
        let text = render(&a).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("|dFL/dx| / |dCE/dx| per negative"))
            .unwrap();
        // Logit: both derivatives 0. Probability: d CE / dp = 1 at p = 0, and the focal
        // derivative 0 for gamma 2 (NaN for 0 < gamma < 1, `gamma 0^(gamma - 1) * 0`).
        let cells: Vec<&str> = line.split_whitespace().rev().take(2).collect();
        assert_eq!(cells, ["0", "-"], "{line}");
    }

    #[test]
    fn rejects_bad_options() {
        let mut a = args();
        a.pt_positive = 0.0;
        assert!(render(&a).is_err());
        let mut a = args();
        a.alpha = 2.0;
        assert!(render(&a).unwrap_err().contains("alpha"));
    }
}
