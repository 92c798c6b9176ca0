//! The library's typed errors. Every one renders as a single clear message (annotation
//! errors add the offending line with a caret under it); `main` prints it and exits non-zero.

use std::fmt;

/// A position in an annotation source, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module itself: not wasm, truncated, invalid, unsupported.
    #[error("{file}: {message}")]
    Wasm { file: String, message: String },

    /// An annotation: syntax, unknown type, or a mismatch with the module.
    #[error("{}", render_at(.file, .pos, .message, .source_line, .hint))]
    Annotation {
        file: String,
        pos: Pos,
        message: String,
        /// The text of the line `pos` points into, shown with a caret.
        source_line: String,
        hint: Option<String>,
    },

    /// The module cannot be wrapped as a whole (imports, missing protocol exports, names).
    #[error("{file}: {message}")]
    Module { file: String, message: String },

    /// Reading or writing files.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl Error {
    pub fn wasm(file: &str, message: impl Into<String>) -> Self {
        Error::Wasm {
            file: file.to_string(),
            message: message.into(),
        }
    }

    pub fn module(file: &str, message: impl Into<String>) -> Self {
        Error::Module {
            file: file.to_string(),
            message: message.into(),
        }
    }

    pub fn io(path: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::Io {
            path: path.to_string(),
            message: err.to_string(),
        }
    }
}

fn render_at(
    file: &str,
    pos: &Pos,
    message: &str,
    source_line: &str,
    hint: &Option<String>,
) -> String {
    let mut out = format!("{file}:{}:{}: {message}", pos.line, pos.col);
    if !source_line.is_empty() {
        let gutter = pos.line.to_string().len();
        // Tabs keep their width under the caret.
        let pad: String = source_line
            .chars()
            .take(pos.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!(
            "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}^",
            "", pos.line, source_line, "", pad
        ));
    }
    if let Some(hint) = hint {
        out.push_str(&format!("\n  = hint: {hint}"));
    }
    out
}
