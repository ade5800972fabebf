//! The committed header `include/loss_core.h` is what cbindgen generates from the crate now.
//! `LOSS_CORE_C_BLESS=1 cargo test -p loss-core-c --test header` rewrites it.

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = dir.join("include/loss_core.h");
    if std::env::var_os("LOSS_CORE_C_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "bindings/c/include/loss_core.h is stale: run \
         `LOSS_CORE_C_BLESS=1 cargo test -p loss-core-c --test header` and commit it"
    );
}
