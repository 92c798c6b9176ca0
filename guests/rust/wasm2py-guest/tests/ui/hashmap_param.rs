use std::collections::HashMap;

#[wasm2py_guest::export]
fn lookup(table: HashMap<String, u32>) -> u32 {
    table.len() as u32
}

fn main() {}
