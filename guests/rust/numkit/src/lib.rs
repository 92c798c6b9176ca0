//! wasm2py example guest: the remaining scalar and list types, written in safe Rust with
//! `wasm2py-guest`. Its annotations travel inside the module, in the custom section named
//! `wasm2py` that `#[wasm2py_guest::export]` writes (no sidecar file).

use wasm2py_guest::export;

/// x clamped to the range of i8.
#[export]
pub fn clamp_i8(x: i16) -> i8 {
    x.clamp(i8::MIN.into(), i8::MAX.into()) as i8
}

/// The low 8 bits of x.
#[export]
pub fn wrap_u8(x: u16) -> u8 {
    x as u8
}

/// -x, wrapping (neg_i16(-32768) is -32768).
#[export]
pub fn neg_i16(x: i16) -> i16 {
    x.wrapping_neg()
}

/// x / 2.
#[export]
pub fn half(x: f32) -> f32 {
    x / 2.0
}

/// The negation of b.
#[export]
pub fn not(b: bool) -> bool {
    // Exported as `not`, a Python keyword: the generated method is `not_`.
    !b
}

/// Sum of xs.
#[export]
pub fn sum_u16(xs: &[u16]) -> u64 {
    xs.iter().map(|&x| u64::from(x)).sum()
}

/// The running sums of xs, wrapping at 64 bits.
#[export]
pub fn prefix_sums(xs: &[i64]) -> Vec<i64> {
    xs.iter()
        .scan(0i64, |acc, &x| {
            *acc = acc.wrapping_add(x);
            Some(*acc)
        })
        .collect()
}

/// [min, max] of xs; refuses an empty list.
#[export]
pub fn minmax_i8(xs: &[i8]) -> Result<Vec<i8>, String> {
    match (xs.iter().min(), xs.iter().max()) {
        (Some(&min), Some(&max)) => Ok(vec![min, max]),
        _ => Err("the list is empty: it has no minimum".to_string()),
    }
}

/// The address p + n (arithmetic only, nothing is read).
#[export]
pub fn ptr_add(p: usize, n: u32) -> usize {
    p.wrapping_add(n as usize)
}

/// 2**64 - 1.
#[export]
pub fn u64_max() -> u64 {
    u64::MAX
}

/// -2**63.
#[export]
pub fn i64_min() -> i64 {
    i64::MIN
}

/// 2**32 - 1.
#[export]
pub fn u32_top() -> u32 {
    0xFFFF_FFFF
}

/// The dot product of a and b; NaN when their lengths differ. The f64 products are summed
/// in four lanes (element i into lane i % 4, in order), then the lanes in order: four
/// independent sums run about four times as fast as one chain of additions.
#[export]
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    let mut lanes = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (a4.remainder(), b4.remainder());
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            lanes[k] += f64::from(x[k]) * f64::from(y[k]);
        }
    }
    for (k, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        lanes[k] += f64::from(x) * f64::from(y);
    }
    lanes.iter().sum()
}

/// Every element of xs times k, as an array (the SDK's `#[export(array)]`).
#[export(array)]
pub fn scaled(xs: &[f64], k: f64) -> Vec<f64> {
    xs.iter().map(|x| x * k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm2py_guest::{Pair, typed_slice};

    /// Reads a list result (`None` for null), then resets the arena.
    fn list<T: Copy>(pair: *mut Pair) -> Option<Vec<T>> {
        let out = unsafe { pair.as_ref() }
            .map(|p| unsafe { typed_slice(p.ptr as *const T, p.len) }.to_vec());
        wasm2py_guest::reset();
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
        assert!(not(false) && !not(true));
        assert_eq!(ptr_add(0x1000, 0x10), 0x1010);
        assert_eq!(ptr_add(usize::MAX, 2), 1);
        assert_eq!(
            (u64_max(), i64_min(), u32_top()),
            (u64::MAX, i64::MIN, u32::MAX)
        );
    }

    #[test]
    fn lists() {
        assert_eq!(sum_u16(&[1, u16::MAX, 2]), 65_538);
        assert_eq!(unsafe { __wasm2py_export_sum_u16(std::ptr::null(), 0) }, 0);

        let xs = [1i64, i64::MAX, 3];
        let sums = list::<i64>(unsafe { __wasm2py_export_prefix_sums(xs.as_ptr(), 3) });
        assert_eq!(sums.unwrap(), [1, i64::MIN, i64::MIN + 3]);
        assert_eq!(prefix_sums(&[]), []);

        assert_eq!(minmax_i8(&[3, -128, 127, 0]).unwrap(), [-128, 127]);
        let xs = [0i8; 1];
        assert_eq!(
            list::<i8>(unsafe { __wasm2py_export_minmax_i8(xs.as_ptr(), 0) }),
            None
        );
        assert_eq!(
            wasm2py_guest::last_message().as_deref(),
            Some("the list is empty: it has no minimum")
        );
        wasm2py_guest::clear_error();
    }

    #[test]
    fn dot_product() {
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
        assert!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]).is_nan());
        assert_eq!(dot(&[], &[]), 0.0);
    }
}
