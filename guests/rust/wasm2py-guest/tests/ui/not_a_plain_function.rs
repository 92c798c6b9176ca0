#[wasm2py_guest::export]
unsafe fn raw(x: u32) -> u32 {
    x
}

#[wasm2py_guest::export]
fn generic<T: Copy>(x: T) -> T {
    x
}

#[wasm2py_guest::export]
fn pattern((a, b): (u32, u32)) -> u32 {
    a + b
}

#[wasm2py_guest::export]
fn list_of_bools(xs: &[bool]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}

fn main() {}
