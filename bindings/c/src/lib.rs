//! The C ABI of `loss-core`, for C and C++ firmware (Zephyr, STM32Cube, ESP-IDF, TensorFlow
//! Lite Micro applications): the same kernels, so the same bits as Rust and the host.
//!
//! Every name starts with `lc_` (`LC_` for constants). The header `include/loss_core.h` is
//! generated from this crate by cbindgen (`tests/header.rs` fails when it is stale), and
//! `docs/c.md` shows the API in use.
//!
//! # Conventions
//! - Every function returns an [`lc_status`]: [`LC_OK`], one code per `loss_core::Error`
//!   variant, or a code for a NULL pointer, a bad length, a misaligned pointer, an unknown
//!   enum value or a state that was never initialised. [`lc_status_message`] names it.
//! - Results go through out-pointers, written only on success.
//! - Configuration is a plain struct with a `lc_*_default()` function giving its documented
//!   defaults; enum-like fields are integers with `LC_*` constants, so an unknown value is a
//!   status, never undefined behaviour.
//! - State (accumulators, code counts, the monitor) lives in structs the caller allocates
//!   (statically or on the stack) with sizes the C compiler knows: a magic word and storage
//!   for the Rust state, sized for every target (a compile-time assertion checks each).
//!   `lc_*_init` must be called first; a state that was never initialised is
//!   [`LC_NOT_INITIALIZED`] (when its magic word is not there by chance). States are plain
//!   data: copying one copies its state (except `lc_frame_signals`, which lends the previous
//!   mask).
//! - Nothing allocates and no call panics.
//!
//! # Safety contract (every function)
//! A pointer with a length `n` must be NULL only when `n` is 0, and otherwise point to `n`
//! readable (or writable) elements of its type, suitably aligned (a misaligned pointer is
//! [`LC_MISALIGNED`]); single out-pointers and state pointers must point to one object of
//! their type; `bool` fields hold `true` or `false` (as C's `bool` does). Memory that a state
//! keeps a pointer to (the weights of a multi-class loss, the previous mask of the frame
//! signals) must stay valid while the state is used. The library holds no global state, so
//! distinct objects may be used from distinct threads.
//!
//! # Quantized per-class scores
//! The `*_push_codes_*` functions take an [`lc_class_quantization`] and build loss-core's
//! `ClassQuantization` on every call: per tensor that is a table of 256 `expf`, so push whole
//! frames (or large tiles) rather than single pixels.
#![no_std]
#![allow(non_camel_case_types)]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

// The code uses `core` only. On hosted targets the staticlib links `std` for its panic
// runtime (no path here reaches it); bare-metal targets get the handler below.
#[cfg(not(target_os = "none"))]
extern crate std;

#[cfg(not(any(feature = "f32-targets", feature = "mask-targets")))]
compile_error!("enable the feature `f32-targets`, `mask-targets` or both (the default)");

mod binary;
mod ffi;
mod monitor;
mod multi;
mod quant;
mod status;

pub use binary::*;
pub use monitor::*;
pub use multi::*;
pub use quant::*;
pub use status::*;

/// The largest class count of the multi-class states, the monitor's frame signals and the
/// per-class buffers of this API.
pub const LC_MAX_CLASSES: usize = 16;

/// Without the proof: a panic (none is reachable) stops in a loop.
#[cfg(all(target_os = "none", not(feature = "no-panic-proof")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// With the proof: the handler calls a function defined nowhere, so linking fails if any panic
/// path survives in the code a program calls (the linker keeps only what is reachable).
#[cfg(all(target_os = "none", feature = "no-panic-proof"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    unsafe extern "C" {
        /// Defined nowhere: a reference to it is a panic path that survived.
        fn lc_no_panic_proof_failed_a_panic_path_survived() -> !;
    }
    // SAFETY: never defined, so a program calling it does not link; nothing runs.
    unsafe { lc_no_panic_proof_failed_a_panic_path_survived() }
}
