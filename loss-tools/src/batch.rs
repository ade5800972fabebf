//! `loss-tools batch` and `loss-tools translate`: the machine interface of the framework
//! mappings ([`crate::frameworks`]).
//!
//! `batch` reads one JSON request per line and writes one JSON response per line, in order:
//! `{"id": ..., "loss": {"shape": [...], "data": [...]}}` or `{"id": ..., "error": "..."}`. A
//! bad line gets an error response and the run goes on. Blank lines are skipped.

use std::io::{self, BufRead, Write};

use serde_json::Value;

use crate::frameworks::{self, Request};

/// The response to one request line, and whether it succeeded.
pub fn respond(line: &str) -> (String, bool) {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return (
                error_line(&Value::Null, &format!("invalid JSON: {e}")),
                false,
            );
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let result = Request::from_json(&value)
        .map_err(|(_, e)| e)
        .and_then(|(_, request)| frameworks::evaluate(&request));
    match result {
        Ok(loss) => (
            format!("{{\"id\": {id}, \"loss\": {}}}", loss.to_json()),
            true,
        ),
        Err(e) => (error_line(&id, &e), false),
    }
}

fn error_line(id: &Value, message: &str) -> String {
    format!(
        "{{\"id\": {id}, \"error\": {}}}",
        Value::String(message.to_owned())
    )
}

/// Answers every request of `input` on `output`; returns `(requests, failures)`.
///
/// # Errors
/// Reading or writing fails.
pub fn run(input: impl BufRead, output: &mut impl Write) -> io::Result<(usize, usize)> {
    let (mut requests, mut failures) = (0, 0);
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (response, ok) = respond(&line);
        writeln!(output, "{response}")?;
        requests += 1;
        failures += usize::from(!ok);
    }
    output.flush()?;
    Ok((requests, failures))
}

/// The `loss-core` code that reproduces one request (its `inputs`, if any, are ignored).
///
/// # Errors
/// The request is not valid JSON, or names an unknown function or parameter.
pub fn translate(text: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let (_, request) = Request::from_json(&value).map_err(|(_, e)| e)?;
    let plan = frameworks::plan(&request.function, &request.params)?;
    let params = Value::Object(request.params.clone());
    Ok(format!(
        "// {}({})\n// loss-core code that reproduces it (`?` needs a function returning\n// Result<_, loss_core::Error>):\n{}",
        request.function,
        params,
        plan.rust()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_get_error_responses_and_the_run_goes_on() {
        let input = "{\"id\": \"a\", \"function\": \"torchvision.ops.sigmoid_focal_loss\", \"params\": {\"reduction\": \"sum\"}, \"inputs\": {\"inputs\": {\"shape\": [2], \"data\": [0.0, \"Infinity\"]}, \"targets\": {\"shape\": [2], \"data\": [1, 1]}}}\nnot json\n\n{\"id\": 7, \"function\": \"nope\"}\n";
        let mut out = Vec::new();
        let (requests, failures) = run(input.as_bytes(), &mut out).unwrap();
        assert_eq!((requests, failures), (3, 2));
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert!(lines[0].starts_with("{\"id\": \"a\", \"loss\": {\"shape\": [], \"data\": [0.043"));
        assert!(lines[1].starts_with("{\"id\": null, \"error\": \"invalid JSON"));
        assert!(lines[2].starts_with("{\"id\": 7, \"error\": \"unsupported function `nope`"));
    }

    #[test]
    fn unknown_parameters_are_errors() {
        let (line, ok) = respond(
            "{\"id\": \"x\", \"function\": \"monai.losses.DiceLoss\", \"params\": {\"smoth_nr\": 1}, \"inputs\": {}}",
        );
        assert!(!ok);
        assert!(line.contains("unsupported parameter `smoth_nr`"), "{line}");
    }
}
