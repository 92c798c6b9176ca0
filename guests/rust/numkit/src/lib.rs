//! wasm2py example guest: the remaining scalar and list types. Its annotations travel
//! inside the module, in a custom section named `wasm2py` (no sidecar file).

use wasm2py_arena::{Pair, return_slice, typed_slice};

wasm2py_arena::export_arena!();

/// The annotations, written once: the custom section below is built from this text.
pub const SIGNATURES: &str = "\
# wasm2py annotations for numkit.wasm, carried in its `wasm2py` custom section.
/// x clamped to the range of i8.
clamp_i8(x: i16) -> i8
/// The low 8 bits of x.
wrap_u8(x: u16) -> u8
/// -x, wrapping (neg_i16(-32768) is -32768).
neg_i16(x: i16) -> i16
/// x / 2.
half(x: f32) -> f32
/// The negation of b.
not(b: bool) -> bool
/// Sum of xs.
sum_u16(xs: list[u16]) -> u64
/// The running sums of xs, wrapping at 64 bits.
prefix_sums(xs: list[i64]) -> list[i64]
/// [min, max] of xs; refuses an empty list.
minmax_i8(xs: list[i8]) -> list[i8]
/// The address p + n (arithmetic only, nothing is read).
ptr_add(p: ptr, n: u32) -> ptr
/// 2**64 - 1.
u64_max() -> u64
/// -2**63.
i64_min() -> i64
/// 2**32 - 1.
u32_top() -> u32
/// The dot product of a and b; NaN when their lengths differ.
dot(a: list[f32], b: list[f32]) -> f64
";

/// The custom section; its length comes from the text, so the two cannot drift apart.
#[cfg(target_arch = "wasm32")]
#[unsafe(link_section = "wasm2py")]
#[used]
static WASM2PY: [u8; SIGNATURES.len()] = *SIGNATURES.as_bytes().first_chunk().unwrap();

#[unsafe(no_mangle)]
pub extern "C" fn clamp_i8(x: i16) -> i8 {
    x.clamp(i8::MIN.into(), i8::MAX.into()) as i8
}

#[unsafe(no_mangle)]
pub extern "C" fn wrap_u8(x: u16) -> u8 {
    x as u8
}

#[unsafe(no_mangle)]
pub extern "C" fn neg_i16(x: i16) -> i16 {
    x.wrapping_neg()
}

#[unsafe(no_mangle)]
pub extern "C" fn half(x: f32) -> f32 {
    x / 2.0
}

/// Exported as `not` (a Python keyword: the generated method is `not_`).
#[unsafe(export_name = "not")]
pub extern "C" fn not_(b: bool) -> bool {
    !b
}

/// # Safety
/// `(ptr, count)` is `count` readable, aligned elements (any `ptr` when `count` is 0);
/// the same holds for every list parameter below.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sum_u16(ptr: *const u16, count: usize) -> u64 {
    let xs = unsafe { typed_slice(ptr, count) };
    xs.iter().map(|&x| u64::from(x)).sum()
}

/// # Safety
/// See [`sum_u16`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prefix_sums(ptr: *const i64, count: usize) -> *mut Pair {
    let xs = unsafe { typed_slice(ptr, count) };
    let sums: Vec<i64> = xs
        .iter()
        .scan(0i64, |acc, &x| {
            *acc = acc.wrapping_add(x);
            Some(*acc)
        })
        .collect();
    return_slice(&sums)
}

/// # Safety
/// See [`sum_u16`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn minmax_i8(ptr: *const i8, count: usize) -> *mut Pair {
    let xs = unsafe { typed_slice(ptr, count) };
    match (xs.iter().min(), xs.iter().max()) {
        (Some(&min), Some(&max)) => return_slice(&[min, max]),
        _ => std::ptr::null_mut(), // empty: refused
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn ptr_add(p: usize, n: u32) -> usize {
    p.wrapping_add(n as usize)
}

#[unsafe(no_mangle)]
pub extern "C" fn u64_max() -> u64 {
    u64::MAX
}

#[unsafe(no_mangle)]
pub extern "C" fn i64_min() -> i64 {
    i64::MIN
}

#[unsafe(no_mangle)]
pub extern "C" fn u32_top() -> u32 {
    0xFFFF_FFFF
}

/// # Safety
/// See [`sum_u16`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dot(a: *const f32, a_len: usize, b: *const f32, b_len: usize) -> f64 {
    if a_len != b_len {
        return f64::NAN;
    }
    let (a, b) = unsafe { (typed_slice(a, a_len), typed_slice(b, b_len)) };
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a list result (`None` for a refusal), then resets the arena.
    fn list<T: Copy>(pair: *mut Pair) -> Option<Vec<T>> {
        let out = unsafe { pair.as_ref() }
            .map(|p| unsafe { typed_slice(p.ptr as *const T, p.len) }.to_vec());
        wasm2py_arena::reset();
        out
    }

    #[test]
    fn scalars() {
        assert_eq!(
            (clamp_i8(300), clamp_i8(-300), clamp_i8(-5)),
            (127, -128, -5)
        );
        assert_eq!((wrap_u8(0x1ff), wrap_u8(7)), (0xff, 7));
        assert_eq!((neg_i16(5), neg_i16(i16::MIN)), (-5, i16::MIN));
        assert_eq!(half(3.0), 1.5);
        assert!(not_(false) && !not_(true));
        assert_eq!(ptr_add(0x1000, 0x10), 0x1010);
        assert_eq!(ptr_add(usize::MAX, 2), 1);
        assert_eq!(
            (u64_max(), i64_min(), u32_top()),
            (u64::MAX, i64::MIN, u32::MAX)
        );
    }

    #[test]
    fn lists() {
        let xs = [1u16, u16::MAX, 2];
        assert_eq!(unsafe { sum_u16(xs.as_ptr(), 3) }, 65_538);
        assert_eq!(unsafe { sum_u16(std::ptr::null(), 0) }, 0);

        let xs = [1i64, i64::MAX, 3];
        let sums = list::<i64>(unsafe { prefix_sums(xs.as_ptr(), 3) }).unwrap();
        assert_eq!(sums, [1, i64::MIN, i64::MIN + 3]);
        assert_eq!(
            list::<i64>(unsafe { prefix_sums(xs.as_ptr(), 0) }).unwrap(),
            []
        );

        let xs = [3i8, -128, 127, 0];
        assert_eq!(
            list::<i8>(unsafe { minmax_i8(xs.as_ptr(), 4) }).unwrap(),
            [-128, 127]
        );
        assert_eq!(list::<i8>(unsafe { minmax_i8(xs.as_ptr(), 0) }), None);
    }

    #[test]
    fn dot_product() {
        let (a, b) = ([1.0f32, 2.0, 3.0], [4.0f32, 5.0, 6.0]);
        assert_eq!(unsafe { dot(a.as_ptr(), 3, b.as_ptr(), 3) }, 32.0);
        assert!(unsafe { dot(a.as_ptr(), 3, b.as_ptr(), 2) }.is_nan());
        assert_eq!(
            unsafe { dot(std::ptr::null(), 0, std::ptr::null(), 0) },
            0.0
        );
    }

    #[test]
    fn signatures_name_every_export() {
        let names: Vec<&str> = SIGNATURES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("///"))
            .map(|l| &l[..l.find('(').unwrap()])
            .collect();
        assert_eq!(names.len(), 13);
        assert!(names.contains(&"not") && names.contains(&"dot"));
        assert!(SIGNATURES.ends_with('\n'));
    }
}
