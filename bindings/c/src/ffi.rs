//! Pointer checks and the caller-allocated state storage.

use core::mem::{align_of, size_of};

use crate::status::{
    Fail, LC_BAD_ENUM, LC_BAD_LENGTH, LC_MISALIGNED, LC_NOT_INITIALIZED, LC_NULL_POINTER,
};

/// `n` elements at `p` as a slice (empty for `n == 0`, whatever `p`).
///
/// # Safety
/// The crate's safety contract: for `n > 0`, `p` points to `n` readable elements.
pub(crate) unsafe fn slice<'a, T>(p: *const T, n: usize) -> Result<&'a [T], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    check_ptr(p, n)?;
    // SAFETY: non-NULL, aligned, `n * size_of::<T>()` fits `isize`; the caller vouches for
    // the memory (the safety contract).
    Ok(unsafe { core::slice::from_raw_parts(p, n) })
}

/// `n` writable elements at `p` as a slice (empty for `n == 0`).
///
/// # Safety
/// As [`slice`], for writable memory not aliased during the call.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, n: usize) -> Result<&'a mut [T], Fail> {
    if n == 0 {
        return Ok(&mut []);
    }
    check_ptr(p, n)?;
    // SAFETY: as in `slice`, and the caller hands the memory over for the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(p, n) })
}

fn check_ptr<T>(p: *const T, n: usize) -> Result<(), Fail> {
    if p.is_null() {
        return Err(Fail(LC_NULL_POINTER));
    }
    if !(p as usize).is_multiple_of(align_of::<T>()) {
        return Err(Fail(LC_MISALIGNED));
    }
    match n.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Fail(LC_BAD_LENGTH)),
    }
}

/// The object at `p`, read by value.
///
/// # Safety
/// `p` is NULL or points to a valid `T`.
pub(crate) unsafe fn read<T: Copy>(p: *const T) -> Result<T, Fail> {
    check_ptr(p, 1)?;
    // SAFETY: non-NULL and aligned; the caller vouches for the object.
    Ok(unsafe { p.read() })
}

/// Checks a second out-pointer before anything is written, so that a call with several
/// results writes all or none.
pub(crate) fn out_ok<T>(p: *mut T) -> Result<(), Fail> {
    check_ptr(p.cast_const(), 1)
}

/// Writes `v` to the out-pointer `p`.
///
/// # Safety
/// `p` is NULL or points to writable memory for one `T`.
pub(crate) unsafe fn write<T>(p: *mut T, v: T) -> Result<(), Fail> {
    check_ptr(p, 1)?;
    // SAFETY: non-NULL and aligned; the caller hands the memory over.
    unsafe { p.write(v) };
    Ok(())
}

/// A caller-allocated state: a C struct `{ uint32_t magic; uint32_t reserved; uint64_t
/// storage[N]; }` holding a Rust value of type [`State::Inner`] in its storage.
///
/// # Safety
/// `Self` is `#[repr(C)]` with the fields `magic: u32`, `reserved: u32`, `storage: [u64; N]`,
/// and `Inner` fits the storage in size and alignment (the `state!` macro asserts both at
/// compile time).
pub(crate) unsafe trait State: Sized {
    /// The Rust state.
    type Inner;
    /// The word marking an initialised state of this type.
    const MAGIC: u32;
}

/// Implements [`State`] for a C state struct, with the compile-time size and alignment checks.
macro_rules! state {
    ($c:ty, $inner:ty, $magic:expr) => {
        const _: () = {
            assert!(
                ::core::mem::size_of::<$inner>() <= ::core::mem::size_of::<$c>() - 8,
                "the Rust state must fit the C storage"
            );
            assert!(::core::mem::align_of::<$inner>() <= 8);
            assert!(
                !::core::mem::needs_drop::<$inner>(),
                "states are plain data"
            );
            // The `uint64_t` storage aligns the struct to 8 on every supported target.
            assert!(::core::mem::align_of::<$c>() == 8);
        };
        // SAFETY: `$c` has the layout `State` requires (its definition beside this use), and
        // the assertions above check size and alignment.
        unsafe impl $crate::ffi::State for $c {
            type Inner = $inner;
            const MAGIC: u32 = $magic;
        }
    };
}
pub(crate) use state;

/// Offset of the storage in every state struct.
const STORAGE: usize = 8;

/// Writes `inner` into the state at `p` and marks it initialised.
///
/// # Safety
/// `p` is NULL or points to writable memory for one `S`.
pub(crate) unsafe fn init<S: State>(p: *mut S, inner: S::Inner) -> Result<(), Fail> {
    check_ptr(p, 1)?;
    let base = p.cast::<u8>();
    // SAFETY: `p` is valid for one `S`, whose storage starts at byte 8 (8-aligned) and holds
    // `S::Inner` (the `state!` assertions); the magic word is its first field.
    unsafe {
        base.add(STORAGE).cast::<S::Inner>().write(inner);
        base.cast::<u32>().write(S::MAGIC);
    }
    Ok(())
}

/// The Rust state in the initialised state at `p`.
///
/// # Safety
/// `p` is NULL or points to one `S`, not aliased mutably during the call.
pub(crate) unsafe fn get<'a, S: State>(p: *const S) -> Result<&'a S::Inner, Fail> {
    check_ptr(p, 1)?;
    let base = p.cast::<u8>();
    // SAFETY: `p` is valid for one `S`; its first field is the `u32` magic word.
    if unsafe { base.cast::<u32>().read() } != S::MAGIC {
        return Err(Fail(LC_NOT_INITIALIZED));
    }
    // SAFETY: the magic word says `init` wrote an `S::Inner` at the storage (types of equal
    // magic are the same type), and states are plain data without drop glue, so a byte copy
    // of one is valid too.
    Ok(unsafe { &*base.add(STORAGE).cast::<S::Inner>() })
}

/// The Rust state in the initialised state at `p`, mutably.
///
/// # Safety
/// As [`get`], and not aliased at all during the call.
pub(crate) unsafe fn get_mut<'a, S: State>(p: *mut S) -> Result<&'a mut S::Inner, Fail> {
    // SAFETY: forwarded contract.
    unsafe { get::<S>(p)? };
    // SAFETY: as in `get`; exclusive by the caller's contract.
    Ok(unsafe { &mut *p.cast::<u8>().add(STORAGE).cast::<S::Inner>() })
}

/// Reads an enum-like field: `Ok(values[v])`, or [`LC_BAD_ENUM`].
pub(crate) fn pick<T: Copy>(v: u32, values: &[T]) -> Result<T, Fail> {
    usize::try_from(v)
        .ok()
        .and_then(|i| values.get(i).copied())
        .ok_or(Fail(LC_BAD_ENUM))
}
