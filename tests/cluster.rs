//! Shards on a real launcher (issue #5): `mpirun -np 3 seisbatch run ... --shard auto` writes
//! byte for byte what one run writes, and `seisbatch report` merges the shard reports into the
//! single run's report. Without mpirun the test fails under CI=true (CI installs Open MPI) and
//! is skipped elsewhere, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{bin, exit_in as ok, outputs, same_report, short_run as run};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A synthetic MassDownloader set with bad traces (each bad kind at least once).
fn data(dir: &Path) -> PathBuf {
    common::synth(dir, 7, 2, 60, 0.15)
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn mpirun_shards_write_what_one_run_writes() {
    let has_mpirun = Command::new("mpirun").arg("--version").output().is_ok();
    if !has_mpirun {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Open MPI (scripts/setup.sh installs openmpi-bin)"
        );
        eprintln!("SKIPPED: no mpirun on this machine (apt-get install openmpi-bin)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = data(tmp.path());
    let single = tmp.path().join("single");
    ok(&run(&input, &single, &[]).output().unwrap(), &[3]);

    let sharded = tmp.path().join("mpi");
    let mut mpi = Command::new("mpirun");
    mpi.args(["--allow-run-as-root", "--oversubscribe", "-np", "3"])
        .arg(env!("CARGO_BIN_EXE_seisbatch"))
        .args(run(&input, &sharded, &["--shard", "auto"]).get_args());
    ok(&mpi.output().unwrap(), &[0]);
    for k in 0..3 {
        assert!(sharded.join(format!("report.{k}-of-3.json")).is_file());
    }
    let merged = bin().arg("report").arg(&sharded).output().unwrap();
    ok(&merged, &[3]);
    let text = String::from_utf8_lossy(&merged.stdout);
    assert!(text.contains("3 of 3 shards reported"), "{text}");
    assert_eq!(outputs(&single).0, outputs(&sharded).0);
    same_report(
        &json(&single.join("report.json")),
        &json(&sharded.join("report.json")),
    );
}

/// Explicit K/N shards partition the work whatever N (more shards than events included),
/// and a shard that has not reported is named, with exit 4.
#[test]
fn explicit_shards_partition_and_a_missing_shard_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let input = data(tmp.path());
    let single = tmp.path().join("single");
    ok(&run(&input, &single, &[]).output().unwrap(), &[3]);
    for n in [2usize, 9] {
        let out = tmp.path().join(format!("n{n}"));
        for k in 0..n {
            let o = run(&input, &out, &["--shard", &format!("{k}/{n}")])
                .output()
                .unwrap();
            ok(&o, &[0]);
        }
        assert_eq!(outputs(&single).0, outputs(&out).0, "{n} shards");
        ok(&bin().arg("report").arg(&out).output().unwrap(), &[3]);
        same_report(
            &json(&single.join("report.json")),
            &json(&out.join("report.json")),
        );
    }
    std::fs::remove_file(tmp.path().join("n2/report.1-of-2.json")).unwrap();
    let o = bin()
        .arg("report")
        .arg(tmp.path().join("n2"))
        .output()
        .unwrap();
    ok(&o, &[4]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("not reported: shard 1/2"));
    // Bad flags are usage errors.
    let o = run(&input, &tmp.path().join("bad"), &["--shard", "3/3"])
        .output()
        .unwrap();
    ok(&o, &[2]);
}

/// The job scripts in examples/cluster parse, and every flag they give `seisbatch run` exists.
#[test]
fn example_job_scripts_use_real_flags() {
    let dir = root().join("examples/cluster");
    let help = bin().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name == "Dockerfile" || name == "nvidia_icd.json" {
            continue; // the image, not a launcher: example_image_carries_vulkans_nvidia_icd
        }
        let text = std::fs::read_to_string(&p).unwrap();
        if p.extension().is_some_and(|x| x == "json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
        if p.extension().is_some_and(|x| x == "sh") {
            ok(
                &Command::new("bash").arg("-n").arg(&p).output().unwrap(),
                &[0],
            );
        }
        assert!(text.contains("--shard auto"), "{p:?}");
        let commands: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        for flag in commands
            .split(|c: char| c.is_whitespace() || c == '"')
            .filter(|w| w.starts_with("--") && w.len() > 2)
        {
            let flag = flag.split('=').next().unwrap();
            assert!(help.contains(flag), "{p:?}: `seisbatch run` has no {flag}");
        }
        // The GPU launchers ask the scheduler for GPUs and give each process its own.
        if name.contains("gpu") {
            assert!(
                text.contains("--gres=gpu:")
                    || text.contains("nvidia.com/gpu: 1")
                    || text.contains(r#"{ "type": "GPU", "value": "1" }"#),
                "{p:?}: no GPU requested"
            );
            assert!(commands.contains("--gpu-index"), "{p:?}");
            assert!(commands.contains("--device gpu"), "{p:?}");
        }
        seen += 1;
    }
    assert_eq!(seen, 6);
}

/// The container recipe: the binary, Vulkan's loader, the NVIDIA ICD file it copies (valid,
/// naming the driver's library) and the capability that makes the NVIDIA toolkit mount that
/// library; its default command is a real one.
#[test]
fn example_image_carries_vulkans_nvidia_icd() {
    let dir = root().join("examples/cluster");
    let docker = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    for line in [
        "COPY target/release/seisbatch /usr/local/bin/seisbatch",
        "COPY examples/cluster/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json",
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics",
        "libvulkan1",
        r#"CMD ["adapters"]"#,
    ] {
        assert!(docker.contains(line), "Dockerfile: no {line}");
    }
    let icd: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nvidia_icd.json")).unwrap())
            .unwrap();
    assert_eq!(icd["ICD"]["library_path"], "libGLX_nvidia.so.0");
    ok(&bin().arg("adapters").output().unwrap(), &[0]);
}

/// `seisbatch adapters` lists what `--gpu-index` takes; an index past them is a usage error
/// before anything is written; `--gpu-index auto` takes the launcher's local rank (one
/// process per GPU), and without one says which variables it looked at.
/// `seisbatch run` of the short chain with `extra` (the device among them).
fn run_on(input: &Path, output: &Path, extra: &[&str]) -> Command {
    let mut c = common::run_cmd(&root().join("bench/short_chain.toml"), input, output);
    c.arg("--quiet").args(extra);
    c
}

#[test]
fn gpu_index_opens_the_listed_adapter() {
    let o = bin().args(["adapters", "--json"]).output().unwrap();
    ok(&o, &[0]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = list.as_array().unwrap();
    for (k, a) in list.iter().enumerate() {
        assert_eq!(a["index"], k, "{a}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = data(tmp.path());
    let past = tmp.path().join("past");
    let o = run_on(
        &input,
        &past,
        &["--device", "gpu", "--gpu-index", &list.len().to_string()],
    )
    .output()
    .unwrap();
    ok(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("adapter"));
    assert!(!past.exists(), "nothing written");
    let o = run_on(&input, &past, &["--device", "cpu", "--gpu-index", "0"])
        .output()
        .unwrap();
    ok(&o, &[2]);
    let o = run_on(&input, &past, &["--device", "gpu", "--gpu-index", "auto"])
        .env_remove("SLURM_LOCALID")
        .env_remove("OMPI_COMM_WORLD_LOCAL_RANK")
        .env_remove("MPI_LOCALRANKID")
        .env_remove("MV2_COMM_WORLD_LOCAL_RANK")
        .env_remove("LOCAL_RANK")
        .output()
        .unwrap();
    ok(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("SLURM_LOCALID"));
    if list.is_empty() {
        assert!(std::env::var_os("CI").is_none(), "CI has lavapipe");
        eprintln!("SKIPPED: no adapter to open");
        return;
    }
    // The last adapter (lavapipe in CI), by index and by local rank: the report names it.
    let k = list.len() - 1;
    for (how, extra) in [
        ("index", vec!["--gpu-index".to_string(), k.to_string()]),
        ("rank", vec!["--gpu-index".into(), "auto".into()]),
    ] {
        let out = tmp.path().join(how);
        let mut c = run_on(&input, &out, &["--device", "gpu"]);
        c.args(&extra).env("SLURM_LOCALID", k.to_string());
        ok(&c.output().unwrap(), &[3]);
        let r = json(&out.join("report.json"));
        let hardware = list.iter().filter(|a| a["software"] == false).count();
        let want = if how == "rank" && hardware > 0 {
            k % hardware
        } else {
            k
        };
        assert_eq!(r["adapter"]["index"], want, "{how}: {r}");
        assert_eq!(r["adapter"]["name"], list[want]["name"], "{how}");
        assert!(r["traces_on_device"].as_u64().unwrap() > 0, "{how}: {r}");
    }
    // Two shards on the adapter: `seisbatch report` counts its traces over both.
    let sharded = tmp.path().join("sharded");
    for s in ["0/2", "1/2"] {
        let extra = [
            "--device",
            "gpu",
            "--gpu-index",
            &k.to_string(),
            "--shard",
            s,
        ];
        ok(&run_on(&input, &sharded, &extra).output().unwrap(), &[0]);
    }
    ok(&bin().arg("report").arg(&sharded).output().unwrap(), &[3]);
    let r = json(&sharded.join("report.json"));
    let d = &r["devices"];
    assert_eq!(d.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(d[0]["index"], k);
    assert_eq!(d[0]["shards"], 2);
    assert_eq!(d[0]["traces_on_device"], r["traces_on_device"]);
    assert!(r["traces_on_device"].as_u64().unwrap() > 0, "{r}");
}

/// `--gpus`: several devices fed by one process write the bytes one device writes, and the
/// report counts each device's traces. CI has one adapter (lavapipe), so the test opens it
/// twice (`SEISBATCH_TEST_DUPLICATE_GPUS`, a test hook: two wgpu devices on one adapter run
/// the several-device path); without the hook one adapter twice is refused, as are more
/// adapters than there are and `--gpus` with `--device cpu`.
#[test]
fn several_devices_in_one_process_write_what_one_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = data(tmp.path());
    for (extra, why) in [
        (vec!["--device", "gpu", "--gpus", "0,0"], "twice"),
        (vec!["--device", "gpu", "--gpus", "64"], "adapter"),
        (vec!["--device", "cpu", "--gpus", "all"], "--device cpu"),
        (
            vec!["--device", "gpu", "--gpus", "1", "--gpu-index", "0"],
            "--gpu-index",
        ),
    ] {
        let out = tmp.path().join("refused");
        let o = run_on(&input, &out, &extra).output().unwrap();
        ok(&o, &[2]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(why),
            "{extra:?}: {o:?}"
        );
        assert!(!out.exists(), "{extra:?}: nothing written");
    }
    if !common::gpu_available() {
        return;
    }
    let one = tmp.path().join("one");
    ok(
        &run_on(&input, &one, &["--device", "gpu", "--jobs", "2"])
            .output()
            .unwrap(),
        &[3],
    );
    let two = tmp.path().join("two");
    let o = run_on(
        &input,
        &two,
        &["--device", "gpu", "--jobs", "2", "--gpus", "0,0"],
    )
    .env("SEISBATCH_TEST_DUPLICATE_GPUS", "1")
    // Small calls (a test hook), so that the inputs make many and both devices take some.
    .env("SEISBATCH_TEST_FEED_SAMPLES", "5000")
    .output()
    .unwrap();
    ok(&o, &[3]);
    assert!(
        outputs(&one).0 == outputs(&two).0,
        "two devices wrote other bytes"
    );
    let r = json(&two.join("report.json"));
    let d = r["devices"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{r}");
    let counts: Vec<u64> = d
        .iter()
        .map(|x| x["traces_on_device"].as_u64().unwrap())
        .collect();
    assert!(counts.iter().all(|&n| n > 0), "a device took no batch: {r}");
    let sum: u64 = counts.iter().sum();
    assert_eq!(sum, r["traces_on_device"].as_u64().unwrap(), "{r}");
    assert_eq!(
        r["traces_on_device"],
        json(&one.join("report.json"))["traces_on_device"]
    );
    // `--gpus all` with --device auto: hardware only (lavapipe is not): the CPU path, said.
    if common::gpu().is_some_and(|g| g.info.device_type == "Cpu") {
        let auto = tmp.path().join("auto");
        ok(
            &run_on(&input, &auto, &["--gpus", "all"]).output().unwrap(),
            &[3],
        );
        let r = json(&auto.join("report.json"));
        assert_eq!(r["device"], "cpu", "{r}");
        assert!(
            r["device_reason"].as_str().unwrap().contains("hardware"),
            "{r}"
        );
    }
}
