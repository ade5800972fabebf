//! A dataset's numbers do not depend on how its files are ordered or partitioned: `eval`'s
//! per-file totals pooled in any order, in any grouping (as a distributed run merges partial
//! results), give the same bits, the serialized state included.

use loss_core::multiclass::Layout;
use loss_tools::input::geometry::Geometry;
use loss_tools::input::{Pair, TargetData};
use loss_tools::scoring::exact::ExactSum;
use loss_tools::scoring::spec::{Convention, LossArgs, LossName, Spec};
use loss_tools::scoring::summary::{ClassRow, OverallRow, summarise};
use loss_tools::scoring::totals::{Totals, of_pair};
use proptest::prelude::*;

/// One file: `classes` channels of `pixels` logits, a label map; `scale` spreads the logits'
/// magnitudes across files (focal sums from ~1e-3 to ~1e30), where a floating-point pooling
/// would depend on the order.
fn pair(classes: usize, logits: Vec<f32>, labels: Vec<i32>, scale: f32, name: usize) -> Pair {
    let pixels = labels.len();
    Pair {
        name: format!("p{name}.npy"),
        target_name: format!("t{name}.npy"),
        stem: format!("p{name}"),
        scores: logits.iter().map(|x| x * scale).collect(),
        geometry: Geometry {
            batch: 1,
            classes,
            height: 1,
            width: pixels,
            layout: Layout::ChannelsFirst,
        },
        layout_note: String::new(),
        prediction_kind: String::new(),
        target_kind: String::new(),
        targets: TargetData::Labels(labels),
    }
}

fn files(classes: usize) -> impl Strategy<Value = Vec<Pair>> {
    let file = (1usize..40).prop_flat_map(move |pixels| {
        (
            proptest::collection::vec(-8.0f32..8.0, pixels * classes),
            proptest::collection::vec(0..classes.max(2) as i32, pixels),
            prop_oneof![Just(1.0f32), Just(1e-3), Just(1e12), Just(1e28)],
        )
    });
    proptest::collection::vec(file, 1..12).prop_map(move |v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (l, t, s))| pair(classes, l, t, s, i))
            .collect()
    })
}

fn args(classes: usize) -> LossArgs {
    LossArgs {
        loss: Some(if classes == 1 {
            LossName::Focal
        } else {
            LossName::SoftmaxFocal
        }),
        convention: Convention::Monai,
        alpha: None,
        gamma: None,
        beta: None,
        smooth_nr: None,
        smooth_dr: None,
        threshold: None,
        exclude_background: false,
    }
}

/// Every number of a report, as bits.
fn bits(rows: &[ClassRow], overall: &OverallRow) -> Vec<u64> {
    let o = |x: Option<f64>| x.map_or(u64::MAX, f64::to_bits);
    let mut v: Vec<u64> = rows
        .iter()
        .flat_map(|r| [r.focal.to_bits(), r.overlap_loss.to_bits(), o(r.dice)])
        .collect();
    v.extend([
        overall.focal.to_bits(),
        o(overall.overlap_loss),
        o(overall.dice),
        o(overall.iou),
    ]);
    v
}

/// The pooled totals of `parts` (each a list of file indices), merged part by part.
fn pooled(totals: &[Totals], parts: &[Vec<usize>]) -> Totals {
    let mut all = Totals::default();
    for part in parts {
        let mut partial = Totals::default();
        for &i in part {
            partial.merge(&totals[i]).unwrap();
        }
        // Partial results travel between processes serialized.
        let text = serde_json::to_string(&partial).unwrap();
        all.merge(&serde_json::from_str(&text).unwrap()).unwrap();
    }
    all
}

/// A permutation of `0..n` and a split of it into parts, from random keys.
fn partition(n: usize, keys: &[(u32, u8)]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| keys[i % keys.len()].0.wrapping_mul(i as u32 + 1));
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); 4];
    for (k, &i) in order.iter().enumerate() {
        parts[usize::from(keys[k % keys.len()].1) % 4].push(i);
    }
    parts
}

fn check(classes: usize, files: &[Pair], keys: &[(u32, u8)]) -> Result<(), TestCaseError> {
    let spec = Spec::new(&args(classes), classes).unwrap();
    let names: Vec<String> = (0..classes).map(|c| format!("c{c}")).collect();
    let totals: Vec<Totals> = files
        .iter()
        .map(|p| of_pair(p, &spec, true, None).unwrap())
        .collect();
    let in_order = pooled(&totals, &[(0..files.len()).collect()]);
    let shuffled = pooled(&totals, &partition(files.len(), keys));
    prop_assert_eq!(&in_order, &shuffled);
    let (rows_a, all_a) = summarise(&in_order, &spec, &names);
    let (rows_b, all_b) = summarise(&shuffled, &spec, &names);
    prop_assert_eq!(bits(&rows_a, &all_a), bits(&rows_b, &all_b));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn binary_dataset_is_partition_independent(
        files in files(1),
        keys in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..16),
    ) {
        check(1, &files, &keys)?;
    }

    #[test]
    fn multiclass_dataset_is_partition_independent(
        files in files(3),
        keys in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..16),
    ) {
        check(3, &files, &keys)?;
    }

    /// Merging is commutative and associative, bit for bit, on arbitrary f32 values.
    #[test]
    fn exact_sums_merge_in_any_order(
        a in proptest::collection::vec(any::<f32>(), 0..20),
        b in proptest::collection::vec(any::<f32>(), 0..20),
        c in proptest::collection::vec(any::<f32>(), 0..20),
    ) {
        let (x, y, z) = (ExactSum::of(a.clone()), ExactSum::of(b.clone()), ExactSum::of(c.clone()));
        let mut left = x;
        left.merge(&y);
        left.merge(&z);
        let mut right = z;
        right.merge(&y);
        let mut yz = y;
        yz.merge(&z);
        let mut grouped = x;
        grouped.merge(&yz);
        right.merge(&x);
        prop_assert_eq!(left, right);
        prop_assert_eq!(left, grouped);
        let all = ExactSum::of(a.iter().chain(&b).chain(&c).copied());
        prop_assert_eq!(left.value().to_bits(), all.value().to_bits());
    }

    /// The value is the exact sum rounded once: checked against f64 on values whose exact
    /// sum f64 holds (no more than 2^29 apart in magnitude, few of them).
    #[test]
    fn exact_sum_is_the_rounded_exact_value(
        v in proptest::collection::vec(-1e6f32..1e6, 0..64),
    ) {
        let plain: f64 = v.iter().map(|&x| f64::from(x)).sum();
        let exact = ExactSum::of(v.iter().copied()).value();
        // f32 values in (-1e6, 1e6) that are multiples of 2^-29 or coarser sum exactly in f64;
        // smaller values are rare here, so compare within the f64 ulp of the magnitude.
        let bound = v.iter().map(|x| f64::from(x.abs())).sum::<f64>() * f64::EPSILON;
        prop_assert!((plain - exact).abs() <= bound);
    }
}

#[test]
fn totals_of_different_class_counts_do_not_merge() {
    let spec = |c| Spec::new(&args(c), c).unwrap();
    let one = of_pair(
        &pair(1, vec![0.5; 4], vec![0, 1, 1, 0], 1.0, 0),
        &spec(1),
        true,
        None,
    )
    .unwrap();
    let three = of_pair(
        &pair(3, vec![0.5; 12], vec![0, 1, 2, 0], 1.0, 1),
        &spec(3),
        true,
        None,
    )
    .unwrap();
    let mut t = three.clone();
    let err = t.merge(&one).unwrap_err();
    assert_eq!(err, "totals of 1 classes cannot merge with totals of 3");
    assert_eq!(t, three);
    let mut empty = Totals::default();
    empty.merge(&three).unwrap();
    empty.merge(&Totals::default()).unwrap();
    assert_eq!(empty, three);
}

/// Where a floating-point pooling depends on the order, the exact one does not.
#[test]
fn order_matters_for_floats_not_for_exact_sums() {
    let (big, one) = (1e30f32, 1.0f32);
    let float = |v: [f32; 3]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
    assert_ne!(float([big, -big, one]), float([big, one, -big]));
    assert_eq!(
        ExactSum::of([big, -big, one]),
        ExactSum::of([big, one, -big])
    );
    assert_eq!(ExactSum::of([big, one, -big]).value(), 1.0);
}
