// Panic handlers, one per kind of firmware (a binary picks exactly one with the macro).
// `include!`d by every board's `src/lib.rs`, after `exit` and `EXIT_PANIC`.

/// A panic handler that logs the panic with defmt and exits with [`EXIT_PANIC`].
#[macro_export]
macro_rules! defmt_panic_handler {
    () => {
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
            defmt::error!("panic: {}", defmt::Display2Format(info));
            $crate::exit($crate::EXIT_PANIC)
        }
    };
}

/// The link-time no-panic proof: the panic handler calls a function that exists nowhere, so
/// the firmware links only if the optimiser removed every panic path. A binary using it proves
/// that the code it runs (the `loss-core` calls, with inputs it cannot see through
/// `black_box`) can never panic.
#[macro_export]
macro_rules! no_panic_proof {
    () => {
        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
            unsafe extern "C" {
                // Deliberately undefined.
                fn loss_core_firmware_contains_a_panic_path() -> !;
            }
            // SAFETY: never called in a binary that links.
            unsafe { loss_core_firmware_contains_a_panic_path() }
        }
    };
}
