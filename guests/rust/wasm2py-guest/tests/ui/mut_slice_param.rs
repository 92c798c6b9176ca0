#[wasm2py_guest::export]
fn fill(data: &mut [u8]) {
    data.fill(0);
}

fn main() {}
