//! The `wasm2py` command line. Errors are printed as one message and exit with status 1.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use wasm2py::model::AnnotationSource;
use wasm2py::wasm::{ExportKind, ImportKind, OtherKind};
use wasm2py::{Error, Options};

/// Generate typed Python packages from WebAssembly modules (wasmtime-py and ctypes backends).
#[derive(Parser, Debug)]
#[command(name = "wasm2py", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a Python package wrapping MODULE's exports.
    Gen {
        /// The module: a .wasm file (or .wat text).
        module: PathBuf,
        /// Output directory: the package project (pyproject.toml and the package). Default: ./NAME
        #[arg(short, long, value_name = "OUT")]
        out: Option<PathBuf>,
        /// Annotation file. Default: MODULE.wasm2py next to the module, else the module's
        /// `wasm2py` custom section.
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
        /// Package name. Default: the module's file name, in snake_case.
        #[arg(long)]
        name: Option<String>,
        /// Write nothing; exit 1 naming each file that differs from what would be generated.
        #[arg(long)]
        check: bool,
    },
    /// Print MODULE's exports, their core types and the annotations found.
    Inspect {
        module: PathBuf,
        /// Annotation file (as for `gen`).
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
    },
}

fn generate(opts: &Options, out: Option<PathBuf>, check: bool) -> Result<ExitCode, Error> {
    let loaded = wasm2py::load(opts)?;
    let files = wasm2py::backend::generate(&loaded.interface, &loaded.wasm)?;
    let out = out.unwrap_or_else(|| PathBuf::from(&loaded.interface.package));
    if check {
        let differ = files.check(&out);
        if differ.is_empty() {
            println!("up to date: {}", out.display());
            return Ok(ExitCode::SUCCESS);
        }
        for f in &differ {
            eprintln!("not up to date: {}", out.join(f).display());
        }
        eprintln!(
            "wasm2py: {} file(s) differ from what `wasm2py gen` would write; regenerate them",
            differ.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    files.write(&out)?;
    println!(
        "wrote package `{}` ({} functions) to {}",
        loaded.interface.package,
        loaded.interface.functions.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn inspect(opts: &Options) -> Result<ExitCode, Error> {
    let loaded = wasm2py::load(opts)?;
    let iface = &loaded.interface;
    println!(
        "module: {} (sha256 {})",
        opts.module.display(),
        iface.sha256
    );
    println!(
        "annotations: {}",
        match &iface.annotations {
            AnnotationSource::None => "none".to_string(),
            AnnotationSource::File(f) => format!("sidecar file {f}"),
            AnnotationSource::CustomSection => "custom section `wasm2py`".to_string(),
        }
    );
    println!("package: {} (class {})", iface.package, iface.class);
    println!("exports:");
    for e in &loaded.module.exports {
        match &e.kind {
            ExportKind::Func(core) => {
                let f = iface.functions.iter().find(|f| f.export == e.name);
                let what = match f {
                    Some(f) if f.annotated => {
                        format!("{}.{}{}", iface.class, f.py_name, f.signature())
                    }
                    Some(f) => format!("{}.{} (not annotated)", iface.class, f.py_name),
                    None => match iface.skipped.iter().find(|(n, _)| *n == e.name) {
                        Some((_, why)) => format!("skipped: {why}"),
                        None if e.name == wasm2py::model::INITIALIZE => {
                            "WASI reactor initialiser (runs once per instance)".to_string()
                        }
                        None if e.name == wasm2py::model::ERROR_RECORD => {
                            "the guest's error record (read after `raises` calls)".to_string()
                        }
                        None if e.name == wasm2py::model::ARENA_RECORD => {
                            "the guest's arena record (arena protocol version 2)".to_string()
                        }
                        None => "memory protocol".to_string(),
                    },
                };
                println!("  func   {:<20} {:<28} {what}", e.name, core.to_string());
            }
            ExportKind::Other(OtherKind::Memory {
                min_pages,
                memory64,
            }) => println!(
                "  memory {:<20} {} pages initially{}",
                e.name,
                min_pages,
                if *memory64 { ", 64-bit" } else { "" }
            ),
            ExportKind::Other(OtherKind::Global) => println!("  global {:<20} not wrapped", e.name),
            ExportKind::Other(OtherKind::Table) => println!("  table  {:<20} not wrapped", e.name),
            ExportKind::Other(OtherKind::Tag) => println!("  tag    {:<20} not wrapped", e.name),
        }
    }
    if !loaded.module.imports.is_empty() {
        println!("imports:");
    }
    for i in &loaded.module.imports {
        let key = i.key();
        match &i.kind {
            ImportKind::Func(core) => {
                let what = if i.module == wasm2py::imports::WASI_MODULE {
                    "WASI (served by the runtime)".to_string()
                } else {
                    match iface
                        .imports
                        .iter()
                        .find(|h| h.module == i.module && h.name == i.name)
                    {
                        Some(h) if h.annotated => {
                            format!("host import {key}{}", wasm2py::model::import_signature(h))
                        }
                        _ => format!("host import {key} (not annotated)"),
                    }
                };
                println!("  func   {key:<36} {:<28} {what}", core.to_string());
            }
            other => println!("  {:<6} {key:<36} not supported", other.name()),
        }
    }
    if iface.wasi {
        println!(
            "wasi: yes ({})",
            if iface.initialize {
                "a reactor: `_initialize` runs once per instance"
            } else {
                "no `_initialize`"
            }
        );
    }
    println!(
        "memory protocol: {}",
        if iface.uses_arena {
            "used (memory, bump_alloc, bump_reset)"
        } else {
            "not needed"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen {
            module,
            out,
            sig,
            name,
            check,
        } => generate(&Options { module, sig, name }, out, check),
        Command::Inspect { module, sig } => inspect(&Options {
            module,
            sig,
            name: None,
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
