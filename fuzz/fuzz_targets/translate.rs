//! `translate` on arbitrary text (one request): the `loss-core` code for it or an error, never
//! a panic; the code names the request's function.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the command reads UTF-8 text: invalid bytes are refused before this
    };
    match loss_tools::batch::translate(text) {
        Ok(code) => assert!(code.starts_with("// "), "{code}"),
        Err(e) => assert!(!e.is_empty()),
    }
});
