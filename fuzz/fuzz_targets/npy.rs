//! The `.npy` reader on arbitrary bytes: an array or a one-line error, never a panic, and no
//! allocation the bytes cannot justify (libFuzzer's RSS and malloc limits catch one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use loss_tools::io::npy;

fuzz_target!(|data: &[u8]| {
    for limit in [None, Some(64)] {
        match npy::parse(data, limit) {
            Ok(a) => {
                let values: usize = a.shape.iter().product();
                assert!(
                    limit.is_none_or(|l| values <= l),
                    "{:?} past {limit:?}",
                    a.shape
                );
            }
            Err(e) => assert!(!e.contains('\n') && e.chars().count() <= 300, "{e:?}"),
        }
    }
});
