struct Opaque;

#[wasm2py_guest::export]
fn check(x: u32) -> Result<u32, Opaque> {
    if x > 0 { Ok(x) } else { Err(Opaque) }
}

fn main() {}
