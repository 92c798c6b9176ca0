#[wasm2py_guest::export]
fn wide(x: i128) -> u64 {
    x as u64
}

#[wasm2py_guest::export]
fn wider(x: u64) -> Result<u128, String> {
    Ok(x.into())
}

fn main() {}
