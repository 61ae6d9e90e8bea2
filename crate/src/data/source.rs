//! Where dataset files come from: a directory (extracted folders or official archives in it),
//! an official `.tar.gz` archive, or files handed over in memory (the browser's fetches and drops).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The on-disk layout of one dataset: the folder its official archive unpacks to, and the
/// archive's file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The folder the official archive unpacks to, e.g. `cifar-10-batches-bin`.
    pub folder: &'static str,
    /// The official archive's file name, e.g. `cifar-10-binary.tar.gz`.
    pub archive: &'static str,
}

/// A named file's contents together with the name to report in errors.
#[derive(Debug, Clone)]
pub struct FileBytes {
    /// Where the bytes came from, for error messages (a path or `archive!member`).
    pub origin: String,
    /// The file's contents.
    pub bytes: Vec<u8>,
}

/// Files held in memory, keyed by their path (as in an archive, or a dropped file's name).
#[derive(Debug, Clone, Default)]
pub struct Files {
    origin: String,
    entries: BTreeMap<String, Vec<u8>>,
}

/// The largest archive member kept (the largest file the lab reads, STL-10's `test_X.bin`, is
/// 207 MB).
const MAX_MEMBER: u64 = 512 << 20;
/// The most bytes an archive's kept members may hold together.
const MAX_UNPACKED: u64 = 2 << 30;

impl Files {
    /// An empty set; `origin` prefixes member names in error messages.
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            entries: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.entries.insert(path.into(), bytes);
    }

    /// The regular files of a gzip-compressed tar archive, read entirely into memory (members
    /// over 512 MB skipped, at most 2 GB in all).
    pub fn from_tar_gz(origin: impl Into<String>, bytes: &[u8]) -> Result<Self> {
        let origin = origin.into();
        let mut files = Self::new(origin.clone());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut total = 0u64;
        let bad = |e: std::io::Error| {
            Error::data(&origin, format!("not a readable .tar.gz archive ({e})"))
        };
        for entry in archive.entries().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
            let size = entry.size();
            if size > MAX_MEMBER {
                // Larger than any file the lab reads (STL-10's unlabeled images): skipped.
                continue;
            }
            total += size;
            if total > MAX_UNPACKED {
                return Err(Error::data(
                    &origin,
                    format!(
                        "unpacks to more than {} MB: not an archive the lab reads",
                        MAX_UNPACKED >> 20
                    ),
                ));
            }
            // The header's size is a claim: memory grows with the bytes actually read.
            let mut contents = Vec::with_capacity(size.min(1 << 20) as usize);
            entry.take(size).read_to_end(&mut contents).map_err(bad)?;
            files.insert(path, contents);
        }
        Ok(files)
    }

    /// The file whose path is `name` or ends in `/name`.
    pub fn find(&self, name: &str) -> Option<FileBytes> {
        let suffix = format!("/{name}");
        self.entries
            .iter()
            .find(|(path, _)| *path == name || path.ends_with(&suffix))
            .map(|(path, bytes)| FileBytes {
                origin: if self.origin.is_empty() {
                    path.clone()
                } else {
                    format!("{}!{path}", self.origin)
                },
                bytes: bytes.clone(),
            })
    }

    /// Moves every file of `other` into this set.
    pub fn merge(&mut self, other: Files) {
        for (path, bytes) in other.entries {
            let key = if other.origin.is_empty() {
                path
            } else {
                format!("{}!{path}", other.origin)
            };
            self.entries.insert(key, bytes);
        }
    }

    /// Number of files held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A place to read a dataset's files from.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// A directory holding the extracted folder, the files themselves, or the official archive.
    Dir(PathBuf),
    /// An official `.tar.gz` archive on disk.
    Archive(PathBuf),
    /// Files in memory.
    Files(Files),
}

impl DataSource {
    /// A source for a path: an archive when it names a file, a directory otherwise.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if path.is_file() {
            Self::Archive(path)
        } else {
            Self::Dir(path)
        }
    }

    /// Opens the files of the dataset with `layout`: extracted files win over an archive.
    pub fn open(&self, layout: Layout) -> Result<Opened> {
        match self {
            Self::Files(files) => Ok(Opened::Files(files.clone())),
            Self::Archive(path) => Ok(Opened::Files(read_archive(path)?)),
            Self::Dir(dir) => {
                if !dir.is_dir() {
                    return Err(Error::data(
                        dir.display(),
                        "data directory does not exist (set --data or OVERUNLEARN_DATA)",
                    ));
                }
                let folder = dir.join(layout.folder);
                if folder.is_dir() {
                    return Ok(Opened::Dir(folder));
                }
                let archive = dir.join(layout.archive);
                if archive.is_file() {
                    return Ok(Opened::Files(read_archive(&archive)?));
                }
                Ok(Opened::Dir(dir.clone()))
            }
        }
    }
}

fn read_archive(path: &Path) -> Result<Files> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    Files::from_tar_gz(path.display().to_string(), &bytes)
}

/// A dataset's files, opened: a directory to read from or files in memory.
#[derive(Debug)]
pub enum Opened {
    /// Files are read from this directory.
    Dir(PathBuf),
    /// Files are looked up in memory.
    Files(Files),
}

impl Opened {
    /// The file `name`, or `None` when it is absent.
    pub fn get(&self, name: &str) -> Result<Option<FileBytes>> {
        match self {
            Self::Files(files) => Ok(files.find(name)),
            Self::Dir(dir) => {
                let path = dir.join(name);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(FileBytes {
                        origin: path.display().to_string(),
                        bytes,
                    })),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(path.display(), e)),
                }
            }
        }
    }

    /// The file `name`; its absence is an error naming it.
    pub fn require(&self, name: &str) -> Result<FileBytes> {
        self.get(name)?
            .ok_or_else(|| Error::data(self.describe(name), "missing file"))
    }

    /// How to name `name` in an error message.
    pub fn describe(&self, name: &str) -> String {
        match self {
            Self::Dir(dir) => dir.join(name).display().to_string(),
            Self::Files(files) if files.origin.is_empty() => name.to_string(),
            Self::Files(files) => format!("{}!{name}", files.origin),
        }
    }
}
