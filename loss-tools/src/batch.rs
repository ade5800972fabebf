//! `loss-tools batch` and `loss-tools translate`: the machine interface of the framework
//! mappings ([`crate::frameworks`]).
//!
//! `batch` reads one JSON request per line and writes one JSON response per line, in order:
//! `{"id": ..., "loss": {"shape": [...], "data": [...]}}` or `{"id": ..., "error": "line N:
//! ..."}`. A request with `"grad": true` also gets `"grad": {"<prediction argument>": {"shape":
//! [...], "data": [...]}}`: the gradient of the output (summed when it is not a scalar) with
//! respect to the prediction, in its shape, as the framework's autograd gives it
//! ([`frameworks::GRAD_FUNCTIONS`]). A bad line gets an error response naming it and the run goes on. Blank lines are
//! skipped.

use std::io::{self, BufRead, Write};

use serde_json::Value;

use crate::frameworks::{self, Request};

/// The longest request line read, in bytes (a tensor of a few million values); a longer line
/// gets an error response and is skipped without being held in memory.
pub const MAX_LINE: usize = 64 << 20;

/// The response to one request line, and whether it succeeded.
pub fn respond(line: &str) -> (String, bool) {
    answer(line, "")
}

/// The response to a line, with `prefix` before an error message.
fn answer(line: &str, prefix: &str) -> (String, bool) {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return (
                error_line(&Value::Null, &format!("{prefix}invalid JSON: {e}")),
                false,
            );
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let result = Request::from_json(&value)
        .map_err(|(_, e)| e)
        .and_then(|(_, request)| frameworks::evaluate_with_grad(&request));
    match result {
        Ok((loss, None)) => (
            format!("{{\"id\": {id}, \"loss\": {}}}", loss.to_json()),
            true,
        ),
        Ok((loss, Some((name, grad)))) => (
            format!(
                "{{\"id\": {id}, \"loss\": {}, \"grad\": {{{}: {}}}}}",
                loss.to_json(),
                Value::String(name),
                grad.to_json()
            ),
            true,
        ),
        Err(e) => (error_line(&id, &format!("{prefix}{e}")), false),
    }
}

fn error_line(id: &Value, message: &str) -> String {
    format!(
        "{{\"id\": {id}, \"error\": {}}}",
        Value::String(message.to_owned())
    )
}

/// Why [`run`] stopped before the end of its input.
#[derive(Debug)]
pub enum RunError {
    /// Reading the requests failed at this line (1-based).
    Read {
        /// The line being read.
        line: usize,
        /// What failed.
        error: io::Error,
    },
    /// Writing a response failed.
    Write(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Read { line, error } => write!(f, "line {line}: cannot read: {error}"),
            Self::Write(error) => write!(f, "cannot write: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

/// What [`read_line`] found.
enum Line {
    /// The end of the input.
    End,
    /// A line longer than [`MAX_LINE`]: its first bytes were read, [`skip_line`] skips the
    /// rest.
    TooLong,
    /// A line, in the buffer without its line end.
    Read,
}

/// Reads one line of the input into `buf`.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let n = io::Read::take(&mut *input, MAX_LINE as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Line::End);
    }
    if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
        buf.clear();
        return Ok(Line::TooLong);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(Line::Read)
}

/// Skips the rest of a line without keeping it, a buffer at a time.
fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            input.consume(i + 1);
            return Ok(());
        }
        let len = chunk.len();
        input.consume(len);
    }
}

/// Answers every request of `input` on `output`, one response per non-blank line, in order;
/// returns `(requests, failures)`. A line that is not a request (invalid UTF-8 or JSON, longer
/// than [`MAX_LINE`], an unknown function, bad inputs) gets an error response starting with
/// `line N:` and the run goes on. A UTF-8 byte order mark before the first line is skipped.
///
/// # Errors
/// Reading the input or writing a response fails.
pub fn run(mut input: impl BufRead, output: &mut impl Write) -> Result<(usize, usize), RunError> {
    let (mut requests, mut failures) = (0, 0);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        let read = read_line(&mut input, &mut buf).map_err(|error| RunError::Read {
            line: number,
            error,
        })?;
        let (response, ok) = match &read {
            Line::End => break,
            Line::TooLong => (
                error_line(
                    &Value::Null,
                    &format!("line {number}: longer than {MAX_LINE} bytes"),
                ),
                false,
            ),
            Line::Read => {
                let bytes = if number == 1 {
                    buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
                } else {
                    &buf
                };
                match std::str::from_utf8(bytes) {
                    Err(e) => (
                        error_line(
                            &Value::Null,
                            &format!(
                                "line {number}: invalid UTF-8 at byte {}",
                                e.valid_up_to() + 1
                            ),
                        ),
                        false,
                    ),
                    Ok(line) if line.trim().is_empty() => continue,
                    Ok(line) => answer(line, &format!("line {number}: ")),
                }
            }
        };
        writeln!(output, "{response}").map_err(RunError::Write)?;
        requests += 1;
        failures += usize::from(!ok);
        if matches!(read, Line::TooLong) {
            // Answered before the rest is skipped: an endless line (`/dev/zero`) gets its error
            // at once.
            output.flush().map_err(RunError::Write)?;
            skip_line(&mut input).map_err(|error| RunError::Read {
                line: number,
                error,
            })?;
        }
    }
    output.flush().map_err(RunError::Write)?;
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
    fn grad_requests_get_the_gradient_by_the_prediction_name() {
        let (line, ok) = respond(
            "{\"id\": 1, \"function\": \"torchvision.ops.sigmoid_focal_loss\", \"grad\": true, \"params\": {\"reduction\": \"sum\", \"gamma\": 0.0, \"alpha\": -1}, \"inputs\": {\"inputs\": {\"shape\": [2, 1], \"data\": [0.0, 0.0]}, \"targets\": {\"shape\": [2, 1], \"data\": [1, 0]}}}",
        );
        assert!(ok, "{line}");
        // BCE: d/dx = sigmoid(x) - t.
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["grad"]["inputs"]["shape"], serde_json::json!([2, 1]));
        assert_eq!(
            value["grad"]["inputs"]["data"],
            serde_json::json!([-0.5, 0.5])
        );
        // Without `grad` there is no gradient; with it, a function without one is an error.
        let (line, _) = respond(
            "{\"id\": 2, \"function\": \"torchvision.ops.sigmoid_focal_loss\", \"inputs\": {\"inputs\": {\"shape\": [1], \"data\": [0.0]}, \"targets\": {\"shape\": [1], \"data\": [1]}}}",
        );
        assert!(!line.contains("grad"), "{line}");
        let (line, ok) = respond(
            "{\"id\": 3, \"function\": \"monai.losses.DiceLoss\", \"grad\": true, \"inputs\": {\"input\": {\"shape\": [1, 1, 2], \"data\": [0.5, 0.5]}, \"target\": {\"shape\": [1, 1, 2], \"data\": [1, 0]}}}",
        );
        assert!(
            !ok && line.contains("gradients are not supported"),
            "{line}"
        );
        let (line, ok) = respond("{\"id\": 4, \"function\": \"seed.dice_loss\", \"grad\": 1}");
        assert!(
            !ok && line.contains("`grad` must be true or false"),
            "{line}"
        );
    }

    #[test]
    fn bad_lines_get_error_responses_and_the_run_goes_on() {
        let input = "{\"id\": \"a\", \"function\": \"torchvision.ops.sigmoid_focal_loss\", \"params\": {\"reduction\": \"sum\"}, \"inputs\": {\"inputs\": {\"shape\": [2], \"data\": [0.0, \"Infinity\"]}, \"targets\": {\"shape\": [2], \"data\": [1, 1]}}}\nnot json\n\n{\"id\": 7, \"function\": \"nope\"}\n";
        let mut out = Vec::new();
        let (requests, failures) = run(input.as_bytes(), &mut out).unwrap();
        assert_eq!((requests, failures), (3, 2));
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert!(lines[0].starts_with("{\"id\": \"a\", \"loss\": {\"shape\": [], \"data\": [0.043"));
        assert!(lines[1].starts_with("{\"id\": null, \"error\": \"line 2: invalid JSON"));
        assert!(
            lines[2].starts_with("{\"id\": 7, \"error\": \"line 4: unsupported function `nope`")
        );
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
