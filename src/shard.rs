//! Scale-out on the launchers users already have: `--shard K/N` (0-based K) or `--shard auto`
//! picks this process's share of the inputs, deterministically, so N processes started by
//! Slurm, mpirun, a Kubernetes Indexed Job or an AWS Batch array together write exactly the
//! files one run writes, each with its own `report.K-of-N.json` (`seisbatch report` merges).
//!
//! The split is balanced by input bytes and made of whole output folders (a MassDownloader
//! event): every process walks the same sorted input, so every process computes the same
//! units and the same cut points without talking to the others. A unit goes to the shard
//! whose byte range holds the unit's middle byte. An output folder is never split across
//! shards, not even when the walk comes back to it (`A/x`, `A/b/y`, `A/z`): output names are
//! made unique within a folder in walk order by one process, so two shards writing one folder
//! could give two traces one name. With fewer output folders than shards, the extra shards
//! have nothing to do (their reports say so).
//!
//! An ASDF file is pyasdf's data set, often a whole project in one file: its stations (one
//! output folder) are split among the shards, a station each (the file's bytes shared evenly
//! by its stations). Names cannot collide across its stations: a waveform's codes must be its
//! station group's (`read::asdf`), and stations whose names differ only in case (one name on
//! a case-folding file system) go to one shard. A folder an ASDF file shares with anything
//! else (`X/` beside `X.h5`, `X.h5` beside `X.hdf5`) stays whole.

use std::path::{Path, PathBuf};

use crate::read::tree::InputFile;
use crate::read::walk::{Exclude, Sizer, Survey, WalkError, Walker};

/// This process's share: shard `index` of `count` (0 <= index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `K/N` with 0 <= K < N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected K/N with 0 <= K < N (e.g. 0/4), or auto");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        if count > crate::limits::MAX_SHARDS {
            return Err(format!(
                "--shard {s:?}: at most {} shards",
                crate::limits::MAX_SHARDS
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard from the launcher's environment (`--shard auto`), with the variables that
    /// gave it. `count_hint` is `--shard-count` (Kubernetes Indexed Jobs set only the index).
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        count_hint: Option<usize>,
    ) -> Result<(Shard, String), String> {
        let num = |v: &str| get(v).and_then(|s| s.trim().parse::<usize>().ok());
        let make = |index: usize, count: usize, from: &str| {
            if count == 0 || index >= count || count > crate::limits::MAX_SHARDS {
                Err(format!(
                    "--shard auto: {from} gives index {index} of {count} (at most {} shards)",
                    crate::limits::MAX_SHARDS
                ))
            } else {
                Ok((Shard { index, count }, from.to_string()))
            }
        };
        // Slurm job arrays: task ids may start anywhere (--array=1-8), so index from the min.
        if let Some(id) = num("SLURM_ARRAY_TASK_ID") {
            let min = num("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
            let count = num("SLURM_ARRAY_TASK_COUNT")
                .or_else(|| Some(num("SLURM_ARRAY_TASK_MAX")? - min + 1))
                .or(count_hint)
                .ok_or("--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT (or _MAX); give --shard-count")?;
            let index = id.checked_sub(min).ok_or_else(|| {
                format!(
                    "--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                )
            })?;
            return make(index, count, "SLURM_ARRAY_TASK_ID/MIN/COUNT");
        }
        let pairs = [
            ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "Open MPI"),
            ("PMI_RANK", "PMI_SIZE", "MPICH/PMI"),
            ("PMIX_RANK", "PMIX_SIZE", "PMIx"),
            ("SLURM_PROCID", "SLURM_NTASKS", "Slurm tasks (srun)"),
            (
                "AWS_BATCH_JOB_ARRAY_INDEX",
                "AWS_BATCH_JOB_ARRAY_SIZE",
                "AWS Batch array",
            ),
        ];
        for (rank, size, what) in pairs {
            if let Some(index) = num(rank) {
                let count = num(size).or(count_hint).ok_or_else(|| {
                    format!("--shard auto: {rank} is set but not {size}; give --shard-count")
                })?;
                return make(index, count, what);
            }
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX") {
            let count = count_hint.or_else(|| num("SEISBATCH_SHARD_COUNT")).ok_or(
                "--shard auto: a Kubernetes Indexed Job sets only JOB_COMPLETION_INDEX; give --shard-count N (the Job's completions) or SEISBATCH_SHARD_COUNT",
            )?;
            return make(index, count, "Kubernetes JOB_COMPLETION_INDEX");
        }
        Err("--shard auto: no launcher found in the environment (looked for Slurm, Open MPI, MPICH/PMI, PMIx, Kubernetes Indexed Job and AWS Batch array variables)".into())
    }

    /// `report.K-of-N.json`.
    pub fn report_name(&self) -> String {
        format!("report.{}-of-{}.json", self.index, self.count)
    }
}

/// The inputs of one shard, in walk order: units (an output folder's consecutive files) are
/// buffered one at a time, sized, and kept when their middle byte falls in this shard's share
/// of `total_bytes` (or, for a folder the walk comes back to, when it was this shard's).
pub struct Sharded {
    walker: Walker,
    shard: Shard,
    total_bytes: u64,
    /// Bytes of the units before the one being gathered.
    before: u64,
    /// Files of the unit being gathered, and the next walked file (the next unit's first).
    unit: Vec<(InputFile, u64)>,
    ahead: Option<(InputFile, u64)>,
    ready: std::collections::VecDeque<InputFile>,
    /// Walk errors go to shard 0 only, so a merged report lists each once.
    errors: std::collections::VecDeque<WalkError>,
    /// Owners of the output folders the walk may come back to (those above the current one):
    /// a whole folder (None), or an ASDF station in it (its name in lower case).
    owners: Vec<(PathBuf, Option<String>, usize)>,
    sizer: Sizer,
    done: bool,
}

/// Input totals every shard computes alike (one counting walk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub files: usize,
    pub bytes: u64,
    /// Output folders, counted as runs of consecutive files with one output folder.
    pub folders: usize,
}

/// The totals, and what the walk skipped (shard 0 reports it).
pub fn totals(input: &Path, exclude: &Exclude) -> std::io::Result<(Totals, Survey)> {
    let mut t = Totals::default();
    let mut survey = Survey::default();
    let mut last: Option<std::sync::Arc<Path>> = None;
    let mut sizer = Sizer::default();
    let mut w = Walker::new(input, exclude.clone())?;
    while let Some(f) = w.next() {
        let skips = w.take_skipped();
        survey.note_skips(skips);
        let Ok(f) = f else { continue };
        t.files += 1;
        t.bytes += sizer.size(&f);
        if last.as_deref() != Some(&*f.out_dir) {
            t.folders += 1;
            last = Some(f.out_dir.clone());
        }
    }
    let skips = w.take_skipped();
    survey.note_skips(skips);
    survey.files = t.files;
    survey.bytes = t.bytes;
    Ok((t, survey))
}

/// Whether a unit is the stations of one ASDF file (and nothing else).
fn one_asdf_file(unit: &[(InputFile, u64)]) -> bool {
    unit.first().is_some_and(|(f, _)| {
        unit.iter()
            .all(|(g, _)| g.asdf.is_some() && g.path == f.path)
    })
}

impl Sharded {
    pub fn new(
        input: &Path,
        shard: Shard,
        totals: Totals,
        exclude: &Exclude,
    ) -> std::io::Result<Sharded> {
        Ok(Sharded {
            walker: Walker::new(input, exclude.clone())?,
            shard,
            total_bytes: totals.bytes,
            before: 0,
            unit: Vec::new(),
            ahead: None,
            ready: Default::default(),
            errors: Default::default(),
            owners: Vec::new(),
            sizer: Sizer::default(),
            done: false,
        })
    }

    /// Which shard a unit of `len` bytes starting at byte `start` belongs to.
    fn owner(&self, start: u64, len: u64) -> usize {
        let n = self.shard.count as u128;
        if self.total_bytes == 0 {
            return 0;
        }
        let mid = u128::from(start) * 2 + u128::from(len); // twice the middle byte
        ((mid * n) / (2 * u128::from(self.total_bytes))).min(n - 1) as usize
    }

    /// Closes the unit being gathered: its files go to `ready` if it is ours.
    fn close_unit(&mut self) {
        let len: u64 = self.unit.iter().map(|(_, s)| s).sum();
        let Some(dir) = self.unit.first().map(|(f, _)| f.out_dir.to_path_buf()) else {
            return;
        };
        // Folders above this one may come back; the others are done.
        self.owners.retain(|(d, _, _)| dir.starts_with(d));
        let whole = self
            .owners
            .iter()
            .find(|(d, s, _)| *d == dir && s.is_none());
        if whole.is_none() && one_asdf_file(&self.unit) {
            return self.close_stations(dir, len);
        }
        let owner = match whole {
            Some(&(_, _, o)) => o,
            None => {
                let o = self.owner(self.before, len);
                self.owners.push((dir, None, o));
                o
            }
        };
        let mine = owner == self.shard.index;
        self.before += len;
        for (f, _) in self.unit.drain(..) {
            if mine {
                self.ready.push_back(f);
            }
        }
    }

    /// An ASDF file's stations, each its own unit of an even share of the file's bytes.
    fn close_stations(&mut self, dir: PathBuf, len: u64) {
        let n = self.unit.len() as u64;
        let unit = std::mem::take(&mut self.unit);
        for (i, (f, _)) in unit.into_iter().enumerate() {
            let share = len / n + u64::from((i as u64) < len % n);
            let key = f.asdf.as_deref().map(str::to_lowercase);
            let owner = match self.owners.iter().find(|(d, s, _)| *d == dir && *s == key) {
                Some(&(_, _, o)) => o,
                None => {
                    let o = self.owner(self.before, share);
                    self.owners.push((dir.clone(), key, o));
                    o
                }
            };
            self.before += share;
            if owner == self.shard.index {
                self.ready.push_back(f);
            }
        }
    }

    /// Walks until a unit is complete (or the walk ends).
    fn gather(&mut self) {
        loop {
            let next = match self.ahead.take() {
                Some(x) => Some(Ok(x)),
                None => self.walker.next().map(|r| {
                    r.map(|f| {
                        let s = self.sizer.size(&f);
                        (f, s)
                    })
                }),
            };
            self.walker.take_skipped(); // shard 0 reports them from `totals`
            match next {
                None => {
                    self.close_unit();
                    self.done = true;
                    return;
                }
                Some(Err(e)) => {
                    if self.shard.index == 0 {
                        self.errors.push_back(e);
                        return;
                    }
                }
                Some(Ok((f, s))) => {
                    let same = self
                        .unit
                        .last()
                        .is_some_and(|(g, _)| g.out_dir == f.out_dir);
                    if self.unit.is_empty() || same {
                        self.unit.push((f, s));
                    } else {
                        self.ahead = Some((f, s));
                        self.close_unit();
                        return;
                    }
                }
            }
        }
    }
}

impl Iterator for Sharded {
    type Item = Result<InputFile, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.errors.pop_front() {
                return Some(Err(e));
            }
            if let Some(f) = self.ready.pop_front() {
                return Some(Ok(f));
            }
            if self.done {
                return None;
            }
            self.gather();
        }
    }
}

/// `--shard K/N|auto` (with `--shard-count` for auto) -> this process's share.
pub fn from_flag(
    arg: Option<&str>,
    count: Option<usize>,
    quiet: bool,
) -> Result<Option<Shard>, String> {
    Ok(match arg {
        None => None,
        Some("auto") => {
            let (s, from) = Shard::from_env(|k| std::env::var(k).ok(), count)?;
            if !quiet {
                crate::console::errln!("seisbatch: shard {}/{} (from {from})", s.index, s.count);
            }
            Some(s)
        }
        Some(k) => Some(Shard::parse(k)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn shard_flags_and_launcher_environments() {
        assert_eq!(Shard::parse("2/5"), Ok(Shard { index: 2, count: 5 }));
        assert!(Shard::parse("5/5").is_err() && Shard::parse("1/0").is_err());
        assert!(Shard::parse("x").is_err());
        assert!(Shard::parse("0/100000000000").is_err(), "a typo, not a run");
        let got = |vars: &[(&str, &str)], hint| Shard::from_env(env(vars), hint).map(|r| r.0);
        let s = |index, count| Ok(Shard { index, count });
        assert_eq!(
            got(
                &[
                    ("SLURM_ARRAY_TASK_ID", "3"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_COUNT", "8")
                ],
                None
            ),
            s(2, 8)
        );
        assert_eq!(
            got(
                &[
                    ("SLURM_ARRAY_TASK_ID", "4"),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_MAX", "9")
                ],
                None
            ),
            s(4, 10)
        );
        // An array task also has SLURM_PROCID=0 / SLURM_NTASKS=1: the array wins.
        assert_eq!(
            got(
                &[
                    ("SLURM_ARRAY_TASK_ID", "1"),
                    ("SLURM_ARRAY_TASK_COUNT", "2"),
                    ("SLURM_PROCID", "0"),
                    ("SLURM_NTASKS", "1")
                ],
                None
            ),
            s(1, 2)
        );
        assert_eq!(
            got(&[("SLURM_PROCID", "5"), ("SLURM_NTASKS", "6")], None),
            s(5, 6)
        );
        assert_eq!(
            got(
                &[("OMPI_COMM_WORLD_RANK", "0"), ("OMPI_COMM_WORLD_SIZE", "3")],
                None
            ),
            s(0, 3)
        );
        assert_eq!(got(&[("PMI_RANK", "1"), ("PMI_SIZE", "4")], None), s(1, 4));
        assert_eq!(
            got(
                &[
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "7"),
                    ("AWS_BATCH_JOB_ARRAY_SIZE", "10")
                ],
                None
            ),
            s(7, 10)
        );
        assert_eq!(got(&[("JOB_COMPLETION_INDEX", "2")], Some(4)), s(2, 4));
        assert!(got(&[("JOB_COMPLETION_INDEX", "2")], None).is_err());
        assert!(got(
            &[("OMPI_COMM_WORLD_RANK", "3"), ("OMPI_COMM_WORLD_SIZE", "3")],
            None
        )
        .is_err());
        assert!(got(&[], None).is_err());
    }

    /// N shards take every file exactly once, whole folders each, balanced by bytes.
    #[test]
    fn shards_partition_the_input_by_folders_and_bytes() {
        let d = tempfile::tempdir().unwrap();
        for e in 0..12 {
            for f in 0..3 {
                let p = d.path().join(format!("ev{e:02}/raw/f{f}.mseed"));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, vec![0u8; 100 * (e + 1)]).unwrap();
            }
        }
        let t = totals(d.path(), &Exclude::default()).unwrap().0;
        assert_eq!((t.files, t.folders), (36, 12));
        for n in [1usize, 2, 3, 5, 12, 20] {
            let mut seen = Vec::new();
            let mut bytes = Vec::new();
            for k in 0..n {
                let files: Vec<InputFile> = Sharded::new(
                    d.path(),
                    Shard { index: k, count: n },
                    t,
                    &Exclude::default(),
                )
                .unwrap()
                .flatten()
                .collect();
                let size = |f: &InputFile| std::fs::metadata(&f.path).map_or(0, |m| m.len());
                bytes.push(files.iter().map(size).sum::<u64>());
                // Whole folders, always (more shards than folders leaves some idle).
                for f in &files {
                    let same = files.iter().filter(|g| g.out_dir == f.out_dir).count();
                    assert_eq!(same, 3, "n={n}: folder {:?} split", f.out_dir);
                }
                seen.extend(files.into_iter().map(|f| f.path));
            }
            let all: Vec<_> = Walker::new(d.path(), Exclude::default())
                .unwrap()
                .flatten()
                .map(|f| f.path)
                .collect();
            seen.sort();
            assert_eq!(seen, all, "n={n}: every file exactly once");
            if n == 3 {
                // 23,400 bytes: no shard far from a third (folders of 300..3,600 bytes).
                assert!(
                    bytes.iter().all(|&b| (5_000..=11_000).contains(&b)),
                    "{bytes:?}"
                );
            }
        }
    }

    /// A folder the walk comes back to (A/x, A/b/y, A/z) goes to one shard, whatever the byte
    /// split says: names are made unique per folder by one process.
    #[test]
    fn a_folder_the_walk_returns_to_stays_with_one_shard() {
        let d = tempfile::tempdir().unwrap();
        for (f, n) in [
            ("A/x.mseed", 1000),
            ("A/b/y.mseed", 10),
            ("A/z.mseed", 1000),
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![0u8; n]).unwrap();
        }
        let t = totals(d.path(), &Exclude::default()).unwrap().0;
        let owner_of = |name: &str| {
            (0..2)
                .find(|&k| {
                    Sharded::new(
                        d.path(),
                        Shard { index: k, count: 2 },
                        t,
                        &Exclude::default(),
                    )
                    .unwrap()
                    .flatten()
                    .any(|f| f.path.ends_with(name))
                })
                .unwrap()
        };
        assert_eq!(owner_of("x.mseed"), owner_of("z.mseed"));
    }
}
