//! The head's gradient (`loss-core`'s `d loss / d logits`, then the example's chain rule)
//! against central finite differences of the loss, in f32, on the drifted head.

use finetune::{CLASSES, FEATURES, Head, LABELLED, TRAIN_AT, loss_and_grad};
use loss_core::Error;

fn frames() -> [u32; LABELLED] {
    core::array::from_fn(|i| TRAIN_AT + i as u32)
}

fn loss(head: &Head) -> f64 {
    let mut scratch = *head;
    f64::from(loss_and_grad(head, &frames(), &mut scratch).unwrap().loss)
}

#[test]
fn head_gradient_matches_central_differences() {
    let head = Head::pretrained();
    let mut grad = head;
    loss_and_grad(&head, &frames(), &mut grad).unwrap();
    // Parameters: the weights, then the biases, as (analytic, numeric).
    let h = 1e-2f32;
    let mut pairs = Vec::new();
    for c in 0..CLASSES {
        for k in 0..=FEATURES {
            let (mut up, mut down) = (head, head);
            let analytic = if k < FEATURES {
                up.weight[c][k] += h;
                down.weight[c][k] -= h;
                grad.weight[c][k]
            } else {
                up.bias[c] += h;
                down.bias[c] -= h;
                grad.bias[c]
            };
            let numeric = (loss(&up) - loss(&down)) / (2.0 * f64::from(h));
            pairs.push((f64::from(analytic), numeric));
        }
    }
    let scale = pairs.iter().map(|p| p.0.abs()).fold(0.0, f64::max);
    assert!(
        scale > 1e-3,
        "a vanishing gradient tests nothing: {pairs:?}"
    );
    for (i, (a, n)) in pairs.iter().enumerate() {
        // Measured worst: 1.1e-4 of the largest slope (f32 losses over 6144 terms, step 1e-2,
        // the curvature); dropping or mis-scaling either loss's term is far above this.
        assert!(
            (a - n).abs() <= 1e-3 * scale,
            "parameter {i}: analytic {a}, numeric {n}, scale {scale}"
        );
    }
}

#[test]
fn no_labelled_frame_is_an_error_not_a_panic() {
    let head = Head::pretrained();
    let mut grad = head;
    assert_eq!(loss_and_grad(&head, &[], &mut grad), Err(Error::EmptyInput));
    assert_eq!(
        finetune::sgd_step(&mut grad, &[], 1.0),
        Err(Error::EmptyInput)
    );
}
