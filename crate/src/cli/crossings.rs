//! The crossings found by pushing, kept on disk between runs: one file per model and search
//! settings under `~/.cache/overunlearn/crossings`, seeded from the crafted requests the
//! repository ships (`experiments/crafted/KEY24-PART.json.gz`, [`Part`]s of a store).
//! `reproduce` and `defend` share them.

use std::path::{Path, PathBuf};

use overunlearn::attack::crossings::{Crossings, Part};
use overunlearn::attack::search::Goal;
use overunlearn::experiment::Crafted;
use overunlearn::{Error, Result};

/// `~/.cache/overunlearn/crossings` (`./crossings` without a home directory).
pub(super) fn default_crossings_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(
        || PathBuf::from("crossings"),
        |home| PathBuf::from(home).join(".cache/overunlearn/crossings"),
    )
}

/// The file that keeps the crossings of one model and one set of search settings.
pub(super) struct CrossingsFile {
    path: PathBuf,
    pub(super) crossings: Crossings,
}

impl CrossingsFile {
    /// Opens (or starts, when `fresh` or absent) the store for `key` under `dir`; without one
    /// there, the crafted requests the repository ships for `key` seed it.
    pub(super) fn open(dir: &Path, key: String, fresh: bool) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let path = dir.join(format!("{}.json", &key[..24]));
        let read = |path: &Path| {
            let bytes = std::fs::read(path).ok()?;
            Crossings::from_bytes(&bytes, &path.display().to_string())
                .ok()
                .filter(|c| c.key == key)
        };
        let kept = match fresh {
            true => None,
            false => read(&path).or_else(|| shipped(&key, read)),
        };
        let crossings = match kept {
            Some(c) => {
                eprintln!(
                    "reusing crossings from {}: {} untargeted, {} targeted",
                    path.display(),
                    c.len(Goal::Untargeted),
                    c.len(Goal::Targeted(0))
                );
                c
            }
            None => {
                eprintln!("keeping the crossings found in {}", path.display());
                Crossings::new(key)
            }
        };
        Ok(Self { path, crossings })
    }

    /// Writes `crossings` (to a temporary file first, so a stopped run leaves a whole file).
    pub(super) fn save(&self, crossings: &Crossings) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(crossings).expect("crossings serialise");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(tmp.display(), e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(self.path.display(), e))
    }
}

/// The folder of the crafted requests the repository ships (`experiments/crafted/`).
fn shipped_crafted_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/crafted")
}

/// The shipped parts for `key`, together (`read` opens one, `None` unless it is `key`'s).
fn shipped(key: &str, read: impl Fn(&Path) -> Option<Crossings>) -> Option<Crossings> {
    let dir = shipped_crafted_dir();
    let mut parts = std::fs::read_dir(&dir).ok()?.filter_map(|entry| {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_str()?;
        Part::parse(key, name.strip_suffix(".json.gz")?)?;
        read(&path)
    });
    let mut store = parts.next()?;
    parts.for_each(|part| store.merge(part));
    Some(store)
}

/// Writes the crossings of `crafted`'s requests into `dir` as shipped parts, each merged with
/// the part already there (another experiment's requests of the same size).
pub(super) fn ship(dir: &Path, crossings: &Crossings, crafted: &Crafted) -> Result<()> {
    for (part, samples) in crafted.parts() {
        let path = dir.join(format!("{}.json.gz", part.stem(&crossings.key)));
        let mut store = crossings.subset(samples);
        if let Ok(bytes) = std::fs::read(&path) {
            store.merge(Crossings::from_bytes(&bytes, &path.display().to_string())?);
        }
        std::fs::write(&path, store.to_gzip()).map_err(|e| Error::io(path.display(), e))?;
        eprintln!("wrote the crafted requests to {}", path.display());
    }
    Ok(())
}
