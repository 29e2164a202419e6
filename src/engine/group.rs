//! Runs with a `rotate` step take a station's files from the walk together: MassDownloader
//! stores one file per channel (`NET.STA.LOC.CHA__START__END.mseed`), sorted so that a
//! station's components of one band follow each other. Consecutive files of one folder whose
//! names agree up to the component letter are one group, handed to the executor in one call
//! (`exec::grouped` then groups their traces by the codes inside, as ObsPy does).
//!
//! A resumed run must rotate a half-journaled group whole: its journaled files are read again
//! as partners (`PARTNER`: not admitted, not committed, their results dropped), so the
//! missing ones are computed exactly as before and nothing is written twice.

use std::collections::HashSet;
use std::iter::Peekable;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::work::{walk_failure, Ctx};
use super::{merge, Inputs};
use crate::read::tree::InputFile;
use crate::write::journal;

/// Files taken together at most (a station with three components in eight time chunks); a
/// longer run of one name prefix continues in the next group. Admitted together
/// (`Committer::admit_group`), so a group never waits for room its own files hold.
pub const GROUP_MAX: usize = 24;

/// The sequence number of a partner: a journaled file read again for its group.
pub const PARTNER: u64 = u64::MAX;

pub type Walk = Mutex<Peekable<Inputs>>;

/// Group key: the folder and `NET.STA.LOC.CH` (the channel without its last letter) of a
/// MassDownloader file name; `None` (a group of its own) for any other name.
fn key(f: &InputFile) -> Option<(&Path, String)> {
    let name = f.path.file_name()?.to_str()?;
    let codes = name.split("__").next()?;
    let parts: Vec<&str> = codes.split('.').collect();
    if parts.len() != 4 || parts[3].is_empty() || !name.contains("__") {
        return None;
    }
    let mut cha = parts[3].to_string();
    cha.pop();
    Some((
        f.path.parent()?,
        format!("{}.{}.{}.{cha}", parts[0], parts[1], parts[2]),
    ))
}

impl Ctx<'_> {
    /// The next group (one file unless the pipeline rotates), each admitted with its
    /// sequence number and size, or `PARTNER` for a file an earlier run journaled. Empty when
    /// the walk is done.
    pub fn take_group(&self, walker: &Walk) -> Vec<(u64, u64, InputFile)> {
        let Ok(mut w) = walker.lock() else {
            return Vec::new();
        };
        let rotate = !self.segments.rotates.is_empty();
        let journaled = |f: &InputFile| self.journaled.contains(&journal::key(&f.rel));
        let group = loop {
            let group = next_group(&mut w, rotate, self);
            // A group every file of which an earlier run committed: nothing left to do.
            if group.is_empty() || !group.iter().all(journaled) {
                break group;
            }
        };
        // The group's own files, admitted together (`Committer::admit_group`).
        let sizes: Vec<u64> = group
            .iter()
            .filter(|f| !journaled(f))
            .map(super::work::size)
            .collect();
        let mut seq = self.committer.admit_group(&sizes);
        self.files.fetch_add(sizes.len(), Ordering::Relaxed);
        let mut sizes = sizes.into_iter();
        group
            .into_iter()
            .map(|f| {
                if journaled(&f) {
                    return (PARTNER, 0, f);
                }
                let bytes = sizes.next().unwrap_or(0);
                seq += 1;
                (seq - 1, bytes, f)
            })
            .collect()
    }
}

/// Consecutive files of one group key (one file unless `rotate`); walk errors reported.
fn next_group(w: &mut Peekable<Inputs>, rotate: bool, ctx: &Ctx) -> Vec<InputFile> {
    let mut group: Vec<InputFile> = Vec::new();
    loop {
        let next = match w.peek() {
            None => break,
            Some(Err(_)) => {
                if let Some(Err(e)) = w.next() {
                    merge(ctx.totals, walk_failure(e));
                }
                continue;
            }
            Some(Ok(f)) => f,
        };
        if let Some(first) = group.first() {
            let same = key(first).is_some() && key(first) == key(next);
            if !rotate || !same || group.len() >= GROUP_MAX {
                break;
            }
        }
        if let Some(Ok(f)) = w.next() {
            group.push(f);
        }
        if !rotate {
            break;
        }
    }
    group
}

/// The journal's keys the walk leaves out: all of them, except in a rotate run (`take_group`
/// needs journaled files as partners).
pub fn skip_journaled(
    inputs: Inputs,
    keys: HashSet<String>,
    rotate: bool,
) -> (Inputs, HashSet<String>) {
    if rotate {
        return (inputs, keys);
    }
    let walker: Inputs = Box::new(inputs.filter(move |r| match r {
        Ok(f) => !keys.contains(&journal::key(&f.rel)),
        Err(_) => true,
    }));
    (walker, HashSet::new())
}
