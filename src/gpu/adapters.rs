//! The machine's adapters in one stable order, so that an index means the same GPU in every
//! process on a node (`seisbatch adapters` lists them; `--gpu-index K` opens one): hardware
//! before software (discrete, integrated, virtual, other, CPU), then by PCI bus id (the
//! slot order of a node's identical GPUs), name and backend. Vulkan sees every GPU of the
//! node whatever CUDA_VISIBLE_DEVICES says, so one process per GPU picks its own by index
//! (`--gpu-index auto`: the launcher's local rank).

use serde::Serialize;

/// One adapter as `seisbatch adapters` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Listing {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    /// A CPU-emulated adapter (lavapipe, llvmpipe, WARP): correct, never fast.
    pub software: bool,
    pub driver: String,
    pub driver_info: String,
    pub pci_bus_id: String,
    /// SHADER_F64: the filters and f64 transforms run on the device.
    pub shader_f64: bool,
    /// The largest storage binding and buffer the adapter allows. wgpu reports no memory size
    /// (Vulkan's heap sizes need an extension): `--gpu-memory` sets the budget.
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
}

pub(super) fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// Every adapter wgpu finds (WGPU_BACKEND and the like from the environment win, as in every
/// wgpu program), in the stable order.
pub(super) fn ordered() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_cached_key(|a| {
        let i = a.get_info();
        (
            rank(i.device_type),
            i.device_pci_bus_id,
            i.name,
            format!("{:?}", i.backend),
        )
    });
    adapters
}

pub(super) fn listing(index: usize, a: &wgpu::Adapter) -> Listing {
    let i = a.get_info();
    let limits = a.limits();
    Listing {
        index,
        name: i.name,
        backend: format!("{:?}", i.backend),
        device_type: format!("{:?}", i.device_type),
        software: i.device_type == wgpu::DeviceType::Cpu,
        driver: i.driver,
        driver_info: i.driver_info,
        pci_bus_id: i.device_pci_bus_id,
        shader_f64: a.features().contains(wgpu::Features::SHADER_F64),
        max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
        max_buffer_bytes: limits.max_buffer_size,
    }
}

/// The adapters, indexed as `--gpu-index` takes them.
pub fn adapters() -> Vec<Listing> {
    ordered()
        .iter()
        .enumerate()
        .map(|(k, a)| listing(k, a))
        .collect()
}

/// Launchers' variables for a process's rank on its node, in the order looked at.
pub const LOCAL_RANK_VARS: [&str; 5] = [
    "SLURM_LOCALID",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "LOCAL_RANK",
];

/// `--gpu-index auto`: the local rank modulo the hardware adapters (all adapters where there
/// is none), so that ranks share a node's GPUs round robin; with the variable it came from.
pub fn auto_index(
    env: impl Fn(&str) -> Option<String>,
    list: &[Listing],
) -> Result<(usize, String), String> {
    let (var, rank) = LOCAL_RANK_VARS
        .iter()
        .find_map(|v| env(v).map(|s| (*v, s)))
        .ok_or_else(|| {
            format!(
                "--gpu-index auto: no local rank in the environment ({}); give --gpu-index K",
                LOCAL_RANK_VARS.join(", ")
            )
        })?;
    let rank: usize = rank
        .trim()
        .parse()
        .map_err(|_| format!("--gpu-index auto: {var}={rank:?} is not a rank"))?;
    let hardware = list.iter().filter(|a| !a.software).count();
    let n = if hardware > 0 { hardware } else { list.len() };
    if n == 0 {
        return Err("--gpu-index auto: wgpu found no adapter".into());
    }
    Ok((rank % n, format!("{var}={rank}")))
}

/// What `--gpu-index` chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub index: usize,
    /// For `auto`: the launcher's variable it came from and the adapters it chose among
    /// (the command line says so; this layer prints nothing).
    pub auto: Option<(String, usize)>,
}

/// `--gpu-index K|auto` -> the adapter's index (None: the best adapter).
pub fn index_flag(arg: Option<&str>, cpu: bool) -> Result<Option<Chosen>, String> {
    let Some(arg) = arg else {
        return Ok(None);
    };
    if cpu {
        return Err("--gpu-index: --device cpu uses no GPU".into());
    }
    if arg != "auto" {
        return arg
            .parse()
            .map(|index| Some(Chosen { index, auto: None }))
            .map_err(|_| {
                format!("--gpu-index {arg:?}: an adapter's index (seisbatch adapters) or auto")
            });
    }
    let list = adapters();
    let (index, from) = auto_index(|v| std::env::var(v).ok(), &list)?;
    Ok(Some(Chosen {
        index,
        auto: Some((from, list.len())),
    }))
}

/// A listing for tests (one constructor for every module's tests).
#[cfg(test)]
pub(crate) fn test_listing(index: usize, software: bool) -> Listing {
    Listing {
        index,
        name: format!("gpu{index}"),
        backend: "Vulkan".into(),
        device_type: if software { "Cpu" } else { "DiscreteGpu" }.into(),
        software,
        driver: String::new(),
        driver_info: String::new(),
        pci_bus_id: String::new(),
        shader_f64: true,
        max_storage_binding_bytes: 1 << 30,
        max_buffer_bytes: 1 << 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_listing as a;

    #[test]
    fn auto_takes_the_local_rank_round_robin_over_hardware() {
        let node = [a(0, false), a(1, false), a(2, true)];
        let env = |rank: &'static str| move |k: &str| (k == "SLURM_LOCALID").then(|| rank.into());
        assert_eq!(auto_index(env("1"), &node).unwrap().0, 1);
        // Three ranks on two GPUs: the third shares the first (never the software adapter).
        assert_eq!(auto_index(env("2"), &node).unwrap().0, 0);
        assert!(auto_index(env("x"), &node)
            .unwrap_err()
            .contains("SLURM_LOCALID"));
        assert!(auto_index(|_| None, &node)
            .unwrap_err()
            .contains("give --gpu-index K"));
        // Only a software adapter: it is the one.
        assert_eq!(auto_index(env("3"), &[a(0, true)]).unwrap().0, 0);
        assert!(auto_index(env("0"), &[]).is_err());
        let torch = |k: &str| (k == "LOCAL_RANK").then(|| "1".to_string());
        assert_eq!(
            auto_index(torch, &node).unwrap(),
            (1, "LOCAL_RANK=1".into())
        );
    }
}
