//! `--input s3://...` without archive windows (ASDF files in a bucket): `store::fetch`
//! brings them into a local folder, which is then the run's input.

use std::path::PathBuf;

use crate::console::errln;

/// The local input for `input`, fetched (and what was done said, unless `quiet`).
pub(super) fn fetch_input(input: &std::path::Path, quiet: bool) -> Result<PathBuf, String> {
    let url = match crate::store::url_of(input) {
        Some(Ok(u)) => u,
        Some(Err(e)) => return Err(format!("--input {e}")),
        None => return Err(format!("--input {}: not an s3:// URL", input.display())),
    };
    let dir = crate::store::fetch::default_dir(&url);
    let f = crate::store::fetch::fetch_asdf(&url, &dir)?;
    if !quiet {
        errln!(
            "seisbatch: {url}: {} ASDF objects fetched ({:.1} MB), {} already here, {} other objects not read; input {}",
            f.fetched,
            f.bytes as f64 / 1e6,
            f.kept,
            f.other,
            f.input.display()
        );
    }
    Ok(f.input)
}
