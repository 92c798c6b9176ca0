//! Compile-fail tests of `#[export]`: an unsupported type is an error pointing at it.
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p wasm2py-guest`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
