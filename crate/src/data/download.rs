//! Fetches the official dataset archives and verifies them against their published MD5 sums.
//! The loaders read the archives as they are, so nothing needs extracting.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::DatasetKind;
use crate::error::{Error, Result};

/// An official archive: where it lives and the checksum its authors publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archive {
    /// The archive's official address.
    pub url: &'static str,
    /// The file name it is saved under (what the loaders look for).
    pub file_name: &'static str,
    /// The MD5 published by the dataset's authors.
    pub md5: &'static str,
}

impl DatasetKind {
    /// The official archive holding this dataset.
    pub fn archive(self) -> Archive {
        match self {
            Self::Cifar10 => Archive {
                url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                file_name: "cifar-10-binary.tar.gz",
                md5: "c32a1d4ab5d03f1284b67883e8d87530",
            },
            Self::Cifar100 | Self::Cifar100Coarse => Archive {
                url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                file_name: "cifar-100-binary.tar.gz",
                md5: "03b5dce01913d631647c71ecec9e9cb8",
            },
            Self::Stl10 => Archive {
                url: "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
                file_name: "stl10_binary.tar.gz",
                md5: "91f7769df0f17e558f3565bffb0c7dfb",
            },
        }
    }
}

impl Archive {
    /// The address to fetch: the official one, or the same file name under `mirror`.
    pub fn url_from(&self, mirror: Option<&str>) -> String {
        match mirror {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), self.file_name),
            None => self.url.to_string(),
        }
    }
}

/// Downloads `url` into `dir/file_name`, checking its MD5 against `md5`. The file appears only
/// once verified; a mismatch leaves nothing behind. `progress` gets (bytes so far, total if known).
/// An existing file with the right checksum is kept and not fetched again.
pub fn fetch(
    url: &str,
    md5: &str,
    dir: &Path,
    file_name: &str,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    let dest = dir.join(file_name);
    if dest.is_file() && file_md5(&dest)? == md5 {
        return Ok(dest);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let failed = |problem: String| Error::Download {
        url: url.to_string(),
        problem,
    };
    let response = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = response.into_body().into_reader();
    let partial = dir.join(format!("{file_name}.part"));
    let mut out = std::fs::File::create(&partial).map_err(|e| Error::io(partial.display(), e))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = body.read(&mut buf).map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::io(partial.display(), e))?;
        done += n as u64;
        progress(done, total);
    }
    drop(out);
    let got = hex(&hasher.finalize());
    if got != md5 {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(format!(
            "checksum mismatch: MD5 {got}, expected {md5} ({done} bytes received); file discarded"
        )));
    }
    std::fs::rename(&partial, &dest).map_err(|e| Error::io(dest.display(), e))?;
    Ok(dest)
}

/// Downloads `kind`'s official archive (or the same file from `mirror`) into `dir`.
pub fn download(
    kind: DatasetKind,
    dir: &Path,
    mirror: Option<&str>,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    let archive = kind.archive();
    fetch(
        &archive.url_from(mirror),
        archive.md5,
        dir,
        archive.file_name,
        progress,
    )
}

/// The MD5 of a file, in lowercase hex.
pub fn file_md5(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let mut hasher = Md5::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path.display(), e))?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
