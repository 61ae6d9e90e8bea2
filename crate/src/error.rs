//! The crate's error type: every failure names what was wrong and where.

use std::fmt;

/// Errors raised by the core. Each variant carries enough context to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dataset file is missing, truncated or holds out-of-range values.
    #[error("{file}: {problem}")]
    Data {
        /// The file (or archive member) at fault.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A configuration value is out of its valid range.
    #[error("invalid {field}: {problem}")]
    Config {
        /// The configuration field, as the user wrote it.
        field: String,
        /// Why the value is refused.
        problem: String,
    },
    /// A model file that cannot be loaded into this build.
    #[error("model file {file}: {problem}")]
    ModelFile {
        /// The model file (or "<bytes>" for in-memory input).
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The compute backend failed (device lost, unsupported, read-back error).
    #[error("backend {backend}: {problem}")]
    Backend {
        /// The backend's name.
        backend: String,
        /// What went wrong.
        problem: String,
    },
    /// A download failed or its checksum did not match.
    #[error("download {url}: {problem}")]
    Download {
        /// The address fetched.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A dataset error on `file`.
    pub fn data(file: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Self::Data {
            file: file.to_string(),
            problem: problem.to_string(),
        }
    }

    /// A configuration error on `field`.
    pub fn config(field: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Self::Config {
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }

    /// The same error with its configuration field placed under `parent` (e.g. `epochs`
    /// becomes `run.train.epochs`), so a nested check names the field as a config file spells it.
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::Config { field, problem } => Self::Config {
                field: format!("{parent}.{field}"),
                problem,
            },
            other => other,
        }
    }

    /// A model-file error on `file`.
    pub fn model_file(file: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Self::ModelFile {
            file: file.to_string(),
            problem: problem.to_string(),
        }
    }

    /// A backend error.
    pub fn backend(backend: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Self::Backend {
            backend: backend.to_string(),
            problem: problem.to_string(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// Checks that the count `value` of `field` lies in `min..=max`; the error names both bounds.
pub fn check_count(field: &str, value: usize, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!("{value} is not allowed: give a whole number from {min} to {max}"),
    ))
}

/// Checks that the number `value` of `field` is finite and lies in `min..=max` (`min`
/// excluded when `open_min`, for quantities that must be positive).
pub fn check_number(field: &str, value: f64, min: f64, max: f64, open_min: bool) -> Result<()> {
    let above = if open_min { value > min } else { value >= min };
    if value.is_finite() && above && value <= max {
        return Ok(());
    }
    let bracket = if open_min { "(" } else { "[" };
    Err(Error::config(
        field,
        format!("{value} is not allowed: give a number in {bracket}{min}, {max}]"),
    ))
}
