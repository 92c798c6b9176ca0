//! The in-memory file set a generation produces. Only `write` and `check` touch the disk,
//! so a failed generation leaves nothing half-written.

use crate::error::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Files {
    /// Paths relative to the output directory, always with `/`.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    pub fn add(&mut self, path: impl Into<String>, text: String) {
        self.files.insert(path.into(), text.into_bytes());
    }

    pub fn add_bytes(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Writes every file under `out`, each through a temporary file and a rename, and
    /// removes files a previous generation wrote that this one no longer produces.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        for (rel, bytes) in &self.files {
            let path = out.join(rel);
            if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
                continue;
            }
            let dir = path.parent().unwrap_or(out);
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
            let tmp = dir.join(format!(
                ".{}.wasm2py-tmp",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
            ));
            std::fs::write(&tmp, bytes).map_err(|e| Error::io(tmp.display(), e))?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::io(path.display(), e)
            })?;
        }
        for stale in self.stale(out) {
            let path = out.join(&stale);
            std::fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
        }
        Ok(())
    }

    /// Files that differ from the disk: missing, changed, or stale (generated earlier, not
    /// now). Empty when `out` is up to date.
    pub fn check(&self, out: &Path) -> Vec<String> {
        let mut differ: Vec<String> = self
            .files
            .iter()
            .filter(|(rel, bytes)| std::fs::read(out.join(rel)).ok().as_ref() != Some(bytes))
            .map(|(rel, _)| rel.clone())
            .collect();
        differ.extend(self.stale(out));
        differ.sort();
        differ
    }

    /// Generated-looking files under the package directories that this set does not hold:
    /// `.py` files and modules left over from an earlier generation. Other files (a native
    /// library copied next to the package, caches) are left alone.
    fn stale(&self, out: &Path) -> Vec<String> {
        let mut dirs: Vec<PathBuf> = self
            .files
            .keys()
            .filter_map(|k| Path::new(k).parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        dirs.dedup();
        let mut stale = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(out.join(&dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = format!("{}/{name}", dir.to_string_lossy());
                let generated_kind = name.ends_with(".py") || name.ends_with(".wasm");
                if generated_kind && entry.path().is_file() && !self.files.contains_key(&rel) {
                    stale.push(rel);
                }
            }
        }
        stale
    }
}
