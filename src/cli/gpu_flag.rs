//! `--gpu-index K|auto` as `run` and `correlate` read it: the choice is the gpu layer's
//! (`gpu::adapters::index_flag`), what it tells the user is the command line's.

use crate::console::errln;

/// The adapter's index (None: the best adapter); `auto` says which it took unless quiet.
pub(super) fn gpu_index(
    arg: Option<&str>,
    cpu: bool,
    quiet: bool,
) -> Result<Option<usize>, String> {
    let chosen = crate::gpu::adapters::index_flag(arg, cpu)?;
    if let Some(c) = &chosen {
        if let (Some((from, of)), false) = (&c.auto, quiet) {
            errln!("seisbatch: GPU {} of {of} (from {from})", c.index);
        }
    }
    Ok(chosen.map(|c| c.index))
}
