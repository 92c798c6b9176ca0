//! wasm2py example guest: scalar functions only, so no arena and no memory protocol.
//! The annotations are in the sidecar `fib.wasm2py`; `mix` is deliberately left out of
//! it to show an unannotated export (wrapped from its core type).

/// The n-th Fibonacci number by naive recursion (a benchmark, on purpose), modulo 2^64.
#[unsafe(no_mangle)]
pub extern "C" fn fibonacci(n: u64) -> u64 {
    if n <= 1 {
        n
    } else {
        fibonacci(n - 1).wrapping_add(fibonacci(n - 2))
    }
}

/// Greatest common divisor (Euclid); `gcd(0, 0)` is 0.
#[unsafe(no_mangle)]
pub extern "C" fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Wrapping addition: the cheapest call there is, for call-overhead benchmarks.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// Trial division.
#[unsafe(no_mangle)]
pub extern "C" fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let n = u64::from(n); // so that d * d cannot overflow
    (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// `a / b` rounded toward zero (`i32::MIN / -1` wraps). Traps when `b` is 0: the panic is
/// an `unreachable` on wasm with `panic = "abort"` (and aborts the process natively).
#[unsafe(no_mangle)]
pub extern "C" fn divide(a: i32, b: i32) -> i32 {
    if b == 0 {
        panic!("divide: division by zero");
    }
    a.wrapping_div(b)
}

/// Not annotated: wasm2py wraps it from its core type `(i32, i64) -> f64`.
#[unsafe(no_mangle)]
pub extern "C" fn mix(a: i32, b: i64) -> f64 {
    f64::from(a) * 0.5 + b as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fibonacci_values() {
        let first: Vec<u64> = (0..10).map(|n| fibonacci(n)).collect();
        assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
        assert_eq!(fibonacci(30), 832_040);
    }

    #[test]
    fn gcd_values() {
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(0, 7), 7);
        assert_eq!(gcd(7, 0), 7);
        assert_eq!(gcd(0, 0), 0);
        assert_eq!(gcd(3_000_000_000, 4_000_000_000), 1_000_000_000); // above 2^31
        assert_eq!(gcd(u32::MAX, u32::MAX - 2), 1);
    }

    #[test]
    fn add_wraps() {
        assert_eq!(add(2, 3), 5);
        assert_eq!(add(i32::MAX, 1), i32::MIN);
    }

    #[test]
    fn primes() {
        let small: Vec<u32> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(small, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(is_prime(4_294_967_291)); // the largest u32 prime
        assert!(!is_prime(u32::MAX));
    }

    // divide(_, 0) cannot be tested here: a panic cannot unwind out of an `extern "C"`
    // function, the test process aborts. The trap is checked on the wasm build.
    #[test]
    fn divide_values() {
        assert_eq!(divide(7, 2), 3);
        assert_eq!(divide(-7, 2), -3);
        assert_eq!(divide(i32::MIN, -1), i32::MIN);
    }

    #[test]
    fn mix_value() {
        assert_eq!(mix(3, 10), 11.5);
        assert_eq!(mix(-1, -1), -1.5);
    }
}
