//! `seisbatch bench`: each path as its own `seisbatch run` child process (peak memory is then
//! that path's alone), its report.json read back, one table printed and the same written as
//! JSON. The child's outputs go to a temporary folder removed afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// The path asked for (cpu, gpu, auto) and the one that ran (gpu falls back to cpu).
    pub asked: String,
    pub ran: String,
    pub adapter: Option<String>,
    /// The adapter is a software one (the CPU emulating a GPU): its numbers are no GPU's.
    pub software_adapter: bool,
    pub ok: u64,
    pub failed: u64,
    pub traces_on_device: u64,
    pub wall_seconds: f64,
    pub traces_per_second: f64,
    pub msamples_per_second: f64,
    pub peak_rss_mib: Option<f64>,
    pub stage_seconds: serde_json::Value,
}

pub struct BenchConfig<'a> {
    pub pipeline: &'a Path,
    pub input: &'a Path,
    pub inventory: Option<&'a Path>,
    pub events: Option<&'a Path>,
    pub devices: Vec<&'static str>,
    pub jobs: Option<usize>,
    pub gpu_memory_mib: u64,
}

fn run_one(cfg: &BenchConfig, device: &str, out: &Path) -> Result<BenchRow, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find seisbatch itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(cfg.pipeline)
        .arg("--input")
        .arg(cfg.input)
        .arg("--output")
        .arg(out)
        .args(["--device", device, "--quiet", "--stage-times"])
        .args(["--gpu-memory", &cfg.gpu_memory_mib.to_string()]);
    if let Some(inv) = cfg.inventory {
        cmd.arg("--inventory").arg(inv);
    }
    if let Some(ev) = cfg.events {
        cmd.arg("--events").arg(ev);
    }
    if let Some(j) = cfg.jobs {
        cmd.args(["--jobs", &j.to_string()]);
    }
    let o = cmd
        .output()
        .map_err(|e| format!("{device}: cannot start: {e}"))?;
    // 0 and 3 both mean the run completed (3: some traces failed, which a benchmark set may
    // contain on purpose).
    if !matches!(o.status.code(), Some(0) | Some(3)) {
        return Err(format!(
            "{device}: run failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let text = std::fs::read_to_string(out.join("report.json"))
        .map_err(|e| format!("{device}: report.json: {e}"))?;
    let r: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{device}: report.json: {e}"))?;
    let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let wall = num("wall_seconds").max(1e-9);
    let (ok, failed) = (num("ok"), num("failed"));
    Ok(BenchRow {
        asked: device.to_string(),
        ran: r["device"].as_str().unwrap_or("?").to_string(),
        adapter: r["adapter"]["name"].as_str().map(str::to_string),
        software_adapter: r["adapter"]["device_type"] == "Cpu",
        ok: ok as u64,
        failed: failed as u64,
        traces_on_device: num("traces_on_device") as u64,
        wall_seconds: wall,
        traces_per_second: (ok + failed) / wall,
        msamples_per_second: num("input_samples") / wall / 1e6,
        peak_rss_mib: r["peak_rss_bytes"]
            .as_f64()
            .map(|b| b / (1u64 << 20) as f64),
        stage_seconds: r["stage_seconds"].clone(),
    })
}

pub fn bench(cfg: &BenchConfig) -> Result<Vec<BenchRow>, String> {
    let tmp = std::env::temp_dir().join(format!("seisbatch-bench-{}", std::process::id()));
    let mut rows = Vec::new();
    for device in &cfg.devices {
        let out: PathBuf = tmp.join(device);
        let r = run_one(cfg, device, &out);
        let _ = std::fs::remove_dir_all(&out);
        rows.push(r?);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(rows)
}

/// The table `seisbatch bench` prints.
pub fn table(rows: &[BenchRow]) -> String {
    let mut s = String::from(
        "| path | ran on | traces ok/failed | wall s | traces/s | Msamples/s | read+decode | cpu steps | host prep | upload+record | device | kernels | download | write | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let st = |k: &str| r.stage_seconds[k].as_f64().unwrap_or(0.0);
        let ran = match &r.adapter {
            Some(a) if r.software_adapter => format!("{} ({a}, SOFTWARE)", r.ran),
            Some(a) => format!("{} ({a})", r.ran),
            None => r.ran.clone(),
        };
        s.push_str(&format!(
            "| {} | {ran} | {}/{} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |\n",
            r.asked,
            r.ok,
            r.failed,
            r.wall_seconds,
            r.traces_per_second,
            r.msamples_per_second,
            st("read_decode"),
            st("process_cpu"),
            st("gpu_host_prep"),
            st("gpu_upload_and_record"),
            st("gpu_device"),
            st("gpu_kernels"),
            st("gpu_readback"),
            st("write"),
            r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
        ));
    }
    s
}
