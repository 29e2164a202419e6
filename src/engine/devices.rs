//! `--device`, `--gpu-index` and `--gpus`: the adapters a run opens, or why it runs on the CPU
//! path. `--device gpu` without an adapter is a usage error; `auto` without a hardware one is
//! the CPU path with the reason. An index past the machine's adapters is a typo, a usage
//! error before anything is written, never a quiet CPU run.

use super::{Device, RunConfig, RunError};
use crate::gpu::{self, adapters::Listing, Gpu};

/// Which adapters (`--gpu-index K`, `--gpus all|N|K,K`); `Best` without either.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Gpus {
    #[default]
    Best,
    Index(usize),
    All,
    Count(usize),
    List(Vec<usize>),
}

impl Gpus {
    /// `--gpus`: `all`, a count `N` (the first N), or indices `K,K` (a single index is
    /// `--gpu-index K`, or `K,`).
    pub fn parse(s: &str) -> Result<Gpus, String> {
        let bad =
            || format!("--gpus {s:?}: all, a count N, or adapter indices K,K (seisbatch adapters)");
        if s == "all" {
            return Ok(Gpus::All);
        }
        if !s.contains(',') {
            return match s.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => Ok(Gpus::Count(n)),
                _ => Err(bad()),
            };
        }
        let mut ks = Vec::new();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let k: usize = part.parse().map_err(|_| bad())?;
            if ks.contains(&k) && !crate::faults::duplicate_gpus() {
                return Err(format!("--gpus {s:?}: adapter {k} twice"));
            }
            ks.push(k);
        }
        if ks.is_empty() || ks.len() > 1024 {
            return Err(bad());
        }
        Ok(Gpus::List(ks))
    }
}

/// The indices `gpus` names among `list`, hardware only for `--device auto`.
fn indices(gpus: &Gpus, list: &[Listing], hardware_only: bool) -> Result<Vec<usize>, String> {
    let eligible: Vec<usize> = list
        .iter()
        .filter(|a| !(hardware_only && a.software))
        .map(|a| a.index)
        .collect();
    let past = |k: usize| {
        format!(
            "adapter {k}: this machine has {} adapter(s) (seisbatch adapters lists them)",
            list.len()
        )
    };
    Ok(match gpus {
        Gpus::Best => eligible.into_iter().take(1).collect(),
        Gpus::Index(k) => {
            if *k >= list.len() {
                return Err(format!("--gpu-index {}", past(*k)));
            }
            vec![*k]
        }
        Gpus::All => eligible,
        Gpus::Count(n) => {
            if eligible.len() < *n {
                return Err(format!(
                    "--gpus {n}: this machine has {} {}adapter(s) (seisbatch adapters lists them)",
                    eligible.len(),
                    if hardware_only { "hardware " } else { "" }
                ));
            }
            eligible.into_iter().take(*n).collect()
        }
        Gpus::List(ks) => {
            if let Some(k) = ks.iter().find(|&&k| k >= list.len()) {
                return Err(format!("--gpus {}", past(*k)));
            }
            ks.clone()
        }
    })
}

/// The run's devices (none: the CPU path, with why).
pub(super) fn select(cfg: &RunConfig) -> Result<(Vec<Gpu>, Option<String>), RunError> {
    if cfg.device == Device::Cpu {
        return Ok((Vec::new(), Some("--device cpu".into())));
    }
    let auto = cfg.device == Device::Auto;
    let usage = |e: String| RunError::Usage(format!("{e}; nothing was processed"));
    let list = gpu::adapters::adapters();
    let picked = indices(&cfg.gpus, &list, auto).map_err(usage)?;
    if picked.is_empty() {
        // The words of gpu::GpuError::NoAdapter, as a run without --gpus said them.
        let why = if list.is_empty() {
            "no GPU adapter: wgpu found none (is a Vulkan driver installed? e.g. mesa-vulkan-drivers)"
        } else {
            "no GPU adapter: only software (CPU-emulated) adapters were found"
        };
        return if auto {
            Ok((
                Vec::new(),
                Some(format!("--device auto found no hardware GPU: {why}")),
            ))
        } else {
            Err(usage(format!(
                "--device gpu: {why} (--device auto runs on the CPU when there is no GPU)"
            )))
        };
    }
    let mut opened = Vec::with_capacity(picked.len());
    for k in picked {
        match Gpu::new(gpu::Want::Index {
            index: k,
            software_ok: !auto,
        }) {
            Ok(g) => opened.push(g),
            Err(e) if auto => {
                return Ok((
                    Vec::new(),
                    Some(format!("--device auto found no hardware GPU: {e}")),
                ))
            }
            Err(e) => return Err(usage(format!("--device gpu: {e}"))),
        }
    }
    Ok((opened, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gpu::adapters::test_listing as a;

    #[test]
    fn gpus_name_adapters_by_index_count_or_all() {
        assert_eq!(Gpus::parse("all"), Ok(Gpus::All));
        assert_eq!(Gpus::parse("2"), Ok(Gpus::Count(2)));
        assert_eq!(Gpus::parse("0,2"), Ok(Gpus::List(vec![0, 2])));
        assert_eq!(Gpus::parse("3,"), Ok(Gpus::List(vec![3])));
        for bad in ["", "0", "x", "1,x", ",", "-1,2", "99999"] {
            assert!(Gpus::parse(bad).is_err(), "{bad}");
        }
        let node = [a(0, false), a(1, false), a(2, true)];
        assert_eq!(indices(&Gpus::All, &node, true), Ok(vec![0, 1]));
        assert_eq!(indices(&Gpus::All, &node, false), Ok(vec![0, 1, 2]));
        assert_eq!(indices(&Gpus::Count(2), &node, true), Ok(vec![0, 1]));
        assert!(indices(&Gpus::Count(3), &node, true)
            .unwrap_err()
            .contains("2 hardware"));
        assert_eq!(
            indices(&Gpus::List(vec![2, 0]), &node, false),
            Ok(vec![2, 0])
        );
        assert!(indices(&Gpus::List(vec![0, 3]), &node, false)
            .unwrap_err()
            .contains("adapter 3"));
        assert!(indices(&Gpus::Index(3), &node, false).is_err());
        assert_eq!(indices(&Gpus::Best, &node, true), Ok(vec![0]));
        assert_eq!(indices(&Gpus::Best, &[a(0, true)], true), Ok(vec![]));
    }
}
