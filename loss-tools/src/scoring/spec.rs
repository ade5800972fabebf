//! Loss names and framework conventions, in the vocabulary of the framework-parity interface
//! (`--loss focal|dice|…`, `--alpha`, `--gamma`, `--smooth-nr`, `--smooth-dr`,
//! `--convention monai|smp|kornia|keras|torchvision|seed`), turned into `loss-core` settings.
//!
//! A convention sets the defaults a user of that framework would get; explicit options win.
//! `eval` pools every pixel of every file (MONAI `batch=True`, smp), so its numbers are
//! dataset-level; exact per-call parity with each framework is the `batch` subcommand's job.
//!
//! | convention | sigmoid focal alpha | softmax focal alpha | focal mean over | probabilities clamp | smooth_nr / smooth_dr | empty class |
//! |---|---|---|---|---|---|---|
//! | monai | none | none (`[1-a, a, …]` if given) | pixels × classes | none | 1e-5 / 1e-5 | formula |
//! | torchvision | 0.25 | `[0.75, 0.25, …]` | pixels × classes | none | 1e-5 / 1e-5 (MONAI's; torchvision has no dice) | formula |
//! | smp | none | none | pixels × classes | none | 0 / 1e-7 (its `eps`) | 0 (masked) |
//! | kornia | 0.25 | `[0.75, 0.25, …]` | pixels × classes | none | 0 / 1e-8 | formula |
//! | keras | none (`apply_class_balancing=False`) | 0.25 on every class | pixels (categorical) | clip to `[1e-7, 1-1e-7]` in the logs | 0 / 1e-7 | formula |
//! | seed | 0.25 | `[0.75, 0.25, …]` | pixels × classes | clamp `[1e-3, 0.999]` | 1 / 1 (its Keras dice) | formula |
//!
//! gamma is 2 everywhere; Tversky's alpha and beta default to 0.5.

use clap::{Args, ValueEnum};
use loss_core::dice::OverlapLoss;
use loss_core::multiclass::{ClassAlpha, EmptyClass, GeneralizedDice, WeightType};

/// `--loss` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossName {
    /// Sigmoid (binary / one-vs-rest) focal loss.
    Focal,
    /// Softmax focal loss over the classes.
    SoftmaxFocal,
    /// Soft dice loss per class.
    Dice,
    /// Soft Jaccard (IoU) loss per class.
    Jaccard,
    /// Tversky loss per class (`--alpha` weights false positives, `--beta` false negatives).
    Tversky,
    /// Generalized dice loss (Sudre et al. 2017), weights `1/T²`.
    GeneralizedDice,
}

/// `--convention` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convention {
    /// MONAI 1.5.
    Monai,
    /// segmentation_models_pytorch.
    Smp,
    /// kornia.
    Kornia,
    /// Keras 3.
    Keras,
    /// torchvision.ops.
    Torchvision,
    /// The seed article's classes.
    Seed,
}

/// Loss options shared by `eval` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct LossArgs {
    /// The loss: a focal kind picks the focal column, an overlap kind the overlap column (both
    /// are always reported). Default: softmax-focal and dice (focal and dice for one channel).
    #[arg(long, value_enum)]
    pub loss: Option<LossName>,
    /// Whose defaults to use.
    #[arg(long, value_enum, default_value_t = Convention::Monai)]
    pub convention: Convention,
    /// Focal: weight of positives (softmax: of the foreground classes). Tversky: weight of
    /// false positives.
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Focal: the focusing exponent.
    #[arg(long)]
    pub gamma: Option<f32>,
    /// Tversky: weight of false negatives.
    #[arg(long)]
    pub beta: Option<f32>,
    /// Overlap losses: numerator smoothing.
    #[arg(long)]
    pub smooth_nr: Option<f32>,
    /// Overlap losses: denominator smoothing.
    #[arg(long)]
    pub smooth_dr: Option<f32>,
    /// Hard decisions per class at this probability instead of argmax (binary default 0.5).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Leave class 0 out of the overall overlap loss and the macro averages.
    #[arg(long)]
    pub exclude_background: bool,
}

/// Which focal loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Focal {
    /// Softmax over classes.
    Softmax {
        /// Alpha spread.
        alpha: ClassAlpha<'static>,
        /// Divide the total by pixels (Keras) rather than pixels × classes.
        per_pixel: bool,
    },
    /// One binary focal loss per channel.
    Sigmoid {
        /// Weight of positives.
        alpha: Option<f32>,
    },
}

/// Which overlap loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overlap {
    /// Dice, Jaccard or Tversky per class.
    PerClass(OverlapLoss),
    /// Generalized dice (the per-class column shows dice with the same smoothing).
    Generalized(GeneralizedDice, OverlapLoss),
}

/// Everything `eval` needs to know about the losses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    /// The convention.
    pub convention: Convention,
    /// Focal kind and alpha.
    pub focal: Focal,
    /// Focal gamma.
    pub gamma: f32,
    /// Clamp of probabilities for the sigmoid focal loss: `(min, max, logs_only)`.
    pub clamp: Option<(f32, f32, bool)>,
    /// The overlap loss.
    pub overlap: Overlap,
    /// Empty-class policy of the overlap loss.
    pub empty: EmptyClass,
    /// Whether class 0 counts in the overall numbers.
    pub include_background: bool,
    /// Per-class threshold, or argmax.
    pub threshold: Option<f32>,
}

impl Spec {
    /// Builds the settings for data with `classes` channels.
    pub fn new(a: &LossArgs, classes: usize) -> Result<Self, String> {
        let conv = a.convention;
        let (focal, gamma) = focal(a, classes)?;
        let overlap = overlap(a)?;
        if let Some(t) = a.threshold
            && !(t > 0.0 && t < 1.0)
        {
            return Err(format!("--threshold {t}: must be a probability in (0, 1)"));
        }
        Ok(Self {
            convention: conv,
            focal,
            gamma,
            clamp: clamp(conv),
            overlap,
            empty: if conv == Convention::Smp {
                EmptyClass::Zero
            } else {
                EmptyClass::Formula
            },
            include_background: !a.exclude_background,
            threshold: a.threshold.or((classes == 1).then_some(0.5)),
        })
    }

    /// The per-class overlap loss (for generalized dice: dice with the same smoothing).
    pub fn overlap_loss(&self) -> OverlapLoss {
        match self.overlap {
            Overlap::PerClass(l) | Overlap::Generalized(_, l) => l,
        }
    }

    /// The focal loss's name and parameters, for the report.
    pub fn focal_text(&self) -> String {
        let g = self.gamma;
        match self.focal {
            Focal::Softmax { alpha, per_pixel } => format!(
                "softmax-focal (gamma {g}, alpha {}, mean over {})",
                match alpha {
                    ClassAlpha::None => "none".to_string(),
                    ClassAlpha::Background(x) => format!("[{}, {x}, ...]", 1.0 - x),
                    ClassAlpha::Uniform(x) => format!("{x} on every class"),
                    ClassAlpha::PerClass(l) => format!("{l:?}"),
                    ClassAlpha::Positives(l) => format!("{l:?} on positives"),
                },
                if per_pixel {
                    "pixels"
                } else {
                    "pixels x classes"
                }
            ),
            Focal::Sigmoid { alpha } => format!(
                "focal (sigmoid per channel, gamma {g}, alpha {}{}, mean over pixels x classes)",
                alpha.map_or("none".to_string(), |x| x.to_string()),
                match self.clamp {
                    Some((lo, hi, false)) => format!(", probabilities clamped to [{lo}, {hi}]"),
                    Some((lo, hi, true)) => format!(", logs clipped to [{lo:e}, {hi}]"),
                    None => String::new(),
                }
            ),
        }
    }

    /// The overlap loss's name and parameters, for the report.
    pub fn overlap_text(&self) -> String {
        let (loss, name) = match self.overlap {
            Overlap::PerClass(l) => (l, None),
            Overlap::Generalized(_, l) => (l, Some("generalized-dice (weights 1/T^2")),
        };
        let (nr, dr) = loss.smoothing();
        let kind = match (name, loss.overlap()) {
            (Some(n), _) => n.to_string(),
            (None, loss_core::dice::Overlap::Dice) => "dice (".into(),
            (None, loss_core::dice::Overlap::Jaccard) => "jaccard (".into(),
            (None, loss_core::dice::Overlap::Tversky { alpha, beta }) => {
                format!("tversky (alpha {alpha}, beta {beta}, ")
            }
        };
        let sep = if name.is_some() { ", " } else { "" };
        let e = |v: f32| {
            if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:e}")
            }
        };
        format!(
            "{kind}{sep}smooth_nr {}, smooth_dr {}, empty classes {}, background {})",
            e(nr),
            e(dr),
            match self.empty {
                EmptyClass::Formula => "by formula",
                EmptyClass::Zero => "count 0",
                EmptyClass::Skip => "skipped",
            },
            if self.include_background {
                "included"
            } else {
                "excluded"
            }
        )
    }
}

/// The focal loss for data with `classes` channels, and its gamma.
fn focal(a: &LossArgs, classes: usize) -> Result<(Focal, f32), String> {
    use Convention as C;
    let conv = a.convention;
    let focal_name = match a.loss {
        Some(l @ (LossName::Focal | LossName::SoftmaxFocal)) => l,
        _ if classes == 1 => LossName::Focal,
        _ => LossName::SoftmaxFocal,
    };
    if focal_name == LossName::SoftmaxFocal && classes == 1 {
        return Err("--loss softmax-focal needs at least 2 classes; use --loss focal".into());
    }
    let is_focal = matches!(
        a.loss,
        None | Some(LossName::Focal | LossName::SoftmaxFocal)
    );
    let focal_alpha = if is_focal { a.alpha } else { None };
    let gamma = a.gamma.unwrap_or(2.0);
    let focal = match focal_name {
        LossName::SoftmaxFocal => {
            let default = match conv {
                C::Monai | C::Smp => None,
                C::Torchvision | C::Kornia | C::Seed | C::Keras => Some(0.25),
            };
            let alpha = match (focal_alpha.or(default), conv) {
                (None, _) => ClassAlpha::None,
                (Some(x), C::Keras) => ClassAlpha::Uniform(x),
                (Some(x), _) => ClassAlpha::Background(x),
            };
            Focal::Softmax {
                alpha,
                per_pixel: conv == C::Keras,
            }
        }
        _ => {
            let default = match conv {
                C::Monai | C::Smp | C::Keras => None,
                C::Torchvision | C::Kornia | C::Seed => Some(0.25),
            };
            Focal::Sigmoid {
                alpha: focal_alpha.or(default),
            }
        }
    };
    if let Some(x) = focal_alpha
        && !(0.0..=1.0).contains(&x)
    {
        return Err(format!("--alpha {x}: a focal alpha must be in [0, 1]"));
    }
    if !(gamma.is_finite() && gamma >= 0.0) {
        return Err(format!("--gamma {gamma}: must be finite and >= 0"));
    }
    Ok((focal, gamma))
}

/// The clamp of probabilities of a convention's sigmoid focal loss: `(min, max, logs_only)`.
fn clamp(conv: Convention) -> Option<(f32, f32, bool)> {
    match conv {
        Convention::Seed => Some((1e-3, 0.999, false)),
        Convention::Keras => Some((1e-7, 1.0 - 1e-7, true)),
        _ => None,
    }
}

/// The overlap loss, with the convention's smoothing unless the options give it.
fn overlap(a: &LossArgs) -> Result<Overlap, String> {
    use Convention as C;
    let overlap_name = match a.loss {
        Some(
            l
            @ (LossName::Dice | LossName::Jaccard | LossName::Tversky | LossName::GeneralizedDice),
        ) => l,
        _ => LossName::Dice,
    };
    let (nr, dr) = match a.convention {
        C::Monai | C::Torchvision => (1e-5, 1e-5),
        C::Smp | C::Keras => (0.0, 1e-7),
        C::Kornia => (0.0, 1e-8),
        C::Seed => (1.0, 1.0),
    };
    let (nr, dr) = (a.smooth_nr.unwrap_or(nr), a.smooth_dr.unwrap_or(dr));
    let bad = |e: loss_core::Error| format!("{e}");
    let base = match overlap_name {
        LossName::Jaccard => OverlapLoss::jaccard(),
        LossName::Tversky => {
            OverlapLoss::tversky(a.alpha.unwrap_or(0.5), a.beta.unwrap_or(0.5)).map_err(bad)?
        }
        _ => OverlapLoss::dice(),
    }
    .with_smoothing(nr, dr)
    .map_err(bad)?;
    Ok(if overlap_name == LossName::GeneralizedDice {
        Overlap::Generalized(
            GeneralizedDice::new(WeightType::Square, nr, dr).map_err(bad)?,
            base,
        )
    } else {
        Overlap::PerClass(base)
    })
}
