//! The code `loss-tools translate` prints for a request compiles (it is pasted below, and a test
//! checks that the pasted text is exactly what `translate` prints today) and gives the same
//! bits as `loss-tools batch` on the same inputs.

// The pasted code borrows its inputs as firmware does with arrays.
#![allow(clippy::needless_borrow)]

use std::collections::BTreeMap;

use loss_tools::frameworks::{Request, Tensor, TensorData, evaluate};

const SOURCE: &str = include_str!("translate.rs");

const TORCHVISION: &str =
    r#"{"function":"torchvision.ops.sigmoid_focal_loss","params":{"reduction":"mean"}}"#;
const MONAI_DICE: &str = r#"{"function":"monai.losses.DiceLoss","params":{"sigmoid":true,"to_onehot_y":true,"include_background":false}}"#;
const MONAI_FOCAL: &str = r#"{"function":"monai.losses.FocalLoss","params":{"use_softmax":true,"to_onehot_y":true,"alpha":0.25}}"#;
const KERAS_DICE: &str = r#"{"function":"keras.losses.Dice","params":{}}"#;
const KERAS_FOCAL: &str = r#"{"function":"keras.losses.CategoricalFocalCrossentropy","params":{}}"#;

const LOGITS: [f32; 12] = [
    2.5, -1.0, 0.25, -3.0, 4.0, 0.0, -0.5, 1.5, -2.0, 3.0, 0.75, -1.25,
];
const MASK: [f32; 12] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
const PROBS: [f32; 12] = [0.9, 0.1, 0.8, 0.0, 1.0, 0.3, 0.2, 0.7, 0.05, 0.95, 0.6, 0.4];
/// `LABELS` one-hot over 3 classes, pixel by pixel (channels-last).
const ONE_HOT: [f32; 12] = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
/// Class indices for 2 samples x 2 pixels (MONAI) and 1 sample x 4 pixels (softmax focal).
const LABELS: [u8; 4] = [0, 2, 1, 2];

#[rustfmt::skip] // the body is `translate` output, checked verbatim below
#[allow(clippy::needless_borrows_for_generic_args)] // `translate` borrows, as owned buffers need
fn torchvision_mean(input: &[f32], target: &[f32]) -> Result<f32, loss_core::Error> {
    use loss_core::focal::{SigmoidFocal, SoftTargets};
    let loss = SigmoidFocal::new(Some(0.25), 2.0)?.with_soft_targets(SoftTargets::Torchvision);
    let value = loss.loss(&input, &target)?;
    Ok(value)
}

#[rustfmt::skip] // the body is `translate` output, checked verbatim below
fn monai_dice(input: &[f32], labels: &[u8]) -> Result<f32, loss_core::Error> {
    const N: usize = 2;
    const C: usize = 3;
    const SPATIAL: usize = 2;
    use loss_core::Reduction;
    use loss_core::dice::{OverlapLoss, OverlapStats};
    use loss_core::multiclass::{Activation, ClassOverlap, ClassReduction, EmptyClass, Intersection, Layout, Shape, Targets, Weighting};
    // Sizes of your tensors: batch N, classes C, pixels per sample SPATIAL.

    let shape = Shape::new(N, C, SPATIAL, Layout::ChannelsFirst)?;
    let overlap = ClassOverlap { activation: Activation::Sigmoid, squared: false, intersection: Intersection::Product };
    let loss = OverlapLoss::dice().with_smoothing(1e-5, 1e-5)?;
    let mut stats = [OverlapStats::default(); N * C];
    overlap.class_stats::<C>(&shape, &input, Targets::labels(&labels), &mut stats)?;
    let reduction = ClassReduction { include_background: false, weights: None, weighting: Weighting::Multiply, empty: EmptyClass::Formula, reduction: Reduction::Mean };
    let value = reduction.reduce(&loss, &stats, C)?;
    Ok(value)
}

#[rustfmt::skip] // the body is `translate` output, checked verbatim below
fn monai_softmax_focal(input: &[f32], labels: &[u8]) -> Result<f32, loss_core::Error> {
    const N: usize = 1;
    const C: usize = 3;
    const SPATIAL: usize = 4;
    use loss_core::multiclass::{ClassAlpha, ClassLossAccumulator, Layout, SoftmaxFocal, Targets};
    // Sizes of your tensors: batch N, classes C, pixels per sample SPATIAL.

    let loss = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)?;
    let mut acc = ClassLossAccumulator::<_, C>::new(loss, C)?;
    // Push each sample (or any run of whole pixels of it) as it arrives:
    acc.push(Layout::ChannelsFirst, &input, Targets::labels(&labels))?;
    let value = acc.total() / (N * C * SPATIAL) as f32;
    Ok(value)
}

#[rustfmt::skip] // the body is `translate` output, checked verbatim below
#[allow(clippy::needless_borrows_for_generic_args)] // `translate` borrows, as owned buffers need
fn keras_dice(input: &[f32], target: &[f32]) -> Result<f32, loss_core::Error> {
    use loss_core::dice::OverlapLoss;
    let loss = OverlapLoss::dice().with_smoothing(0.0, 1e-7)?;
    let value = loss.loss(&input, &target)?;
    Ok(value)
}

#[rustfmt::skip] // `translate` output, then the reduction its last comment asks for
fn keras_categorical_focal(input: &[f32], target: &[f32]) -> Result<f32, loss_core::Error> {
    const N: usize = 1;
    const C: usize = 3;
    const SPATIAL: usize = 4;
    use loss_core::{Predictions, Reduction};
    use loss_core::multiclass::{ClassLoss, ClassAlpha, Layout, Shape, SoftmaxFocal, Targets};
    // Sizes of your tensors: batch N, classes C, pixels per sample SPATIAL.

    let loss = SoftmaxFocal::new(ClassAlpha::Uniform(0.25), 2.0, None)?.with_predictions(Predictions::Probabilities).with_probability_clip(1e-7, 0.9999999)?;
    let shape = Shape::new(N, C, SPATIAL, Layout::ChannelsLast)?;
    let mut value = [0.0f32; N * C * SPATIAL];
    loss.loss_elementwise(&shape, &input, Targets::dense(&target), &mut value)?;
    // Keras: sum each pixel's C terms, then Reduction::Mean over the pixels.
    let mut rows = [0.0f32; N * SPATIAL];
    for (row, terms) in rows.iter_mut().zip(value.chunks(C)) {
        *row = terms.iter().fold(0.0, |a, &t| a + t);
    }
    Reduction::Mean.reduce(&rows)
}

/// `translate`'s output without its comment header, line by line, without indentation.
fn translated(request: &str) -> Vec<String> {
    loss_tools::batch::translate(request)
        .expect("a supported request")
        .lines()
        .skip(3)
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn the_pasted_code_is_what_translate_prints() {
    let source: Vec<String> = SOURCE.lines().map(|l| l.trim().to_owned()).collect();
    for request in [
        TORCHVISION,
        MONAI_DICE,
        MONAI_FOCAL,
        KERAS_DICE,
        KERAS_FOCAL,
    ] {
        let code = translated(request);
        assert!(
            source.windows(code.len()).any(|w| w == code.as_slice()),
            "translate output changed; paste it again:\n{}",
            code.join("\n")
        );
    }
}

fn evaluate_with(request: &str, inputs: [(&str, Tensor); 2]) -> f32 {
    let value: serde_json::Value = serde_json::from_str(request).unwrap();
    let (_, mut req): (String, Request) = Request::from_json(&value).unwrap();
    req.inputs = inputs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<BTreeMap<_, _>>();
    let out = evaluate(&req).expect("evaluates");
    out.as_f32()[0]
}

fn labels(shape: Vec<usize>) -> Tensor {
    Tensor {
        shape,
        data: TensorData::I64(LABELS.iter().map(|&l| i64::from(l)).collect()),
    }
}

#[test]
fn translated_code_gives_the_batch_bits() {
    let cases = [
        (
            torchvision_mean(&LOGITS, &MASK).unwrap(),
            evaluate_with(
                TORCHVISION,
                [
                    ("inputs", Tensor::f32(vec![12], LOGITS.to_vec())),
                    ("targets", Tensor::f32(vec![12], MASK.to_vec())),
                ],
            ),
        ),
        (
            monai_dice(&LOGITS, &LABELS).unwrap(),
            evaluate_with(
                MONAI_DICE,
                [
                    ("input", Tensor::f32(vec![2, 3, 2], LOGITS.to_vec())),
                    ("target", labels(vec![2, 1, 2])),
                ],
            ),
        ),
        (
            monai_softmax_focal(&LOGITS, &LABELS).unwrap(),
            evaluate_with(
                MONAI_FOCAL,
                [
                    ("input", Tensor::f32(vec![1, 3, 4], LOGITS.to_vec())),
                    ("target", labels(vec![1, 1, 4])),
                ],
            ),
        ),
        (
            keras_dice(&PROBS, &MASK).unwrap(),
            evaluate_with(
                KERAS_DICE,
                [
                    ("y_pred", Tensor::f32(vec![3, 4], PROBS.to_vec())),
                    ("y_true", Tensor::f32(vec![3, 4], MASK.to_vec())),
                ],
            ),
        ),
        (
            keras_categorical_focal(&PROBS, &ONE_HOT).unwrap(),
            evaluate_with(
                KERAS_FOCAL,
                [
                    ("y_pred", Tensor::f32(vec![4, 3], PROBS.to_vec())),
                    ("y_true", Tensor::f32(vec![4, 3], ONE_HOT.to_vec())),
                ],
            ),
        ),
    ];
    for (i, (firmware, batch)) in cases.into_iter().enumerate() {
        assert_eq!(
            firmware.to_bits(),
            batch.to_bits(),
            "case {i}: {firmware} vs {batch}"
        );
    }
}
