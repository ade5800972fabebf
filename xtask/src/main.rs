//! `cargo xtask`: the firmware under `firmware/` on the emulated boards.
//!
//! - `cargo xtask qemu [--install]`: builds every board's firmware (the `api-*` binaries carry
//!   the link-time no-panic proof, so building them is a test), runs the golden vectors, the
//!   monitoring example, the stack probe, the API binaries and the fine-tuning example on QEMU,
//!   each under a timeout, and prints `N passed, N failed` per board and in total. On the M4F
//!   and the M0 it also builds the C API's static library (`bindings/c`, with its link-time
//!   no-panic proof) and a C firmware that runs the golden cases through it (`C API: N passed,
//!   N failed`).
//! - `cargo xtask size`: flash and static RAM of the firmware linking the whole API and of the
//!   one linking only binary focal + dice, per board, the same calls through the C API, and the
//!   stack use of each entry point.
//! - `cargo xtask cost`: instructions per element, counted exactly by a QEMU TCG plugin
//!   (`xtask/insncount.c`) between two marker functions, with the `powf` / `logf` baseline, and
//!   the instructions of one SGD step of the fine-tuning example.
//! - `cargo xtask lint`: `cargo fmt --check` of the firmware workspace and clippy with
//!   `-D warnings` for each board, with the board's own target (the firmware is not built for
//!   the host, so the root's `cargo clippy --workspace` cannot see it).
//!
//! Nothing is installed silently: a missing tool is named with the command that installs it,
//! and `--install` runs those commands.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about = "Firmware on QEMU: on-target tests, size and instruction counts; firmware lints")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build and run every on-target suite on every board.
    Qemu {
        /// Install what is missing (apt-get, rustup, cargo install) instead of only naming it.
        #[arg(long)]
        install: bool,
        /// Only this board (m4, m0, rv32).
        #[arg(long)]
        board: Option<String>,
    },
    /// Flash, static RAM and stack figures per board.
    Size {
        /// Install what is missing.
        #[arg(long)]
        install: bool,
        /// The release profile's `opt-level` for this run (`s`, as the firmware is built, or
        /// `z`, `2`, `3`); the stack figures are always at `s`.
        #[arg(long, default_value = "s")]
        opt_level: String,
    },
    /// Instructions per element per board, with the libm baseline.
    Cost {
        /// Install what is missing.
        #[arg(long)]
        install: bool,
        /// Only this board (m4, m0, rv32).
        #[arg(long)]
        board: Option<String>,
    },
    /// Format check and clippy (`-D warnings`) of the firmware, each board for its own target.
    Lint {
        /// Install what is missing (rustup components and targets).
        #[arg(long)]
        install: bool,
    },
}

/// An emulated board: its firmware directory, Rust target and QEMU command.
struct Board {
    name: &'static str,
    title: &'static str,
    target: &'static str,
    qemu: &'static [&'static str],
}

const BOARDS: [Board; 3] = [
    Board {
        name: "m4",
        title: "Cortex-M4F, thumbv7em-none-eabihf, QEMU mps2-an386",
        target: "thumbv7em-none-eabihf",
        qemu: &[
            "qemu-system-arm",
            "-cpu",
            "cortex-m4",
            "-machine",
            "mps2-an386",
        ],
    },
    Board {
        name: "m0",
        title: "Cortex-M0, thumbv6m-none-eabi (soft float), QEMU microbit",
        target: "thumbv6m-none-eabi",
        qemu: &["qemu-system-arm", "-machine", "microbit"],
    },
    Board {
        name: "rv32",
        title: "RISC-V, riscv32imac-unknown-none-elf, QEMU virt",
        target: "riscv32imac-unknown-none-elf",
        qemu: &["qemu-system-riscv32", "-machine", "virt", "-bios", "none"],
    },
];

/// Every QEMU run ends after this long, whatever the firmware does.
const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn firmware() -> PathBuf {
    root().join("firmware")
}

fn elf(board: &Board, bin: &str) -> PathBuf {
    firmware()
        .join("target")
        .join(board.target)
        .join("release")
        .join(bin)
}

/// The LLVM tools that `rustup component add llvm-tools` installs.
fn llvm_tool(name: &str) -> PathBuf {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin")
        .join(name)
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tool a command needs: what it is, whether it is present, the commands that install it.
type Requirement = (String, bool, Vec<String>);

/// The boards' Rust targets.
fn target_requirements() -> Vec<Requirement> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    BOARDS
        .iter()
        .map(|b| {
            (
                format!("Rust target {}", b.target),
                installed.lines().any(|l| l.trim() == b.target),
                vec![format!("rustup target add {}", b.target)],
            )
        })
        .collect()
}

/// What `lint` needs: rustfmt, clippy and the boards' targets.
fn lint_requirements() -> Vec<Requirement> {
    let works = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut reqs = vec![
        (
            "rustfmt".to_string(),
            works(&["fmt", "--version"]),
            vec!["rustup component add rustfmt".to_string()],
        ),
        (
            "clippy".to_string(),
            works(&["clippy", "--version"]),
            vec!["rustup component add clippy".to_string()],
        ),
    ];
    reqs.extend(target_requirements());
    reqs
}

/// What `qemu`, `size` and `cost` need (`cost` also gcc).
fn requirements(need_gcc: bool) -> Vec<Requirement> {
    let sudo = if on_path("id")
        && Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() != "0")
    {
        "sudo "
    } else {
        ""
    };
    let mut reqs = vec![
        (
            "qemu-system-arm and qemu-system-riscv32 (QEMU 7.2 from Debian)".to_string(),
            on_path("qemu-system-arm") && on_path("qemu-system-riscv32"),
            vec![
                format!("{sudo}apt-get update"),
                format!(
                    "{sudo}apt-get install -y --no-install-recommends qemu-system-arm qemu-system-misc"
                ),
            ],
        ),
        (
            "arm-none-eabi-gcc and newlib (the C API's firmware, from Debian)".to_string(),
            on_path("arm-none-eabi-gcc") && newlib_present(),
            vec![
                format!("{sudo}apt-get update"),
                format!(
                    "{sudo}apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi"
                ),
            ],
        ),
        (
            "defmt-print".to_string(),
            on_path("defmt-print"),
            vec!["cargo install defmt-print --locked".to_string()],
        ),
        (
            "llvm-tools (llvm-size, llvm-nm)".to_string(),
            llvm_tool("llvm-size").exists(),
            vec!["rustup component add llvm-tools".to_string()],
        ),
    ];
    reqs.extend(target_requirements());
    if need_gcc {
        reqs.push((
            "gcc (builds the instruction-counting plugin)".to_string(),
            on_path("gcc"),
            vec![
                format!("{sudo}apt-get update"),
                format!("{sudo}apt-get install -y --no-install-recommends gcc libc6-dev"),
            ],
        ));
    }
    reqs
}

/// Checks the tools; installs the missing ones with `install`, else names them and fails.
fn ensure_tools(install: bool, requirements: Vec<Requirement>) -> Result<(), String> {
    let missing: Vec<_> = requirements.into_iter().filter(|r| !r.1).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !install {
        let mut msg =
            String::from("missing tools (run with --install, or install them yourself):\n");
        for (what, _, cmds) in &missing {
            msg.push_str(&format!("  {what}: {}\n", cmds.join(" && ")));
        }
        return Err(msg);
    }
    for (what, _, cmds) in &missing {
        println!("installing {what}");
        for cmd in cmds {
            println!("  $ {cmd}");
            let ok = Command::new("sh")
                .args(["-c", cmd])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(format!("`{cmd}` failed"));
            }
        }
    }
    Ok(())
}

/// `cargo` in a directory of the firmware workspace, which has its own settings: the root's
/// RUSTFLAGS would replace the board's linker scripts, and a CARGO_TARGET_DIR would move the
/// ELFs away from `firmware/target/`, where the other commands look for them.
fn firmware_cargo(dir: &Path) -> Command {
    let mut cargo = Command::new("cargo");
    cargo
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    cargo
}

/// `cargo build --release` of one board's firmware (every binary).
fn build(board: &Board) -> Result<(), String> {
    let status = firmware_cargo(&firmware().join(board.name))
        .args(["build", "--release", "--quiet"])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building the {} firmware failed", board.name))
    }
}

/// Builds one binary of the board with the release profile's `opt-level` set to `opt_level`;
/// whether it linked. A no-panic-proof binary does not link where a panic path survives (its
/// panic handler calls an undefined symbol); any other failure is an error.
fn build_bin_at(board: &Board, bin: &str, opt_level: &str) -> Result<bool, String> {
    let opt_level = match opt_level {
        "s" | "z" => format!("\"{opt_level}\""),
        _ => opt_level.to_string(),
    };
    let out = firmware_cargo(&firmware().join(board.name))
        .args(["build", "--release", "--quiet", "--bin", bin, "--config"])
        .arg(format!("profile.release.opt-level={opt_level}"))
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(true)
    } else if stderr.contains("loss_core_firmware_contains_a_panic_path") {
        Ok(false)
    } else {
        Err(format!(
            "building {bin} for {} failed:\n{stderr}",
            board.name
        ))
    }
}

/// Output and exit code of one QEMU run.
struct Run {
    /// Decoded defmt log (or raw semihosting output for non-defmt firmware).
    log: String,
    /// QEMU's exit code; `None` if it was killed at the timeout.
    code: Option<i32>,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

fn wait_with_timeout(child: &mut Child, deadline: Instant) -> Option<i32> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return None,
        }
    }
}

/// Runs `bin` on the board's QEMU under [`QEMU_TIMEOUT`]; with `defmt`, stdout goes through
/// `defmt-print`. `extra` goes before `-kernel` (e.g. the plugin).
fn run_qemu(board: &Board, bin: &str, defmt: bool, extra: &[String]) -> Result<Run, String> {
    run_qemu_elf(board, &elf(board, bin), defmt, extra)
}

/// [`run_qemu`] of any ELF.
fn run_qemu_elf(board: &Board, elf: &Path, defmt: bool, extra: &[String]) -> Result<Run, String> {
    let mut qemu = Command::new(board.qemu[0]);
    qemu.args(&board.qemu[1..])
        .args([
            "-nographic",
            "-semihosting-config",
            "enable=on,target=native",
        ])
        .args(extra)
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let deadline = Instant::now() + QEMU_TIMEOUT;
    let mut child = qemu
        .spawn()
        .map_err(|e| format!("{}: {e}", board.qemu[0]))?;
    let stdout = child.stdout.take().ok_or("no QEMU stdout")?;
    if defmt {
        let decoder = Command::new("defmt-print")
            .arg("-e")
            .arg(elf)
            .stdin(stdout)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("defmt-print: {e}"))?;
        let code = wait_with_timeout(&mut child, deadline);
        let out = decoder
            .wait_with_output()
            .map_err(|e| format!("defmt-print: {e}"))?;
        let mut log = String::from_utf8_lossy(&out.stdout).to_string();
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(Run { log, code })
    } else {
        let mut stdout = stdout;
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let code = wait_with_timeout(&mut child, deadline);
        let log = reader.join().unwrap_or_default();
        Ok(Run { log, code })
    }
}

/// Builds and runs `firmware/quickstart` (docs/firmware.md) on the board; its checks count as
/// the board's: the tally of its `quickstart: N passed, N failed` line, or one failure.
fn quickstart(board: &Board) -> Result<(u64, u64), String> {
    let status = firmware_cargo(&firmware().join("quickstart"))
        .args(["build", "--release", "--quiet"])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        println!("  FAIL quickstart: build");
        return Ok((0, 1));
    }
    let run = run_qemu(board, "quickstart", true, &[])?;
    match tally(&run.log) {
        Some((p, f)) if run.ok() && f == 0 => {
            println!("  ok   quickstart (docs/firmware.md): {p} passed, {f} failed");
            Ok((p, f))
        }
        Some((p, f)) => {
            println!(
                "  FAIL quickstart: {p} passed, {f} failed ({})",
                describe(run.code)
            );
            print!("{}", indent(&run.log));
            Ok((p, f.max(1)))
        }
        None => {
            println!("  FAIL quickstart: no tally ({})", describe(run.code));
            print!("{}", indent(&run.log));
            Ok((0, 1))
        }
    }
}

/// Runs the fine-tuning example (docs/training.md) on the board; its checks count as the
/// board's: the tally of its `fine-tuning: N passed, N failed` line, or one failure. Also
/// prints its flash, static RAM and peak stack.
fn fine_tuning(board: &Board) -> Result<(u64, u64), String> {
    let run = run_qemu(board, "finetune", true, &[])?;
    let stack = run
        .log
        .lines()
        .find_map(|l| l.trim().strip_prefix("fine-tuning: peak stack "))
        .unwrap_or("? B");
    let size = match footprint(&elf(board, "finetune")) {
        Ok((flash, ram)) => format!("flash {flash} B, static RAM {ram} B, peak stack {stack}"),
        Err(e) => format!("no size ({e}), peak stack {stack}"),
    };
    let line = run
        .log
        .lines()
        .rev()
        .find(|l| l.contains("fine-tuning") && l.contains(" passed, "));
    match line.and_then(tally) {
        Some((p, f)) if run.ok() && f == 0 => {
            println!("  ok   finetune (docs/training.md): {p} passed, {f} failed; {size}");
            Ok((p, f))
        }
        Some((p, f)) => {
            println!(
                "  FAIL finetune: {p} passed, {f} failed ({})",
                describe(run.code)
            );
            print!("{}", indent(&run.log));
            Ok((p, f.max(1)))
        }
        None => {
            println!("  FAIL finetune: no tally ({})", describe(run.code));
            print!("{}", indent(&run.log));
            Ok((0, 1))
        }
    }
}

/// The golden firmware's flash and static RAM and the run's peak stack (its
/// `golden run: peak stack N B` line), for the golden line of `qemu`.
fn golden_footprint(board: &Board, log: &str) -> String {
    let stack = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("golden run: peak stack "))
        .unwrap_or("? B");
    match footprint(&elf(board, "golden")) {
        Ok((flash, ram)) => format!("flash {flash} B, static RAM {ram} B, peak stack {stack}"),
        Err(e) => format!("no size ({e}), peak stack {stack}"),
    }
}

/// The last `[label:] N passed, N failed` line of a log.
fn tally(log: &str) -> Option<(u64, u64)> {
    log.lines().rev().find_map(|line| {
        let line = line.trim();
        let (p, rest) = line.split_once(" passed, ")?;
        let f = rest.strip_suffix(" failed")?;
        // A label may stand before the count (`quickstart: 5 passed, 0 failed`).
        let p = p.rsplit([' ', ':']).next()?;
        Some((p.trim().parse().ok()?, f.trim().parse().ok()?))
    })
}

fn describe(code: Option<i32>) -> String {
    match code {
        Some(0) => "exit 0".into(),
        Some(101) => "exit 101 (panic)".into(),
        Some(102) => "exit 102 (HardFault / trap)".into(),
        Some(c) => format!("exit {c}"),
        None => format!("killed after {} s", QEMU_TIMEOUT.as_secs()),
    }
}

fn qemu(install: bool, only: Option<&str>) -> Result<(u64, u64), String> {
    ensure_tools(install, board_requirements(false, only))?;
    let (mut passed_all, mut failed_all) = (0, 0);
    for board in BOARDS.iter().filter(|b| only.is_none_or(|o| o == b.name)) {
        println!("{} ({}):", board.name, board.title);
        let (mut passed, mut failed) = (0u64, 0u64);
        // Building links api-full, api-min and the other proofs, whose panic handler references an undefined
        // symbol: a build failure here is also a failed no-panic proof.
        if let Err(e) = build(board) {
            println!("  FAIL build (or link-time no-panic proof): {e}");
            failed += 1;
        } else {
            let golden = run_qemu(board, "golden", true, &[])?;
            match tally(&golden.log) {
                Some((p, f)) => {
                    println!(
                        "  golden vectors: {p} passed, {f} failed ({}); {}",
                        describe(golden.code),
                        golden_footprint(board, &golden.log)
                    );
                    passed += p;
                    failed += f;
                    if f > 0 {
                        print!("{}", indent(&golden.log));
                    }
                    // A crash after the tally line still fails the board.
                    if !golden.ok() && f == 0 {
                        failed += 1;
                    }
                }
                None => {
                    println!(
                        "  FAIL golden vectors: no tally ({})",
                        describe(golden.code)
                    );
                    print!("{}", indent(&golden.log));
                    failed += 1;
                }
            }
            for (bin, defmt, what) in [
                (
                    "monitor",
                    true,
                    "monitoring example, alarm at the expected frame",
                ),
                ("stack", true, "stack probe"),
                ("api-full", false, "whole API, link-time no-panic proof"),
                (
                    "api-stream",
                    false,
                    "streamed binary focal + dice, link-time no-panic proof",
                ),
                (
                    "api-int8-hard",
                    false,
                    "int8 binary focal + dice, bit mask, link-time no-panic proof",
                ),
                (
                    "api-min",
                    false,
                    "binary focal + dice, link-time no-panic proof",
                ),
                (
                    "api-hard",
                    false,
                    "binary focal + dice, bit mask, link-time no-panic proof",
                ),
                (
                    "api-monitor",
                    false,
                    "monitor on four signals, link-time no-panic proof",
                ),
            ] {
                let run = run_qemu(board, bin, defmt, &[])?;
                // The monitor's alarm must fire at the frame the firmware expects (the log
                // is checked too, not only the exit code).
                let alarm = if bin == "monitor" {
                    alarm_frame(&run.log)
                } else {
                    Ok(())
                };
                if run.ok() && alarm.is_ok() {
                    passed += 1;
                    println!("  ok   {bin}: {what}");
                } else {
                    failed += 1;
                    let why = alarm.err().unwrap_or_else(|| describe(run.code));
                    println!("  FAIL {bin}: {what} ({why})");
                    print!("{}", indent(&run.log));
                }
            }
            let (p, f) = fine_tuning(board)?;
            passed += p;
            failed += f;
        }
        if c_flags(board).is_some() {
            let (p, f) = c_api(board)?;
            passed += p;
            failed += f;
        }
        // The quick-start firmware targets the nRF51 of the micro:bit, the M0 board's chip.
        if board.name == "m0" {
            let (p, f) = quickstart(board)?;
            passed += p;
            failed += f;
        }
        println!("{passed} passed, {failed} failed");
        passed_all += passed;
        failed_all += failed;
    }
    println!("total:");
    println!("{passed_all} passed, {failed_all} failed");
    Ok((passed_all, failed_all))
}

/// Whether newlib's C library for arm-none-eabi is installed (gcc finds `libc.a`).
fn newlib_present() -> bool {
    Command::new("arm-none-eabi-gcc")
        .arg("-print-file-name=libc.a")
        .output()
        .is_ok_and(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_absolute())
}

/// The C API's directory.
fn capi() -> PathBuf {
    root().join("bindings").join("c")
}

/// arm-none-eabi-gcc's flags for a board with a C firmware (`None`: no C firmware, as for
/// RISC-V, whose cross gcc Debian does not pair with newlib).
fn c_flags(board: &Board) -> Option<&'static [&'static str]> {
    match board.name {
        "m4" => Some(&[
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
        ]),
        "m0" => Some(&["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"]),
        _ => None,
    }
}

/// The root workspace's target directory (cargo's, or `CARGO_TARGET_DIR`).
fn root_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The C library's feature sets: everything (the default); f32 targets only, with everything
/// else (what a firmware that passes no mask builds, docs/c.md); and the lean profile: f32
/// targets only, without the soft-target conventions other than torchvision's, non-integer
/// gamma and the dice variants (the calls of `api_min.c` and nothing more).
const C_ALL_TARGETS: &[&str] = &["--features", "no-panic-proof"];
const C_F32_TARGETS: &[&str] = &[
    "--no-default-features",
    "--features",
    "f32-targets,soft-conventions,real-gamma,overlap-variants,no-panic-proof",
];
const C_LEAN: &[&str] = &[
    "--no-default-features",
    "--features",
    "f32-targets,no-panic-proof",
];

/// Builds `libloss_core_c.a` for the board with the `c-firmware` profile, the given features
/// and the link-time no-panic proof (its panic handler calls an undefined symbol, so a C
/// program that reaches a panic path does not link). Each build replaces the last one's archive.
fn c_library(board: &Board, features: &[&str]) -> Result<PathBuf, String> {
    let status = Command::new("cargo")
        .current_dir(root())
        .args([
            "build",
            "--quiet",
            "-p",
            "loss-core-c",
            "--profile",
            "c-firmware",
            "--target",
            board.target,
        ])
        .args(features)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the C API library for {} failed",
            board.target
        ));
    }
    Ok(root_target()
        .join(board.target)
        .join("c-firmware")
        .join("libloss_core_c.a"))
}

/// Links C sources of `bindings/c` against the library into `out`; the linker's complaint
/// when it fails (an undefined `lc_no_panic_proof_…` symbol means a panic path survived).
fn c_link(
    board: &Board,
    lib: &Path,
    sources: &[&str],
    defines: &[String],
    out: &Path,
) -> Result<(), String> {
    let flags = c_flags(board).ok_or("no C firmware for this board")?;
    let dir = capi();
    let fw = dir.join("firmware");
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let output = Command::new("arm-none-eabi-gcc")
        .args(flags)
        .args([
            "-std=c99",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-ffunction-sections",
            "-fdata-sections",
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-Wl,--no-warn-execstack",
        ])
        .arg("-L")
        .arg(&fw)
        .arg("-T")
        .arg(fw.join(format!("{}.ld", board.name)))
        .arg("-I")
        .arg(dir.join("include"))
        .arg("-I")
        .arg(dir.join("golden"))
        .arg("-I")
        .arg(&fw)
        .args(defines)
        .args(sources.iter().map(|s| dir.join(s)))
        .arg(lib)
        .args(["-lc", "-lgcc", "-o"])
        .arg(out)
        .output()
        .map_err(|e| format!("arm-none-eabi-gcc: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

/// The C firmware's images for a board: all the golden cases at once, or on the M0 (256 KiB
/// of flash) one part of them per image (`-DG_PART=k`, the extra checks with part 0).
fn c_images(board: &Board) -> Vec<(String, Vec<String>)> {
    if board.name == "m0" {
        (0..4)
            .map(|k| (format!("golden-part{k}"), vec![format!("-DG_PART={k}")]))
            .collect()
    } else {
        vec![("golden".to_string(), Vec::new())]
    }
}

/// Builds the C API's library and golden firmware for the board and runs it on QEMU: the
/// tally of its `C API: N passed, N failed` lines (one failure if it does not build or crashes).
fn c_api(board: &Board) -> Result<(u64, u64), String> {
    let what = "C API (C firmware on libloss_core_c.a, link-time no-panic proof)";
    let lib = match c_library(board, C_ALL_TARGETS) {
        Ok(lib) => lib,
        Err(e) => {
            println!("  FAIL {what}: {e}");
            return Ok((0, 1));
        }
    };
    let (mut passed, mut failed, mut stack, mut flash) = (0, 0, 0u64, 0u64);
    let images = c_images(board);
    for (name, defines) in &images {
        let out = root_target().join("c-api").join(board.name).join(name);
        let sources = [
            "golden/golden_cases.c",
            "golden/golden_eval.c",
            "golden/golden_extra.c",
            "golden/golden_all.c",
            "firmware/main.c",
            "firmware/startup.c",
        ];
        if let Err(e) = c_link(board, &lib, &sources, defines, &out) {
            println!("  FAIL {what}: {name} does not build or link:");
            print!("{}", indent(&e));
            return Ok((passed, failed + 1));
        }
        flash = flash.max(footprint(&out).map_or(0, |(f, _)| f));
        let run = run_qemu_elf(board, &out, false, &[])?;
        match tally(&run.log) {
            Some((p, f)) => {
                passed += p;
                failed += f;
                if !run.ok() && f == 0 {
                    failed += 1;
                }
                if f > 0 || !run.ok() {
                    println!("  FAIL {what}: {name} ({})", describe(run.code));
                    print!("{}", indent(&run.log));
                }
            }
            None => {
                println!("  FAIL {what}: {name}, no tally ({})", describe(run.code));
                print!("{}", indent(&run.log));
                failed += 1;
            }
        }
        let peak = run
            .log
            .lines()
            .find_map(|l| l.split_once("peak stack ").map(|(_, r)| r))
            .and_then(|r| r.trim_end_matches(" B").trim().parse::<u64>().ok())
            .unwrap_or(0);
        stack = stack.max(peak);
    }
    // The library with f32 targets only, then the lean profile: `api_min.c` (and on the lean
    // profile `lean_check.c`, its LC_UNSUPPORTED cases) exit 0 when every call does what it
    // should; each links with the no-panic proof.
    for (features, tag, profile, programs) in [
        (C_F32_TARGETS, "f32", "f32-targets only", &["api_min"][..]),
        (
            C_LEAN,
            "lean",
            "the lean profile",
            &["api_min", "lean_check"][..],
        ),
    ] {
        let lib = c_library(board, features);
        for program in programs {
            let elf = root_target()
                .join("c-api")
                .join(board.name)
                .join(format!("{}-{tag}", program.replace('_', "-")));
            let source = format!("firmware/{program}.c");
            let run = lib.clone().and_then(|lib| {
                c_link(board, &lib, &[&source, "firmware/startup.c"], &[], &elf)?;
                run_qemu_elf(board, &elf, false, &[])
            });
            match run {
                Ok(run) if run.ok() => passed += 1,
                Ok(run) => {
                    println!(
                        "  FAIL {what}: {program}.c on {profile} ({})",
                        describe(run.code)
                    );
                    print!("{}", indent(&run.log));
                    failed += 1;
                }
                Err(e) => {
                    println!("  FAIL {what}: {program}.c on {profile}: {e}");
                    failed += 1;
                }
            }
        }
    }
    println!(
        "  {what}: {passed} passed, {failed} failed ({} golden image{}, api_min.c on f32 targets only, api_min.c and lean_check.c on the lean profile; largest flash {flash} B, peak stack {stack} B)",
        images.len(),
        if images.len() == 1 { "" } else { "s" }
    );
    Ok((passed, failed))
}

/// (flash, static RAM) of an ELF.
type Footprint = (u64, u64);

/// Footprints of the C skeleton `api_base.c`, of the C API's `api_min.c` with the default
/// library, of the same with the library of f32 targets only, and with the lean profile, on
/// the board.
fn c_size(board: &Board) -> Result<Option<[Footprint; 4]>, String> {
    if c_flags(board).is_none() {
        return Ok(None);
    }
    let dir = root_target().join("c-api").join(board.name);
    let (base, min, f32s, lean) = (
        dir.join("api-base"),
        dir.join("api-min"),
        dir.join("api-min-f32"),
        dir.join("api-min-lean"),
    );
    let lib = c_library(board, C_ALL_TARGETS)?;
    let skeleton = ["firmware/api_base.c", "firmware/startup.c"];
    let calls = ["firmware/api_min.c", "firmware/startup.c"];
    c_link(board, &lib, &skeleton, &[], &base)?;
    c_link(board, &lib, &calls, &[], &min)?;
    let lib = c_library(board, C_F32_TARGETS)?;
    c_link(board, &lib, &calls, &[], &f32s)?;
    let lib = c_library(board, C_LEAN)?;
    c_link(board, &lib, &calls, &[], &lean)?;
    Ok(Some([
        footprint(&base)?,
        footprint(&min)?,
        footprint(&f32s)?,
        footprint(&lean)?,
    ]))
}

/// Checks the monitoring firmware's `alarm at frame A (expected E)` line: `A == E`.
fn alarm_frame(log: &str) -> Result<(), String> {
    let line = log
        .lines()
        .find_map(|l| l.split_once("alarm at frame ").map(|(_, rest)| rest))
        .ok_or("no `alarm at frame` line")?;
    let (fired, expected) = line
        .trim_end()
        .strip_suffix(')')
        .and_then(|l| l.split_once(" (expected "))
        .ok_or_else(|| format!("unreadable alarm line `{line}`"))?;
    if fired == expected {
        Ok(())
    } else {
        Err(format!("alarm at frame {fired}, expected {expected}"))
    }
}

fn indent(log: &str) -> String {
    log.lines().map(|l| format!("    | {l}\n")).collect()
}

/// Section sizes of an ELF from `llvm-size -A`.
fn sections(elf: &Path) -> Result<BTreeMap<String, u64>, String> {
    let out = Command::new(llvm_tool("llvm-size"))
        .arg("-A")
        .arg(elf)
        .output()
        .map_err(|e| format!("llvm-size: {e}"))?;
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.split_whitespace();
        if let (Some(name), Some(size)) = (parts.next(), parts.next())
            && name.starts_with('.')
            && let Ok(size) = size.parse::<u64>()
        {
            map.insert(name.to_string(), size);
        }
    }
    Ok(map)
}

/// (flash, static RAM): flash = code + read-only data + initialised data (what is programmed),
/// RAM = initialised + zeroed data (the stack is not static and is reported separately).
fn footprint(elf: &Path) -> Result<(u64, u64), String> {
    let s = sections(elf)?;
    let sum = |names: &[&str]| {
        names
            .iter()
            .map(|n| s.get(*n).copied().unwrap_or(0))
            .sum::<u64>()
    };
    let flash = sum(&[
        ".vector_table",
        ".text",
        ".init",
        ".init.rust",
        ".trap",
        ".trap.rust",
        ".rodata",
        ".srodata",
        ".data",
        ".sdata",
    ]);
    let ram = sum(&[".data", ".sdata", ".bss", ".sbss", ".uninit"]);
    Ok((flash, ram))
}

fn size(install: bool, opt_level: &str) -> Result<(), String> {
    ensure_tools(install, requirements(false))?;
    println!(
        "Flash (code + rodata + data) and static RAM (data + bss), bytes; release, opt-level {opt_level}, LTO."
    );
    println!(
        "\"loss-core\" = the firmware minus the same skeleton without loss-core (api-base).\n"
    );
    println!("| board | firmware | flash | static RAM | loss-core flash |");
    println!("|---|---|---:|---:|---:|");
    let mut stacks = Vec::new();
    let mut compare = Vec::new();
    for board in &BOARDS {
        let mut base_flash = None;
        let mut rust_min = None;
        for (bin, what) in [
            ("api-base", "skeleton only"),
            ("api-full", "whole API"),
            ("api-min", "binary focal + dice, one-shot"),
            ("api-hard", "binary focal + dice, one-shot, hard (bit) mask"),
            ("api-stream", "binary focal + dice, streamed"),
            ("api-both", "binary focal + dice, one-shot and streamed"),
            ("api-int8-hard", "int8 binary focal + dice, hard (bit) mask"),
            ("api-monitor", "monitor, 4 signals"),
        ] {
            if !build_bin_at(board, bin, opt_level)? {
                println!(
                    "| {} | {what} (`{bin}`) | does not link: a panic path survives | | |",
                    board.name
                );
                continue;
            }
            let (flash, ram) = footprint(&elf(board, bin))?;
            let base = *base_flash.get_or_insert(flash);
            if bin == "api-min" {
                rust_min = Some(flash.saturating_sub(base));
            }
            println!(
                "| {} | {what} (`{bin}`) | {flash} | {ram} | {} |",
                board.name,
                flash.saturating_sub(base)
            );
        }
        // The same calls through the C API: the C skeleton, then binary focal + dice (the
        // library's share is the difference, as for the Rust rows). The C library is built with
        // its own profile (`c-firmware`: opt-level s, LTO), whatever `--opt-level` says.
        if let Some(
            [
                (base, base_ram),
                (flash, ram),
                (f32s, f32s_ram),
                (lean, lean_ram),
            ],
        ) = c_size(board)?
        {
            println!(
                "| {} | C skeleton only (`bindings/c/firmware/api_base.c`) | {base} | {base_ram} | 0 |",
                board.name
            );
            println!(
                "| {} | C API: binary focal + dice, one-shot (`api_min.c`) | {flash} | {ram} | {} |",
                board.name,
                flash.saturating_sub(base)
            );
            println!(
                "| {} | C API, f32 targets only: the same (`api_min.c`) | {f32s} | {f32s_ram} | {} |",
                board.name,
                f32s.saturating_sub(base)
            );
            println!(
                "| {} | C API, lean profile: the same (`api_min.c`) | {lean} | {lean_ram} | {} |",
                board.name,
                lean.saturating_sub(base)
            );
            if let Some(rust) = rust_min {
                compare.push((
                    board.name,
                    flash.saturating_sub(base),
                    f32s.saturating_sub(base),
                    lean.saturating_sub(base),
                    rust,
                ));
            }
        }
        // The stack probe runs as the firmware is built (opt-level s).
        build(board)?;
        let run = run_qemu(board, "stack", true, &[])?;
        if !run.ok() {
            return Err(format!(
                "stack probe on {} failed:\n{}",
                board.name, run.log
            ));
        }
        stacks.push((board.name, run.log));
    }
    if !compare.is_empty() {
        println!(
            "\nBinary focal + dice, one-shot: the C API's library share against Rust's `api-min`:\n"
        );
        let pct = |c: u64, rust: u64| (c as f64 / rust.max(1) as f64 - 1.0) * 100.0;
        for &(board, c, f32s, lean, rust) in &compare {
            println!(
                "- {board}: C API {c} B ({:+.1} %), f32 targets only {f32s} B ({:+.1} %), lean profile {lean} B ({:+.1} %), Rust {rust} B",
                pct(c, rust),
                pct(f32s, rust),
                pct(lean, rust)
            );
        }
    }
    println!("\nStack use per entry point (bytes, callees included; stack painting on QEMU):\n");
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order = Vec::new();
    for (_, log) in &stacks {
        for line in log.lines() {
            if let Some(rest) = line.trim().strip_prefix("stack ")
                && let Some((bytes, name)) = rest.split_once(' ')
            {
                let name = name.split(" (result").next().unwrap_or(name).to_string();
                if !rows.contains_key(&name) {
                    order.push(name.clone());
                }
                rows.entry(name).or_default().push(bytes.to_string());
            }
        }
    }
    println!("| entry point | {} |", BOARDS.map(|b| b.name).join(" | "));
    println!("|---|{}", "---:|".repeat(BOARDS.len()));
    for name in order {
        println!("| {name} | {} |", rows[&name].join(" | "));
    }
    Ok(())
}

/// Builds the instruction-counting plugin into `firmware/target/`.
fn plugin() -> Result<PathBuf, String> {
    let src = root().join("xtask/insncount.c");
    let out = firmware().join("target/libinsncount.so");
    std::fs::create_dir_all(firmware().join("target")).map_err(|e| e.to_string())?;
    let ok = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(out)
    } else {
        Err("gcc could not build the plugin".into())
    }
}

fn symbol(elf: &Path, name: &str) -> Result<String, String> {
    let out = Command::new(llvm_tool("llvm-nm"))
        .arg(elf)
        .output()
        .map_err(|e| format!("llvm-nm: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut p = l.split_whitespace();
            let addr = p.next()?;
            let _kind = p.next()?;
            (p.next()? == name).then(|| format!("0x{addr}"))
        })
        .ok_or_else(|| format!("no symbol {name} in {}", elf.display()))
}

/// Elements per kernel in the cost firmware (`fw_common::data::N`).
const COST_N: f64 = 4096.0;

/// [`requirements`] with the Rust targets of the boards `only` selects (all by default).
fn board_requirements(need_gcc: bool, only: Option<&str>) -> Vec<Requirement> {
    let skipped: Vec<String> = BOARDS
        .iter()
        .filter(|b| only.is_some_and(|o| o != b.name))
        .map(|b| format!("Rust target {}", b.target))
        .collect();
    requirements(need_gcc)
        .into_iter()
        .filter(|(what, _, _)| !skipped.contains(what))
        .collect()
}

fn cost(install: bool, only: Option<&str>) -> Result<(), String> {
    ensure_tools(install, board_requirements(true, only))?;
    let plugin = plugin()?;
    let mut table: Vec<(String, Vec<f64>)> = Vec::new();
    let boards: Vec<&Board> = BOARDS
        .iter()
        .filter(|b| only.is_none_or(|o| o == b.name))
        .collect();
    if boards.is_empty() {
        return Err(format!("no board named {}", only.unwrap_or("?")));
    }
    let mut steps = Vec::new();
    for (bi, board) in boards.iter().copied().enumerate() {
        build(board)?;
        steps.push(step_instructions(board, &plugin)?);
        let (run, counts) = counted_run(board, "cost", &plugin)?;
        let windows: Vec<(usize, String)> = run
            .log
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("window ")?;
                let (n, name) = rest.split_once(' ')?;
                Some((n.parse().ok()?, name.to_string()))
            })
            .collect();
        if counts.len() != windows.len() {
            return Err(format!(
                "{}: {} windows logged but {} counted",
                board.name,
                windows.len(),
                counts.len()
            ));
        }
        for (pair, c) in windows.chunks(2).zip(counts.chunks(2)) {
            let (Some((0, name)), Some(&c0), Some(&cn)) = (pair.first(), c.first(), c.get(1))
            else {
                return Err("windows out of order".into());
            };
            let per = (cn as f64 - c0 as f64) / COST_N;
            match table.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push(per),
                None if bi == 0 => table.push((name.clone(), vec![per])),
                None => return Err(format!("kernel {name} missing on the first board")),
            }
        }
    }
    println!(
        "Instructions per element (exact count, QEMU TCG plugin; (window(N) - window(0)) / N, N = 4096;"
    );
    println!("multi-class: per score, i.e. per pixel x class; 1024 pixels x 4 classes):\n");
    let names: Vec<&str> = boards.iter().map(|b| b.name).collect();
    println!("| kernel | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(boards.len()));
    for (name, v) in &table {
        let cells: Vec<String> = v.iter().map(|x| format!("{x:.1}")).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!("\nBaseline / loss-core (above 1: loss-core executes fewer instructions):\n");
    println!("| kernel | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(boards.len()));
    for (name, v) in &table {
        if name.starts_with("baseline") {
            continue;
        }
        let base = table
            .iter()
            .find(|(n, _)| n.strip_prefix("baseline: ") == Some(name.as_str()));
        if let Some((_, b)) = base {
            let cells: Vec<String> = b
                .iter()
                .zip(v)
                .map(|(b, o)| format!("{:.2}", b / o))
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    println!(
        "\nOne SGD step of the fine-tuning example (docs/training.md: two labelled 32x32 frames, both passes, the head's update):\n"
    );
    println!("| | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(boards.len()));
    let cells: Vec<String> = steps.iter().map(u64::to_string).collect();
    println!("| instructions per step | {} |", cells.join(" | "));
    println!("\nLoss and gradient / loss alone (the issue's goal: at most 1.6 on the M4F):\n");
    println!("| kernel | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(boards.len()));
    for (name, v) in &table {
        let Some(alone) = name
            .strip_suffix(" (two passes)")
            .or_else(|| name.strip_suffix(" (one shot)"))
            .unwrap_or(name)
            .split_once(" + grad")
            .map(|(a, b)| format!("{a}{b}"))
        else {
            continue;
        };
        if let Some((_, a)) = table.iter().find(|(n, _)| *n == alone) {
            let cells: Vec<String> = v
                .iter()
                .zip(a)
                .map(|(g, a)| format!("{:.2}", g / a))
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    Ok(())
}

/// Runs `bin` on the board under the instruction-counting plugin, which watches the ELF's
/// `bench_start` / `bench_stop` markers: the decoded log and the count of each window.
fn counted_run(board: &Board, bin: &str, plugin: &Path) -> Result<(Run, Vec<u64>), String> {
    let elf = elf(board, bin);
    let (start, stop) = (symbol(&elf, "bench_start")?, symbol(&elf, "bench_stop")?);
    let log_path = firmware().join(format!("target/insncount-{bin}-{}.log", board.name));
    let _ = std::fs::remove_file(&log_path);
    let extra = vec![
        "-plugin".to_string(),
        format!("{},start={start},stop={stop}", plugin.display()),
        "-d".to_string(),
        "plugin".to_string(),
        "-D".to_string(),
        log_path.display().to_string(),
    ];
    let run = run_qemu(board, bin, true, &extra)?;
    if !run.ok() {
        return Err(format!(
            "{bin} firmware on {} failed:\n{}",
            board.name, run.log
        ));
    }
    let plugin_log = std::fs::read_to_string(&log_path).map_err(|e| e.to_string())?;
    let counts = plugin_log
        .lines()
        .filter_map(|l| {
            l.strip_prefix("insncount: window ")?
                .strip_suffix(" insns")?
                .parse()
                .ok()
        })
        .collect();
    Ok((run, counts))
}

/// Instructions of the fine-tuning firmware's timed SGD step (its one window between the
/// markers).
fn step_instructions(board: &Board, plugin: &Path) -> Result<u64, String> {
    let (_, counts) = counted_run(board, "finetune", plugin)?;
    match counts[..] {
        [n] => Ok(n),
        _ => Err(format!(
            "{}: the fine-tuning firmware should count one window, not {}",
            board.name,
            counts.len()
        )),
    }
}

/// `cargo fmt --check` of the firmware workspace, then clippy with `-D warnings` from each
/// board's directory, whose `.cargo/config.toml` selects the board's target. Runs every check
/// and returns whether all passed.
fn lint(install: bool) -> Result<bool, String> {
    ensure_tools(install, lint_requirements())?;
    let mut checks: Vec<(String, PathBuf, Vec<&str>)> = vec![(
        "firmware: cargo fmt --all -- --check".to_string(),
        firmware(),
        vec!["fmt", "--all", "--", "--check"],
    )];
    for board in &BOARDS {
        checks.push((
            format!(
                "firmware/{}: cargo clippy --release --all-targets -- -D warnings ({})",
                board.name, board.target
            ),
            firmware().join(board.name),
            vec![
                "clippy",
                "--release",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ));
    }
    checks.push((
        "firmware/quickstart: cargo clippy --release -- -D warnings (thumbv6m-none-eabi)"
            .to_string(),
        firmware().join("quickstart"),
        vec!["clippy", "--release", "--", "-D", "warnings"],
    ));
    let mut failed = Vec::new();
    for (what, dir, args) in &checks {
        println!("{what}");
        let ok = firmware_cargo(dir)
            .args(args)
            .status()
            .map_err(|e| format!("cargo: {e}"))?
            .success();
        if !ok {
            failed.push(what.as_str());
        }
    }
    for what in &failed {
        println!("FAIL {what}");
    }
    println!(
        "{} passed, {} failed",
        checks.len() - failed.len(),
        failed.len()
    );
    Ok(failed.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Qemu { install, board } => {
            qemu(install, board.as_deref()).map(|(_, failed)| failed == 0)
        }
        Cmd::Size { install, opt_level } => size(install, &opt_level).map(|()| true),
        Cmd::Cost { install, board } => cost(install, board.as_deref()).map(|()| true),
        Cmd::Lint { install } => lint(install),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}
