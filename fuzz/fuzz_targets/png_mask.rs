//! The PNG mask reader on arbitrary bytes: a mask or a one-line error, never a panic, and no
//! allocation the declared size cannot justify (libFuzzer's RSS and malloc limits catch one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use loss_tools::io::png;

fuzz_target!(|data: &[u8]| {
    for limit in [None, Some(64)] {
        match png::read_mask(data, limit) {
            Ok(m) => {
                assert_eq!(m.labels.len(), m.width * m.height);
                assert!(limit.is_none_or(|l| m.labels.len() <= l));
            }
            Err(e) => assert!(!e.contains('\n') && e.chars().count() <= 300, "{e:?}"),
        }
    }
});
