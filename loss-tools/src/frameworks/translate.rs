//! [`Plan::rust`]: the `loss-core` code that reproduces a plan on a device (what
//! `loss-tools translate` prints).

use std::fmt::Write;

use loss_core::Reduction;
use loss_core::dice::{Overlap, OverlapLoss};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, EmptyClass, Intersection, Layout, WeightType, Weighting,
};

use super::params::ScalarOrList;
use super::plan::{
    AlphaSpec, Axes, BinaryLoss, ClassFocalPlan, ElementPlan, ElementReduce, FlatPlan, FocalKind,
    FocalReduce, GeneralizedPlan, Ignore, OverlapPlan, OverlapReduce, Plan, Prepare, Smoothing,
    TargetSpec,
};

fn f(x: f32) -> String {
    format!("{x:?}")
}

fn opt(x: Option<f32>) -> String {
    x.map_or("None".into(), |v| format!("Some({})", f(v)))
}

fn soft(s: SoftTargets) -> &'static str {
    match s {
        SoftTargets::Torchvision => "SoftTargets::Torchvision",
        SoftTargets::Monai => "SoftTargets::Monai",
        SoftTargets::Kornia => "SoftTargets::Kornia",
        SoftTargets::Smp => "SoftTargets::Smp",
    }
}

fn sigmoid_focal(l: &SigmoidFocal) -> String {
    format!(
        "SigmoidFocal::new({}, {})?.with_soft_targets({})",
        opt(l.alpha()),
        f(l.gamma()),
        soft(l.soft_targets())
    )
}

fn binary_focal(l: &BinaryFocal) -> String {
    let (lo, hi) = l.clamp();
    if l.clamp_logs_only() {
        format!("BinaryFocal::keras({}, {})?", opt(l.alpha()), f(l.gamma()))
    } else {
        format!(
            "BinaryFocal::new({}, {}, {}, {})?.with_soft_targets({})?",
            opt(l.alpha()),
            f(l.gamma()),
            f(lo),
            f(hi),
            soft(l.soft_targets())
        )
    }
}

fn overlap_loss(l: &OverlapLoss) -> String {
    let (nr, dr) = l.smoothing();
    let base = match l.overlap() {
        Overlap::Dice => "OverlapLoss::dice()".to_owned(),
        Overlap::Jaccard => "OverlapLoss::jaccard()".to_owned(),
        Overlap::Tversky { alpha, beta } => {
            format!("OverlapLoss::tversky({}, {})?", f(alpha), f(beta))
        }
    };
    format!("{base}.with_smoothing({}, {})?", f(nr), f(dr))
}

fn reduction(r: Reduction) -> &'static str {
    match r {
        Reduction::Mean => "Reduction::Mean",
        Reduction::Sum => "Reduction::Sum",
    }
}

fn class_overlap(o: &ClassOverlap) -> String {
    let activation = match o.activation {
        Activation::None => "Activation::None",
        Activation::Sigmoid => "Activation::Sigmoid",
        Activation::Softmax => "Activation::Softmax",
        Activation::Tanh => "Activation::Tanh",
    };
    let intersection = match o.intersection {
        Intersection::Product => "Intersection::Product",
        Intersection::Min => "Intersection::Min",
    };
    format!(
        "ClassOverlap {{ activation: {activation}, squared: {}, intersection: {intersection} }}",
        o.squared
    )
}

fn layout(l: Layout) -> &'static str {
    match l {
        Layout::ChannelsFirst => "Layout::ChannelsFirst",
        Layout::ChannelsLast => "Layout::ChannelsLast",
    }
}

fn targets(spec: TargetSpec, ignore: Option<i64>) -> String {
    let base = match spec {
        TargetSpec::Dense | TargetSpec::Flattened => "Targets::dense(&target)".to_owned(),
        TargetSpec::LabelsWithChannel | TargetSpec::Labels => "Targets::labels(&labels)".to_owned(),
    };
    match ignore {
        Some(i) if spec != TargetSpec::Dense => format!("{base}.with_ignore_index({i})"),
        _ => base,
    }
}

fn weights(w: &Option<ScalarOrList>) -> String {
    match w {
        None => "None".into(),
        Some(ScalarOrList::Scalar(v)) => format!("Some(&[{}; C])", f(*v)),
        Some(ScalarOrList::List(l)) => format!(
            "Some(&[{}])",
            l.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn prepare(out: &mut String, p: Prepare) {
    let _ = match p {
        Prepare::None => Ok(()),
        Prepare::Sigmoid => writeln!(
            out,
            "// `input` holds logits: replace each by loss_core::sigmoid(x) first."
        ),
        Prepare::Logit(eps) => writeln!(
            out,
            "// `input` holds probabilities: clamp each to [{0}, 1 - {0}] and replace it by ln(p / (1 - p)) first.",
            f(eps)
        ),
        Prepare::Log(eps) if eps > 0.0 => writeln!(
            out,
            "// `input` holds probabilities: clamp each to [{0}, 1 - {0}] and pass ln(p) as the scores.",
            f(eps)
        ),
        Prepare::Log(_) => writeln!(
            out,
            "// `input` holds probabilities: pass ln(p) as the scores (the softmax renormalises them)."
        ),
    };
}

/// The `use` lines for exactly the items `body` names, so pasted code compiles without
/// unused-import warnings.
fn imports(body: &str) -> String {
    let names = |candidates: &[&'static str]| -> Vec<&'static str> {
        candidates
            .iter()
            .copied()
            .filter(|name| {
                body.match_indices(name).any(|(i, _)| {
                    let before = body[..i].chars().next_back();
                    let after = body[i + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
            .collect()
    };
    let root = names(&["Predictions", "Reduction"]);
    let mut multiclass = names(&[
        "Activation",
        "ClassAlpha",
        "ClassLossAccumulator",
        "ClassOverlap",
        "ClassReduction",
        "EmptyClass",
        "GeneralizedDice",
        "Intersection",
        "Layout",
        "OneVsRestFocal",
        "Shape",
        "SoftmaxFocal",
        "Targets",
        "WeightType",
        "Weighting",
    ]);
    if body.contains("loss.loss_elementwise(&shape") || body.contains("loss.class_sums::<") {
        multiclass.insert(0, "ClassLoss");
    }
    let mut out = String::new();
    for (path, items) in [
        ("loss_core", root),
        ("loss_core::dice", names(&["OverlapLoss", "OverlapStats"])),
        (
            "loss_core::focal",
            names(&["BinaryFocal", "SigmoidFocal", "SoftTargets"]),
        ),
        ("loss_core::multiclass", multiclass),
    ] {
        match items.as_slice() {
            [] => {}
            [one] => out.push_str(&format!("use {path}::{one};\n")),
            many => out.push_str(&format!("use {path}::{{{}}};\n", many.join(", "))),
        }
    }
    out
}

const SHAPE: &str = "// Sizes of your tensors: batch N, classes C, pixels per sample SPATIAL.\n";

impl Plan {
    /// The `loss-core` code that computes this plan, for pasting into firmware. The inputs are
    /// named `input` (scores) and `target` (dense targets) or `labels` (class indices).
    pub fn rust(&self) -> String {
        let mut body = String::new();
        self.write_rust(&mut body, "value");
        let body: String = body
            .lines()
            .filter(|l| !l.starts_with("use "))
            .map(|l| format!("{l}\n"))
            .collect();
        format!("{}{body}", imports(&body))
    }

    fn write_rust(&self, out: &mut String, value: &str) {
        match self {
            Self::Element(p) => p.rust(out, value),
            Self::ClassFocal(p) => p.rust(out, value),
            Self::Overlap(p) => p.rust(out, value),
            Self::Generalized(p) => p.rust(out, value),
            Self::Flat(p) => p.rust(out, value),
            Self::Sum(parts) => {
                let mut terms = Vec::new();
                for (i, (lambda, plan)) in parts.iter().enumerate() {
                    let name = format!("part_{i}");
                    let _ = writeln!(out, "// Part {i}, weighted by {}:", f(*lambda));
                    plan.write_rust(out, &name);
                    terms.push(format!("{} * {name}", f(*lambda)));
                    out.push('\n');
                }
                let _ = writeln!(out, "let {value} = {};", terms.join(" + "));
            }
            Self::ByChannels { several, one } => {
                let _ = writeln!(out, "// With C > 1 classes:");
                several.write_rust(out, value);
                let _ = writeln!(out, "// With one channel instead:");
                one.write_rust(out, value);
            }
        }
    }
}

impl ElementPlan {
    fn rust(&self, out: &mut String, value: &str) {
        if matches!(
            self.reduce,
            ElementReduce::Sum | ElementReduce::Axis(Some(_), _)
        ) {
            let _ = writeln!(out, "use loss_core::Reduction;");
        }
        let (loss, prep) = self.loss_code(out);
        prepare(out, self.prepare);
        smoothing_comment(out, self.smoothing);
        ignore_comment(out, self.ignore);
        out.push_str(&prep);
        let _ = writeln!(out, "let loss = {loss};");
        self.write_reduce(out, value);
    }

    /// The loss's constructor and the comment on what the host adds to it; writes the imports
    /// it needs.
    fn loss_code(&self, out: &mut String) -> (String, String) {
        match &self.loss {
            BinaryLoss::Sigmoid(l) => {
                let _ = writeln!(out, "use loss_core::focal::{{SigmoidFocal, SoftTargets}};");
                (sigmoid_focal(l), String::new())
            }
            BinaryLoss::Probability(l) => {
                let _ = writeln!(out, "use loss_core::focal::{{BinaryFocal, SoftTargets}};");
                (binary_focal(l), String::new())
            }
            BinaryLoss::SmpModified(m) => (
                format!(
                    "SigmoidFocal::new(None, {})?.with_soft_targets(SoftTargets::Smp)",
                    f(m.gamma)
                ),
                format!(
                    "// smp reduced_threshold {:?}, normalized {}, alpha {}: run `loss` and the same with\n// gamma 0 (the cross-entropy CE) elementwise; factor = loss / CE (0 where CE is 0), or 1\n// where exp(-CE) < threshold, else factor / threshold^gamma; loss = factor CE alpha_t,\n// divided by max(sum of factors, 1e-6) when normalized.\n",
                    m.reduced_threshold,
                    m.normalized,
                    opt(m.alpha)
                ),
            ),
            BinaryLoss::KorniaWeighted {
                gamma,
                alpha,
                pos_weight,
                weight,
            } => (
                format!(
                    "SigmoidFocal::new(Some(1.0), {})?.with_soft_targets(SoftTargets::Kornia)",
                    f(*gamma)
                ),
                format!(
                    "// kornia pos_weight {pos_weight:?}, weight {weight:?}, alpha {}: run `loss` (alpha 1: the\n// positive term t (1-p)^gamma (-log p)) and the same with alpha 0 (the negative term)\n// elementwise; per element of channel c: (alpha pos_weight[c] pos + (1 - alpha) neg) weight[c].\n",
                    opt(*alpha)
                ),
            ),
            BinaryLoss::SeedLeaky(l) => {
                let _ = writeln!(out, "use loss_core::focal::{{BinaryFocal, SoftTargets}};");
                (
                    binary_focal(l),
                    "// The seed's where/clamp code: add, per element, loss.loss_elementwise(&[1.0], &[1.0])\n// for negatives and loss.loss_elementwise(&[0.0], &[0.0]) for positives (the clamped\n// term of the other class), then reduce with Reduction::reduce.\n".to_owned(),
                )
            }
        }
    }

    /// The reduction, into `value`.
    fn write_reduce(&self, out: &mut String, value: &str) {
        let _ = match self.reduce {
            ElementReduce::Mean => writeln!(out, "let {value} = loss.loss(&input, &target)?;"),
            ElementReduce::Sum => writeln!(
                out,
                "let {value} = loss.with_reduction(Reduction::Sum).loss(&input, &target)?;"
            ),
            ElementReduce::None | ElementReduce::Flat => writeln!(
                out,
                "let mut {value} = [0.0f32; LEN];\nloss.loss_elementwise(&input, &target, &mut {value})?;"
            ),
            ElementReduce::Axis(r, _) => {
                let _ = writeln!(
                    out,
                    "// One row per sample of the last axis (ROWS rows).\nlet mut rows = [0.0f32; ROWS];\nloss.loss_per_sample(&input, &target, ROWS, &mut rows)?;"
                );
                match r {
                    Some(r) => writeln!(out, "let {value} = {}.reduce(&rows)?;", reduction(r)),
                    None => writeln!(out, "let {value} = rows;"),
                }
            }
        };
    }
}

/// The comment on a target smoothing.
fn smoothing_comment(out: &mut String, smoothing: Smoothing) {
    match smoothing {
        Smoothing::None => {}
        Smoothing::KerasBinary(s) => {
            let _ = writeln!(
                out,
                "// Label smoothing: target = t * (1 - {0}) + 0.5 * {0}.",
                f(s)
            );
        }
        Smoothing::Smp(s) => {
            let _ = writeln!(
                out,
                "// Label smoothing: target = (1 - t) * {0} + t * (1 - {0}).",
                f(s)
            );
        }
    }
}

/// The comment on ignored elements.
fn ignore_comment(out: &mut String, ignore: Ignore) {
    match ignore {
        Ignore::None => {}
        Ignore::ZeroKeep(i) => {
            let _ = writeln!(
                out,
                "// Elements whose target is {i}: loss 0, still counted in the mean."
            );
        }
        Ignore::Remove(i) => {
            let _ = writeln!(
                out,
                "// Elements whose target is {i}: drop them from both slices."
            );
        }
    }
}

/// A per-class alpha as code.
fn class_alpha(alpha: &AlphaSpec) -> String {
    match alpha {
        AlphaSpec::None => "ClassAlpha::None".to_owned(),
        AlphaSpec::Background(a) => format!("ClassAlpha::Background({})", f(*a)),
        AlphaSpec::Uniform(a) => format!("ClassAlpha::Uniform({})", f(*a)),
        AlphaSpec::PerClass(l) => format!(
            "ClassAlpha::PerClass(&[{}])",
            l.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
        ),
        AlphaSpec::Positives(l) => format!(
            "ClassAlpha::Positives(&[{}])",
            l.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
        ),
    }
}

impl ClassFocalPlan {
    fn rust(&self, out: &mut String, value: &str) {
        let _ = writeln!(
            out,
            "use loss_core::multiclass::{{ClassAlpha, ClassLoss, ClassLossAccumulator, Layout, OneVsRestFocal, Shape, SoftmaxFocal, Targets}};\nuse loss_core::focal::SoftTargets;\n{SHAPE}"
        );
        if self.drop_background {
            let _ = writeln!(
                out,
                "// include_background=False: drop class 0 from scores and targets first (C is then one less)."
            );
        }
        prepare(out, self.prepare);
        if self.smoothing != 0.0 {
            let _ = writeln!(
                out,
                "// Label smoothing: dense target = t * (1 - {0}) + {0} / C.",
                f(self.smoothing)
            );
        }
        let _ = writeln!(out, "let loss = {};", self.loss_code());
        self.write_reduce(out, value);
    }

    /// The loss's constructor.
    fn loss_code(&self) -> String {
        let alpha = class_alpha(&self.alpha);
        let loss = match self.kind {
            FocalKind::Softmax => format!(
                "SoftmaxFocal::new({alpha}, {}, {})?",
                f(self.gamma),
                weights(&self.weights)
            ),
            FocalKind::SoftmaxOnProbabilities => format!(
                "SoftmaxFocal::new({alpha}, {}, {})?.with_predictions(Predictions::Probabilities)",
                f(self.gamma),
                weights(&self.weights)
            ),
            FocalKind::OneVsRest(s) => format!(
                "OneVsRestFocal::new({alpha}, {}, {})?.with_soft_targets({})",
                f(self.gamma),
                weights(&self.weights),
                soft(s)
            ),
        };
        match self.clip {
            Some((min, max)) => format!("{loss}.with_probability_clip({}, {})?", f(min), f(max)),
            None => loss,
        }
    }

    /// The reduction, into `value`.
    fn write_reduce(&self, out: &mut String, value: &str) {
        let targets = targets(self.targets, self.ignore_index);
        let _ = match &self.reduce {
            FocalReduce::Elementwise | FocalReduce::Rows(..) => writeln!(
                out,
                "let shape = Shape::new(N, C, SPATIAL, {})?;\nlet mut {value} = [0.0f32; N * C * SPATIAL];\nloss.loss_elementwise(&shape, &input, {targets}, &mut {value})?;{}",
                layout(self.layout),
                if let FocalReduce::Rows(r, _) = self.reduce {
                    format!(
                        "\n// Keras: sum each pixel's C terms, then {} over the pixels.",
                        r.map_or("keep the rows", |r| reduction(r))
                    )
                } else {
                    String::new()
                }
            ),
            FocalReduce::MonaiSum => writeln!(
                out,
                "let shape = Shape::new(N, C, SPATIAL, {})?;\nlet mut sums = [0.0f32; N * C];\nloss.class_sums::<C>(&shape, &input, {targets}, &mut sums)?;\nlet {value}: f32 = sums.iter().map(|s| s / SPATIAL as f32).sum();",
                layout(self.layout)
            ),
            _ => {
                let finish = match &self.reduce {
                    FocalReduce::PerElementMean => "acc.total() / (N * C * SPATIAL) as f32",
                    FocalReduce::Sum => "acc.total()",
                    FocalReduce::PerPixelMean => "acc.mean_per_pixel()?",
                    FocalReduce::ClassMeans {
                        sum_each: true,
                        batch_only: true,
                        ..
                    } => {
                        "{ let mut s = [0.0f32; C]; acc.class_sums(&mut s)?; s.iter().map(|v| v / SPATIAL as f32).sum::<f32>() / C as f32 }"
                    }
                    FocalReduce::ClassMeans { sum_each: true, .. } => {
                        "{ let mut s = [0.0f32; C]; acc.class_sums(&mut s)?; s.iter().sum::<f32>() / C as f32 }"
                    }
                    _ => {
                        "{ let mut s = [0.0f32; C]; acc.class_sums(&mut s)?; s.iter().map(|v| v / acc.pixels() as f32).sum::<f32>() / C as f32 }"
                    }
                };
                writeln!(
                    out,
                    "let mut acc = ClassLossAccumulator::<_, C>::new(loss, C)?;\n// Push each sample (or any run of whole pixels of it) as it arrives:\nacc.push({}, &input, {targets})?;\nlet {value} = {finish};",
                    layout(self.layout)
                )
            }
        };
    }
}

/// How many statistics a plan computes and the `ClassOverlap` method computing them.
fn stats_call(pooled: bool) -> (&'static str, &'static str) {
    if pooled {
        ("C", "pooled_class_stats")
    } else {
        ("N * C", "class_stats")
    }
}

fn class_reduction(
    include_background: bool,
    w: &Option<ScalarOrList>,
    weighting: Weighting,
    empty: EmptyClass,
    r: Reduction,
) -> String {
    let weighting = match weighting {
        Weighting::Multiply => "Weighting::Multiply",
        Weighting::Normalize => "Weighting::Normalize",
    };
    let empty = match empty {
        EmptyClass::Formula => "EmptyClass::Formula",
        EmptyClass::Zero => "EmptyClass::Zero",
        EmptyClass::Skip => "EmptyClass::Skip",
    };
    format!(
        "ClassReduction {{ include_background: {include_background}, weights: {}, weighting: {weighting}, empty: {empty}, reduction: {} }}",
        weights(w),
        reduction(r)
    )
}

impl OverlapPlan {
    fn rust(&self, out: &mut String, value: &str) {
        let _ = writeln!(
            out,
            "use loss_core::dice::{{OverlapLoss, OverlapStats}};\nuse loss_core::multiclass::{{Activation, ClassOverlap, ClassReduction, EmptyClass, Intersection, Layout, Shape, Targets, Weighting}};\nuse loss_core::Reduction;\n{SHAPE}"
        );
        let (groups, call) = stats_call(self.pooled);
        let _ = writeln!(
            out,
            "let shape = Shape::new(N, C, SPATIAL, {})?;\nlet overlap = {};\nlet loss = {};\nlet mut stats = [OverlapStats::default(); {groups}];\noverlap.{call}::<C>(&shape, &input, {}, &mut stats)?;",
            layout(self.layout),
            class_overlap(&self.overlap),
            overlap_loss(&self.loss),
            targets(self.targets, self.ignore_index),
        );
        let _ = match &self.reduce {
            OverlapReduce::Classes(r) => {
                let red = class_reduction(
                    self.include_background,
                    &self.weights,
                    self.weighting,
                    self.empty,
                    r.unwrap_or(Reduction::Mean),
                );
                match r {
                    Some(_) => writeln!(
                        out,
                        "let reduction = {red};\nlet {value} = reduction.reduce(&loss, &stats, C)?;"
                    ),
                    None => writeln!(
                        out,
                        "let reduction = {red};\nlet mut {value} = [0.0f32; {groups}];\nreduction.losses(&loss, &stats, C, &mut {value})?;"
                    ),
                }
            }
            OverlapReduce::PerSample => writeln!(
                out,
                "// kornia macro: per sample, ClassReduction {{ weighting: Weighting::Normalize, empty: EmptyClass::Skip, .. }}.reduce(&loss, &stats[n * C..][..C], C) (1.0 when no class is present), then the mean over samples."
            ),
            OverlapReduce::Micro => writeln!(
                out,
                "// kornia micro: add the C classes' statistics of each sample, then loss.loss_from(&pooled), mean over samples."
            ),
            OverlapReduce::Smp {
                classes,
                log_loss,
                gamma,
                ..
            } => writeln!(
                out,
                "// smp: for each class{} with a non-empty target: {}; classes with an empty target count 0; mean over classes{}.",
                classes
                    .as_ref()
                    .map_or(String::new(), |c| format!(" in {c:?}")),
                if *log_loss {
                    "-ln(max(loss.score(s), eps))"
                } else {
                    "loss.loss_from(s)"
                },
                if *gamma == 1.0 {
                    String::new()
                } else {
                    format!(", raised to {}", f(*gamma))
                }
            ),
        };
    }
}

impl GeneralizedPlan {
    fn rust(&self, out: &mut String, value: &str) {
        let w = match self.loss_weight_type() {
            WeightType::Square => "WeightType::Square",
            WeightType::Simple => "WeightType::Simple",
            WeightType::Uniform => "WeightType::Uniform",
        };
        let (nr, dr) = self.loss_smoothing();
        let (groups, call) = stats_call(self.pooled);
        let background = if self.include_background {
            ""
        } else {
            ".with_include_background(false)"
        };
        let _ = writeln!(
            out,
            "use loss_core::dice::OverlapStats;\nuse loss_core::multiclass::{{Activation, ClassOverlap, GeneralizedDice, Intersection, Layout, Shape, Targets, WeightType}};\n{SHAPE}let shape = Shape::new(N, C, SPATIAL, Layout::ChannelsFirst)?;\nlet overlap = {};\nlet loss = GeneralizedDice::new({w}, {}, {})?{background};\nlet mut stats = [OverlapStats::default(); {groups}];\noverlap.{call}::<C>(&shape, &input, {}, &mut stats)?;\n// One value per sample (row of C statistics):\nlet {value} = loss.loss(&stats[..C])?;{}",
            class_overlap(&self.overlap),
            f(nr),
            f(dr),
            targets(self.targets, None),
            self.reduce.map_or(String::new(), |r| format!(
                "\n// ...then {} over the samples.",
                reduction(r)
            ))
        );
    }
}

impl FlatPlan {
    fn rust(&self, out: &mut String, value: &str) {
        let _ = writeln!(
            out,
            "use loss_core::dice::OverlapLoss;\nuse loss_core::Reduction;\nlet loss = {};",
            overlap_loss(&self.loss)
        );
        let _ = if self.axes == Axes::AllButBatch {
            writeln!(
                out,
                "let mut per_sample = [0.0f32; N];\nloss.loss_per_sample(&input, &target, N, &mut per_sample)?;\n{}",
                match self.reduce {
                    Some(r) => format!("let {value} = {}.reduce(&per_sample)?;", reduction(r)),
                    None => format!("let {value} = per_sample;"),
                }
            )
        } else {
            writeln!(out, "let {value} = loss.loss(&input, &target)?;")
        };
    }
}
