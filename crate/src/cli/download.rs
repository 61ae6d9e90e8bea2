//! `overunlearn download`: the official archives, verified by checksum.

use std::path::PathBuf;

use clap::Args;
use overunlearn::Result;
use overunlearn::data::{DatasetKind, download};

/// Flags of `overunlearn download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Datasets to fetch (default: cifar10 and cifar100).
    #[arg(long, value_delimiter = ',', default_values = ["cifar10", "cifar100"])]
    dataset: Vec<DatasetKind>,
    /// The directory to save the archives into (the data directory).
    #[arg(long, env = "OVERUNLEARN_DATA", default_value = "data")]
    data: PathBuf,
    /// Fetch the same file names from this base address instead of the official ones.
    #[arg(long)]
    mirror: Option<String>,
}

/// Fetches each archive that is not already there and verified.
pub fn download(args: DownloadArgs) -> Result<()> {
    let mut done = Vec::new();
    for kind in args.dataset {
        let archive = kind.archive();
        if done.contains(&archive.file_name) {
            continue;
        }
        let bar = super::progress::bytes_bar(archive.file_name);
        let path = download::download(kind, &args.data, args.mirror.as_deref(), |n, total| {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(n);
        })?;
        bar.finish_and_clear();
        eprintln!("{} verified (MD5 {})", path.display(), archive.md5);
        done.push(archive.file_name);
    }
    Ok(())
}
