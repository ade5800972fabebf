//! The golden cases through the C API, compiled by the host's C compiler: the generated C
//! cases are current, and a C program built against `include/loss_core.h` and the host
//! staticlib reproduces every case bit for bit (`golden/golden_eval.c`), plus the checks of
//! `golden/golden_extra.c`; the example of `docs/c.md` builds, runs and is the one the page
//! shows. Without `gcc` the C part is skipped with a message (CI has it).
//! `LOSS_CORE_C_BLESS=1` rewrites the generated file.

mod cgen;

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The generated cases as committed, and the names of the cases in it, in order.
fn generated() -> (String, Vec<&'static str>) {
    let (text, skipped) = cgen::render();
    let skipped_names: Vec<&str> = skipped.iter().map(|s| s.name).collect();
    let names = golden::CASES
        .iter()
        .map(|c| c.name)
        .filter(|n| !skipped_names.contains(n))
        .collect();
    (text, names)
}

#[test]
fn generated_cases_are_current() {
    let (text, _) = generated();
    let path = dir().join("golden/golden_cases.c");
    if std::env::var_os("LOSS_CORE_C_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write golden_cases.c");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "bindings/c/golden/golden_cases.c is stale: run \
         `LOSS_CORE_C_BLESS=1 cargo test -p loss-core-c --test golden` and commit it"
    );
}

#[test]
fn only_the_known_cases_are_left_out() {
    let (_, skipped) = cgen::render();
    for s in &skipped {
        println!("not in the C cases: {} ({})", s.name, s.why);
    }
    // The two DetSum cases (not in the C API), the capacity case (8 classes in Rust, 16
    // in C; `golden_extra.c` checks the C capacity) and the gradient cases (the C API has no
    // gradients yet).
    let gradients = golden::CASES
        .iter()
        .filter(|c| matches!(c.op, golden::Op::Grad { .. }))
        .count();
    assert!(gradients > 0);
    assert_eq!(
        skipped.len(),
        3 + gradients,
        "unexpected cases left out of the C golden set"
    );
    assert_eq!(
        skipped
            .iter()
            .filter(|s| s.why.contains("gradients"))
            .count(),
        gradients
    );
}

/// The host staticlib cargo built for this test run.
fn staticlib() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    let newest = std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("libloss_core_c-") && name.ends_with(".a")
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    newest.or_else(|| Some(deps.parent()?.join("libloss_core_c.a")).filter(|p| p.exists()))
}

#[test]
fn c_program_reproduces_every_golden_case() {
    if Command::new("gcc").arg("--version").output().is_err() {
        println!("SKIPPED: gcc is not installed; the C API's host test needs it");
        return;
    }
    let lib = staticlib().expect("the staticlib next to this test (libloss_core_c-*.a)");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loss_core_c_golden");
    let d = dir();
    let status = Command::new("gcc")
        .args([
            "-std=c99",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .arg("-Wno-overlength-strings")
        .arg("-I")
        .arg(d.join("include"))
        .arg("-I")
        .arg(d.join("golden"))
        .arg(d.join("golden/golden_cases.c"))
        .arg(d.join("golden/golden_eval.c"))
        .arg(d.join("golden/golden_extra.c"))
        .arg(d.join("golden/golden_all.c"))
        .arg(d.join("tests/host_main.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed to build the C test");
    let run = Command::new(&out).output().expect("run the C test");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let (_, names) = generated();
    let mut report = String::new();
    for line in stdout.lines() {
        let named = line
            .strip_prefix("FAIL ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| names.get(i));
        match named {
            Some(name) => report.push_str(&format!("{name}: {line}\n")),
            None => report.push_str(&format!("{line}\n")),
        }
    }
    println!("{report}");
    assert!(
        run.status.success(),
        "the C API differs from loss-core:\n{report}"
    );
    assert!(
        stdout.contains(&format!("C API golden: {} passed, 0 failed", names.len())),
        "unexpected summary:\n{report}"
    );
}

#[test]
fn docs_show_the_example_as_it_is() {
    let example = std::fs::read_to_string(dir().join("examples/tflm_int8.c")).expect("example");
    let docs = std::fs::read_to_string(dir().join("../../docs/c.md")).expect("docs/c.md");
    assert!(
        docs.contains(&example),
        "docs/c.md must show bindings/c/examples/tflm_int8.c verbatim"
    );
}

#[test]
fn the_example_runs_and_agrees_with_the_f32_calls() {
    if Command::new("gcc").arg("--version").output().is_err() {
        println!("SKIPPED: gcc is not installed; the C example needs it");
        return;
    }
    let lib = staticlib().expect("the staticlib next to this test (libloss_core_c-*.a)");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loss_core_c_example");
    let d = dir();
    let status = Command::new("gcc")
        .args([
            "-std=c99",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(d.join("include"))
        .arg(d.join("examples/tflm_int8.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed to build the example");
    let run = Command::new(&out).output().expect("run the example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(run.status.success(), "the example failed:\n{stdout}");
    assert!(
        stdout.contains("dice loss") && stdout.contains("(agree)"),
        "{stdout}"
    );
}
