//! `#[export]` of `wasm2py-guest`: use it as `#[wasm2py_guest::export]`.
//!
//! For `fn name(params) -> R` it keeps the function as written and adds
//!
//! - `__wasm2py_export_name`, an `unsafe extern "C"` shim exported under the symbol
//!   `name` (`#[unsafe(export_name = "name")]`): scalars pass as themselves, `&[u8]`,
//!   `&str` and `&[T]` as `(ptr, len)`; the result is lowered by
//!   `wasm2py_guest::__private::Return` (a pointer to a `{ptr, len}` pair for `Vec`s and
//!   `String`, the error record for `Err`);
//! - on wasm, a static in the `wasm2py` custom section holding the doc comment as `///`
//!   lines and the annotation line, each ending in `\n`.
//!
//! Types are recognised by how they are written (a type alias is not followed): an
//! unsupported one is a compile error pointing at it.

use proc_macro::TokenStream;
use proc_macro2::{Literal, Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Error, Expr, FnArg, GenericArgument, ItemFn, Lit, Meta, Pat, PathArguments, ReturnType, Type,
    TypeReference, parse_macro_input,
};

/// Exports a safe function to Python through wasm2py (see the `wasm2py-guest` crate).
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = TokenStream2::from(attr);
    // `#[export(array)]`: slices and Vecs of numbers are `array[T]` (an `array.array`
    // result in Python) instead of `list[T]`.
    let arrays = match attr.to_string().as_str() {
        "" => false,
        "array" => true,
        _ => {
            return Error::new_spanned(
                attr,
                "wasm2py_guest::export takes no arguments, or `array` (numeric slices and \
                 Vecs as array[T])",
            )
            .to_compile_error()
            .into();
        }
    };
    let func = parse_macro_input!(item as ItemFn);
    match expand(&func, arrays) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            // The function is kept, so that the only errors are the macro's.
            let error = error.to_compile_error();
            quote!(#error #func).into()
        }
    }
}

const NUMERIC: [&str; 10] = [
    "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64",
];

const PARAM_TYPES: &str = "i8..i64, u8..u64, usize, f32, f64, bool, &[u8], &str, &[T] (T numeric)";
const RESULT_TYPES: &str = "i8..i64, u8..u64, usize, f32, f64, bool, Vec<u8>, String, Vec<T> \
    (T numeric), () and Result<T, E: Display> of those";

/// How a parameter crosses the C ABI.
enum Param {
    /// Passed as itself; the annotation type.
    Scalar(&'static str),
    Bytes,
    Str,
    /// `&[T]`: the element type as written and its annotation name.
    List(Box<Type>, &'static str),
}

/// The single identifier of a path type without generic arguments (`u32`, `String`).
fn plain_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            matches!(seg.arguments, PathArguments::None).then(|| seg.ident.to_string())
        }
        Type::Paren(p) => plain_ident(&p.elem),
        Type::Group(g) => plain_ident(&g.elem),
        _ => None,
    }
}

/// The annotation name of a scalar type (`usize` is the pointer-sized `ptr`).
fn scalar(ty: &Type) -> Option<&'static str> {
    let name = plain_ident(ty)?;
    if name == "bool" {
        return Some("bool");
    }
    if name == "usize" {
        return Some("ptr");
    }
    NUMERIC.iter().copied().find(|n| *n == name)
}

/// The annotation name of a list element type.
fn numeric(ty: &Type) -> Option<&'static str> {
    let name = plain_ident(ty)?;
    NUMERIC.iter().copied().find(|n| *n == name)
}

fn param_kind(ty: &Type) -> Result<Param, Error> {
    let unsupported = || {
        Error::new_spanned(
            ty,
            format!(
                "wasm2py_guest::export: unsupported parameter type `{}`; supported: {PARAM_TYPES}",
                quote!(#ty).to_string().replace(" ", "")
            ),
        )
    };
    if let Some(name) = scalar(ty) {
        return Ok(Param::Scalar(name));
    }
    match ty {
        Type::Reference(TypeReference {
            mutability: None,
            elem,
            ..
        }) => match &**elem {
            Type::Slice(slice) => match numeric(&slice.elem) {
                Some("u8") => Ok(Param::Bytes),
                Some(name) => Ok(Param::List(slice.elem.clone(), name)),
                None => Err(unsupported()),
            },
            elem if plain_ident(elem).as_deref() == Some("str") => Ok(Param::Str),
            _ => Err(unsupported()),
        },
        _ => Err(unsupported()),
    }
}

/// The generic arguments of the last segment of a path type named `name` (`Vec`,
/// `Result`, also written `std::vec::Vec`...).
fn generic_args<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args
        .iter()
        .map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// The annotation of a result type that is not a `Result`: `None` for `()`.
fn plain_result(ty: &Type) -> Result<Option<String>, Error> {
    let unsupported = || {
        Error::new_spanned(
            ty,
            format!(
                "wasm2py_guest::export: unsupported result type `{}`; supported: {RESULT_TYPES}",
                quote!(#ty).to_string().replace(" ", "")
            ),
        )
    };
    if let Type::Tuple(t) = ty
        && t.elems.is_empty()
    {
        return Ok(None);
    }
    if let Some(name) = scalar(ty) {
        return Ok(Some(name.to_string()));
    }
    if plain_ident(ty).as_deref() == Some("String") {
        return Ok(Some("str".to_string()));
    }
    if let Some(args) = generic_args(ty, "Vec") {
        return match args.as_slice() {
            [elem] => match numeric(elem) {
                Some("u8") => Ok(Some("bytes".to_string())),
                Some(name) => Ok(Some(format!("list[{name}]"))),
                None => Err(unsupported()),
            },
            _ => Err(unsupported()),
        };
    }
    Err(unsupported())
}

/// The annotation of the result (`None` for none) and whether it `raises`.
fn result_kind(output: &ReturnType) -> Result<(Option<String>, bool), Error> {
    let ReturnType::Type(_, ty) = output else {
        return Ok((None, false));
    };
    if let Some(args) = generic_args(ty, "Result") {
        return match args.as_slice() {
            // `Result<T, E>`, or an alias with the error fixed (`io::Result<T>`).
            [ok] | [ok, _] => Ok((plain_result(ok)?, true)),
            _ => Err(Error::new_spanned(
                ty,
                "wasm2py_guest::export: a `Result` result needs its `Ok` type: Result<T, E>",
            )),
        };
    }
    Ok((plain_result(ty)?, false))
}

/// The doc comment's lines, one leading space removed, outer blank lines dropped.
fn doc_lines(func: &ItemFn) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in &func.attrs {
        if let Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(lit) = &nv.value
            && let Lit::Str(s) = &lit.lit
        {
            // `split`, not `lines`: an empty `///` line is `#[doc = ""]`, a blank line.
            for line in s.value().split('\n') {
                let line = line.strip_prefix(' ').unwrap_or(line);
                lines.push(line.trim_end().to_string()); // `\r` of a CRLF file too
            }
        }
    }
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn expand(func: &ItemFn, arrays: bool) -> Result<TokenStream2, Error> {
    let sig = &func.sig;
    let name = &sig.ident;
    let refuse = |tokens: &dyn quote::ToTokens, what: &str| {
        Err(Error::new_spanned(
            tokens,
            format!("wasm2py_guest::export: {what}"),
        ))
    };
    if let Some(unsafety) = &sig.unsafety {
        return refuse(unsafety, "the function must be safe (not `unsafe fn`)");
    }
    if let Some(asyncness) = &sig.asyncness {
        return refuse(asyncness, "the function cannot be `async`");
    }
    if let Some(abi) = &sig.abi {
        return refuse(
            abi,
            "write a plain Rust function; the extern \"C\" shim is generated",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        // Lifetimes alone would be fine, but are never needed: elided ones are.
        return refuse(&sig.generics, "the function cannot be generic");
    }
    if let Some(variadic) = &sig.variadic {
        return refuse(variadic, "the function cannot be variadic");
    }
    let python_name = name.to_string();
    let python_name = python_name.strip_prefix("r#").unwrap_or(&python_name);

    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut abi_params = Vec::new();
    let mut prologue = Vec::new();
    let mut call_args = Vec::new();
    let mut annotated = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = input else {
            push(Error::new_spanned(
                input,
                "wasm2py_guest::export: a free function is exported, not a method",
            ));
            continue;
        };
        let ident = match &*arg.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            pat => {
                push(Error::new_spanned(
                    pat,
                    "wasm2py_guest::export: a parameter must be a plain name (it names the \
                     Python parameter)",
                ));
                continue;
            }
        };
        let param_name = ident.to_string();
        let param_name = param_name
            .strip_prefix("r#")
            .unwrap_or(&param_name)
            .to_string();
        let kind = match param_kind(&arg.ty) {
            Ok(kind) => kind,
            Err(e) => {
                push(e);
                continue;
            }
        };
        let ty = &arg.ty;
        // Hygienic (mixed-site): they cannot shadow the user's function or its names.
        let site = Span::mixed_site();
        let local = format_ident!("arg{}", index, span = site);
        let ptr = format_ident!("arg{}_ptr", index, span = site);
        let len = format_ident!("arg{}_len", index, span = site);
        let span = ty.span();
        let annotation = match &kind {
            Param::Scalar(a) => a.to_string(),
            Param::Bytes => "bytes".to_string(),
            Param::Str => "str".to_string(),
            Param::List(_, a) => format!("list[{a}]"),
        };
        annotated.push(format!("{param_name}: {annotation}"));
        match kind {
            Param::Scalar(_) => {
                abi_params.push(quote_spanned!(span=> #local: #ty));
            }
            Param::Bytes => {
                abi_params.push(quote!(#ptr: *const u8, #len: usize));
                prologue.push(quote! {
                    // SAFETY: the caller passes readable `(ptr, len)` (the protocol).
                    let #local: &[u8] = unsafe { ::wasm2py_guest::__private::slice(#ptr, #len) };
                });
            }
            Param::Str => {
                abi_params.push(quote!(#ptr: *const u8, #len: usize));
                prologue.push(quote! {
                    // SAFETY: the caller passes readable `(ptr, len)` (the protocol).
                    let Some(#local) = (unsafe { ::wasm2py_guest::__private::str_arg(#ptr, #len) })
                    else {
                        return ::wasm2py_guest::__private::not_utf8::<__Wasm2pyResult>(
                            #python_name, #param_name,
                        );
                    };
                });
            }
            Param::List(elem, _) => {
                abi_params.push(quote!(#ptr: *const #elem, #len: usize));
                prologue.push(quote! {
                    // SAFETY: the caller passes `len` readable elements at `ptr`.
                    let #local: &[#elem] =
                        unsafe { ::wasm2py_guest::__private::typed_slice(#ptr, #len) };
                });
            }
        }
        call_args.push(local);
    }
    let result = match result_kind(&sig.output) {
        Ok(r) => Some(r),
        Err(e) => {
            push(e);
            None
        }
    };
    if let Some(errors) = errors {
        return Err(errors);
    }
    let (result, raises) = result.expect("no errors");

    // The annotation, its doc lines first; every line ends in '\n' (the section pieces of
    // every function are concatenated by wasm-ld).
    let mut text = String::new();
    for line in doc_lines(func) {
        if line.is_empty() {
            text.push_str("///\n");
        } else {
            text.push_str(&format!("/// {line}\n"));
        }
    }
    let mut line = format!("{python_name}({})", annotated.join(", "));
    if let Some(result) = &result {
        line.push_str(&format!(" -> {result}"));
    }
    if raises {
        line.push_str(" raises");
    }
    if arrays {
        // Only sequence types are written with `[`; both lower the same way.
        line = line.replace("list[", "array[");
    }
    text.push_str(&line);
    text.push('\n');
    let bytes = Literal::byte_string(text.as_bytes());
    let size = text.len();

    // Spanned so that a type error (an `E` that is not `Display`) points at the result.
    let (result_ty, result_span) = match &sig.output {
        ReturnType::Default => (quote!(()), Span::call_site()),
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let abi = quote_spanned!(result_span=> <#result_ty as ::wasm2py_guest::__private::Return>::Abi);
    let lower = quote_spanned!(result_span=> ::wasm2py_guest::__private::Return::lower);
    let shim = format_ident!("__wasm2py_export_{}", python_name, span = Span::call_site());
    Ok(quote! {
        #func

        /// The C-ABI shim of the function above, written by `#[wasm2py_guest::export]`.
        ///
        /// # Safety
        /// Every `(ptr, len)` pair describes readable memory, as the wasm2py protocol says.
        #[doc(hidden)]
        #[unsafe(export_name = #python_name)]
        #[allow(clippy::missing_safety_doc, clippy::too_many_arguments, unused_unsafe)]
        pub unsafe extern "C" fn #shim(#(#abi_params),*) -> #abi {
            type __Wasm2pyResult = #result_ty;
            #(#prologue)*
            #lower(#name(#(#call_args),*))
        }

        #[cfg(target_family = "wasm")]
        const _: () = {
            #[used]
            #[unsafe(link_section = "wasm2py")]
            static ANNOTATION: [u8; #size] = *#bytes;
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The annotation text `expand` puts in the section for `item`.
    fn annotation(item: &str) -> String {
        let func: ItemFn = syn::parse_str(item).unwrap();
        let tokens = expand(&func, false).unwrap().to_string();
        // The byte string literal after `= *`: b"...".
        let start = tokens.find("= * b\"").expect("a byte string") + 6;
        let end = start + tokens[start..].find("\" ;").unwrap();
        let lit: syn::LitByteStr =
            syn::parse_str(&format!("b\"{}\"", &tokens[start..end])).unwrap();
        String::from_utf8(lit.value()).unwrap()
    }

    fn error(item: &str) -> String {
        let func: ItemFn = syn::parse_str(item).unwrap();
        expand(&func, false).unwrap_err().to_string()
    }

    #[test]
    fn arrays_on_request() {
        let func: ItemFn =
            syn::parse_str("fn scale(xs: &[f64], k: f64) -> Vec<f64> { vec![] }").unwrap();
        let tokens = expand(&func, true).unwrap().to_string();
        assert!(
            tokens.contains("scale(xs: array[f64], k: f64) -> array[f64]"),
            "{tokens}"
        );
        assert_eq!(
            annotation("fn scale(xs: &[f64], k: f64) -> Vec<f64> { vec![] }"),
            "scale(xs: list[f64], k: f64) -> list[f64]\n"
        );
    }

    #[test]
    fn annotations_of_every_type() {
        assert_eq!(
            annotation("fn f(a: i8, b: i16, c: i32, d: i64, e: u8, f: u16, g: u32, h: u64) {}"),
            "f(a: i8, b: i16, c: i32, d: i64, e: u8, f: u16, g: u32, h: u64)\n"
        );
        assert_eq!(
            annotation("fn g(x: f32, y: f64, z: bool, p: usize) -> usize { p }"),
            "g(x: f32, y: f64, z: bool, p: ptr) -> ptr\n"
        );
        assert_eq!(
            annotation("fn h(data: &[u8], text: &'static str, xs: &[f64]) -> Vec<i16> { vec![] }"),
            "h(data: bytes, text: str, xs: list[f64]) -> list[i16]\n"
        );
        assert_eq!(
            annotation("fn s(mut n: u32) -> String { String::new() }"),
            "s(n: u32) -> str\n"
        );
        assert_eq!(
            annotation("fn b() -> std::vec::Vec<u8> { vec![] }"),
            "b() -> bytes\n"
        );
        assert_eq!(annotation("fn r#in(r#type: u8) -> () {}"), "in(type: u8)\n");
    }

    #[test]
    fn results_raise() {
        assert_eq!(
            annotation("fn parse_port(text: &str) -> Result<u16, String> { todo!() }"),
            "parse_port(text: str) -> u16 raises\n"
        );
        assert_eq!(
            annotation(
                "fn check(data: &[u8]) -> Result<(), Box<dyn std::error::Error>> { Ok(()) }"
            ),
            "check(data: bytes) raises\n"
        );
        assert_eq!(
            annotation("fn read() -> std::io::Result<Vec<u8>> { todo!() }"),
            "read() -> bytes raises\n"
        );
    }

    #[test]
    fn doc_comments_become_doc_lines() {
        let item = "
            /// First line.
            ///
            ///   Indented, `code`.
            #[inline]
            /** Block. */
            fn f() {}";
        assert_eq!(
            annotation(item),
            "/// First line.\n///\n///   Indented, `code`.\n/// Block.\nf()\n"
        );
    }

    #[test]
    fn unsupported_types_are_named() {
        let e = error("fn f(x: i128) {}");
        assert!(e.contains("unsupported parameter type `i128`"), "{e}");
        let e = error("fn f(x: &mut [u8]) {}");
        assert!(e.contains("unsupported parameter type `&mut[u8]`"), "{e}");
        let e = error("fn f() -> Option<u8> { None }");
        assert!(e.contains("unsupported result type `Option<u8>`"), "{e}");
        let e = error("fn f() -> Result<Result<u8, String>, String> { todo!() }");
        assert!(
            e.contains("unsupported result type `Result<u8,String>`"),
            "{e}"
        );
        let e = error("fn f() -> &'static str { \"\" }");
        assert!(e.contains("unsupported result type"), "{e}");
        let e = error("fn f(xs: &[usize]) {}");
        assert!(e.contains("unsupported parameter type `&[usize]`"), "{e}");
    }
}
