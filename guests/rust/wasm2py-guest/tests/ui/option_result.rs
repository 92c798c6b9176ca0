#[wasm2py_guest::export]
fn first(data: &[u8]) -> Option<u8> {
    data.first().copied()
}

fn main() {}
