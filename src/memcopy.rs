//! `memcpy` and `memmove` for the static musl build on x86_64, in place of musl's.
//!
//! musl's x86_64 `memcpy` runs `rep movsq` and then a `movsb` loop whatever the length, and both
//! are slow to start. A keep-alive `GET /health` makes about 67 copies, most of 1 to 36 bytes and
//! the longest 472 (counted with `perf probe` under benches/load.py), and musl's `memcpy` was
//! 14 % of the shipped binary's CPU time there, user and kernel together (`perf record`; README,
//! "Performance"). [`copy`] does what glibc's does: up to 512 bytes, unaligned loads and stores
//! of at most 64 bytes that overlap in the middle, so no rep prefix; longer copies with `rep
//! movsb`, which processors with ERMSB (Intel's since 2012, AMD's Zen) run at full speed.
//!
//! x86_64 only (lib.rs): `rep` is x86's, and musl's aarch64 `memcpy` is Arm's optimised one.
//!
//! Unsafe because it is raw memory: the only unsafe code in the crate. No loop of a variable
//! count and no load or store of more than 64 bytes, so that LLVM cannot turn either back into
//! a call to `memcpy`, that is, into a call to itself.

use std::ptr::{read_unaligned, write_unaligned};

/// Copies `n` bytes from `src` to `dest`. The two may overlap, as `memmove` allows.
///
/// # Safety
/// `src` must be valid for reads of `n` bytes and `dest` for writes of `n` bytes.
#[inline(always)]
pub unsafe fn copy(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: every access below is within the first `n` bytes of `src` or `dest`. Up to 128
    // bytes, every load is made before the first store, which makes an overlap harmless; longer
    // copies are unrolled only when the two do not overlap, else made by `rep movsb` in the
    // direction that an overlap needs.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                let (first, middle, last) = (*src, *src.add(n / 2), *src.add(n - 1));
                *dest = first;
                *dest.add(n / 2) = middle;
                *dest.add(n - 1) = last;
            }
            4..=7 => ends::<u32>(dest, src, n),
            8..=16 => ends::<u64>(dest, src, n),
            17..=32 => ends::<u128>(dest, src, n),
            33..=64 => ends::<[u128; 2]>(dest, src, n),
            65..=128 => ends::<[u128; 4]>(dest, src, n),
            129..=256 if disjoint(dest, src, n) => {
                for at in [0, n - 128] {
                    ends::<[u128; 4]>(dest.add(at), src.add(at), 128);
                }
            }
            257..=512 if disjoint(dest, src, n) => {
                for at in [0, 128, n - 256, n - 128] {
                    ends::<[u128; 4]>(dest.add(at), src.add(at), 128);
                }
            }
            _ if (dest as usize).wrapping_sub(src as usize) >= n => forward(dest, src, n),
            _ => backward(dest, src, n),
        }
    }
}

/// Copies the first and the last `size_of::<T>()` bytes of `n`, loads first: `n` must be from
/// that size to twice it, so that the two cover all `n` bytes.
#[inline(always)]
unsafe fn ends<T>(dest: *mut u8, src: *const u8, n: usize) {
    let tail = n - size_of::<T>();
    // SAFETY: the caller's `n` bytes of each, as `copy` is called.
    unsafe {
        let head = read_unaligned(src.cast::<T>());
        let end = read_unaligned(src.add(tail).cast::<T>());
        write_unaligned(dest.cast::<T>(), head);
        write_unaligned(dest.add(tail).cast::<T>(), end);
    }
}

/// Whether the `n` bytes at `dest` and at `src` do not overlap.
#[inline(always)]
fn disjoint(dest: *mut u8, src: *const u8, n: usize) -> bool {
    (dest as usize).abs_diff(src as usize) >= n
}

/// Copies from the first byte up, which is also right when `dest` starts below `src`.
#[inline(always)]
unsafe fn forward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: `rep movsb` copies `rcx` bytes from `rsi` to `rdi` upwards (the direction flag is
    // clear at every call, as the ABI requires).
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Copies from the last byte down, for `dest` starting inside the `n` bytes at `src`.
#[inline(always)]
unsafe fn backward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: with the direction flag set, `rep movsb` copies from the last byte down; it is
    // cleared again before the block ends, as the ABI requires.
    unsafe {
        std::arch::asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dest.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        );
    }
}

/// musl's `memcpy`, replaced: the linker takes these definitions and leaves musl's out (its
/// `memcpy.o` is pulled in only by its own `memmove`, replaced too).
#[cfg(target_env = "musl")]
mod exports {
    /// # Safety
    /// C's `memcpy` contract.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: C's contract is `copy`'s, less the overlap that `copy` also allows.
        unsafe { super::copy(dest, src, n) };
        dest
    }

    /// # Safety
    /// C's `memmove` contract.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: C's contract is `copy`'s.
        unsafe { super::copy(dest, src, n) };
        dest
    }
}

#[cfg(test)]
mod tests {
    use super::copy;

    /// Bytes that differ at every position, so that a byte copied to the wrong place shows.
    fn pattern(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + seed * 13 + 1) as u8).collect()
    }

    #[test]
    fn copies_every_length_to_600_between_any_alignments_and_touches_nothing_else() {
        for n in 0..=600 {
            for (src_at, dest_at) in [(0, 0), (1, 0), (0, 3), (5, 9), (15, 1), (8, 16)] {
                let src = pattern(src_at + n, 1);
                let mut dest = pattern(dest_at + n + 32, 2);
                let mut expected = dest.clone();
                expected[dest_at..dest_at + n].copy_from_slice(&src[src_at..]);
                unsafe { copy(dest.as_mut_ptr().add(dest_at), src.as_ptr().add(src_at), n) };
                assert_eq!(
                    dest, expected,
                    "{n} bytes from offset {src_at} to {dest_at}"
                );
            }
        }
    }

    #[test]
    fn overlapping_copies_give_what_memmove_gives_in_both_directions() {
        for n in 0..=600 {
            for shift in [1, 2, 7, 8, 15, 16, 31, 64, 129, 300] {
                // dest above src, then below it.
                for (src_at, dest_at) in [(0, shift), (shift, 0)] {
                    let mut buffer = pattern(n + shift + 16, 3);
                    let mut expected = buffer.clone();
                    expected.copy_within(src_at..src_at + n, dest_at);
                    let base = buffer.as_mut_ptr();
                    unsafe { copy(base.add(dest_at), base.add(src_at), n) };
                    assert_eq!(buffer, expected, "{n} bytes from {src_at} to {dest_at}");
                }
            }
        }
    }
}
