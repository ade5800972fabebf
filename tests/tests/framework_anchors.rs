//! All 30 upstream anchor cases (`tests/data/anchor-cases.json`, literal values asserted by the
//! MONAI, Keras, kornia and smp test suites) through the framework mappings of `loss-tools`,
//! which run on `loss-core`'s kernels, each within its upstream tolerance.

use std::collections::BTreeMap;

use loss_tools::frameworks::{Request, Tensor, TensorData, evaluate};
use serde_json::Value;

/// `(atol, rtol)` from the case's description of its upstream assertion.
fn tolerance(text: &str) -> (f64, f64) {
    let find = |key: &str| {
        text.find(key).map(|i| {
            let rest = &text[i + key.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
                .unwrap_or(rest.len());
            rest[..end].parse::<f64>().expect("a number")
        })
    };
    if let Some(places) = find("places=") {
        return (0.5 * 10f64.powf(-places), 0.0);
    }
    if text.contains("rtol=atol=") {
        let v = find("rtol=atol=").unwrap();
        return (v, v);
    }
    if let Some(abs) = find("abs=") {
        return (abs, 0.0);
    }
    if text.starts_with("doctest") {
        // Printed to two decimals in the docstring.
        return (5e-3, 0.0);
    }
    if text.contains("dtype-dependent") {
        // torch.testing.assert_close defaults for float32.
        return (1e-5, 1.3e-6);
    }
    (find("atol=").unwrap_or(0.0), find("rtol=").unwrap_or(0.0))
}

fn flatten(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.as_f64().expect("a number")),
    }
}

/// kornia's test names its inputs by role; the functional API calls them `pred` and `target`.
fn argument_name(name: &str) -> &str {
    match name {
        "pred_logits_BCHW" => "pred",
        "target_BHW" => "target",
        other => other,
    }
}

#[test]
fn every_anchor_case_reproduces_within_its_upstream_tolerance() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/anchor-cases.json"
    ))
    .expect("tests/data/anchor-cases.json");
    let cases: Value = serde_json::from_str(&text).expect("valid JSON");
    let cases = cases["cases"].as_array().expect("a case list");
    assert_eq!(cases.len(), 30);
    let mut failures = Vec::new();
    for case in cases {
        let id = &case["id"];
        let inputs: BTreeMap<String, Tensor> = case["inputs"]
            .as_object()
            .expect("inputs")
            .iter()
            .map(|(k, v)| {
                let name = argument_name(k).to_owned();
                let mut tensor = Tensor::from_json(&name, v).expect("a tensor");
                // kornia's test builds its labels with dtype torch.long.
                if k == "target_BHW" {
                    tensor.data = TensorData::I64(tensor.as_labels(&name).expect("class indices"));
                }
                (name, tensor)
            })
            .collect();
        let request = Request {
            function: case["loss"].as_str().unwrap().to_owned(),
            params: case["params"].as_object().unwrap().clone(),
            inputs,
            grad: false,
        };
        let mut expected = Vec::new();
        flatten(&case["expected"], &mut expected);
        let (atol, rtol) = tolerance(case["tolerance"].as_str().unwrap());
        match evaluate(&request) {
            Err(e) => failures.push(format!("case {id} ({}): error {e}", request.function)),
            Ok(got) => {
                let got = got.as_f32();
                if got.len() != expected.len() {
                    failures.push(format!(
                        "case {id}: {} values, expected {}",
                        got.len(),
                        expected.len()
                    ));
                    continue;
                }
                for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
                    let diff = (f64::from(g) - e).abs();
                    if diff > atol + rtol * e.abs() || g.is_nan() {
                        failures.push(format!(
                            "case {id} ({})[{i}]: got {g}, expected {e} (atol {atol}, rtol {rtol})",
                            request.function
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
