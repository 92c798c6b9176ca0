//! wasm2py: Python packages from WebAssembly modules.
//!
//! The pipeline, with no I/O except reading inputs:
//! wasm bytes → [`wasm::parse`] → annotations ([`sig::parse`]) → [`model::build`] →
//! [`backend::generate`] → [`files::Files`], which `main` writes or checks.

pub mod backend;
pub mod error;
pub mod files;
pub mod imports;
pub mod model;
pub mod sig;
pub mod wasm;

pub use error::Error;
pub use files::Files;

use model::{AnnotationSource, Interface, Naming};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What to generate from.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub module: PathBuf,
    /// `--sig FILE`; else `MODULE.wasm2py` next to the module if present; else the custom section.
    pub sig: Option<PathBuf>,
    pub name: Option<String>,
}

/// A module with everything read and checked: what `gen` renders and `inspect` prints.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub wasm: Vec<u8>,
    pub module: wasm::WasmModule,
    pub annotations: Option<sig::Annotations>,
    pub interface: Interface,
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The sidecar of `module`: `fib.wasm` → `fib.wasm2py`.
pub fn sidecar_path(module: &Path) -> PathBuf {
    module.with_extension("wasm2py")
}

/// Reads, validates and models the module. Reads files; writes nothing.
pub fn load(opts: &Options) -> Result<Loaded, Error> {
    let file = display(&opts.module);
    let raw = std::fs::read(&opts.module).map_err(|e| Error::io(&file, e))?;
    let bytes = wasm::to_binary(&file, raw)?;
    let module = wasm::parse(&file, &bytes)?;

    let sidecar = match &opts.sig {
        Some(p) => Some(p.clone()),
        None => Some(sidecar_path(&opts.module)).filter(|p| p.is_file()),
    };
    let (annotations, source) = match sidecar {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(display(&path), e))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                Some(sig::parse(&display(&path), &text)?),
                AnnotationSource::File(name),
            )
        }
        None => match &module.annotations {
            Some(text) => (
                Some(sig::parse(&format!("{file}[wasm2py section]"), text)?),
                AnnotationSource::CustomSection,
            ),
            None => (None, AnnotationSource::None),
        },
    };
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let interface = model::build(
        &file,
        &module,
        annotations.as_ref(),
        source,
        &Naming {
            name: opts.name.clone(),
        },
        sha256,
    )?;
    Ok(Loaded {
        wasm: bytes,
        module,
        annotations,
        interface,
    })
}

/// The whole pipeline: the package files for `opts`, in memory.
pub fn generate(opts: &Options) -> Result<Files, Error> {
    let loaded = load(opts)?;
    backend::generate(&loaded.interface, &loaded.wasm)
}
