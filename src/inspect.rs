//! `seisbatch plan`: the compiled plan for one trace shape, before a million-trace job. The
//! stages with their parameters, lengths and FFT plans, the output length and rate, ObsPy's
//! warnings or error for this shape, the response tables a trace needs; for the GPU path the
//! device/host segments, every dispatch and the modeled device-memory traffic per trace (the
//! roofline the speed work measures itself against).

use serde_json::{json, Value};

use crate::response::cache::TableSpec;

use crate::gpu::record::{self, Caps};
use crate::pipeline::Step;
use crate::plan::{self, Plan, Shape};

/// Traces per modeled batch: large enough that shared tables count for nothing per trace.
const MODEL_BATCH: usize = 100;

/// The plan as JSON; `gpu`: with the device's segments and dispatches as `caps` allows.
pub fn describe(steps: &[Step], shape: Shape, gpu: Option<&Caps>) -> Value {
    let s = plan::shapes(steps, shape);
    let out = s.output();
    let mut v = json!({
        "input": {"npts": shape.npts, "sampling_rate": shape.sampling_rate},
        "output": {"npts": out.npts, "sampling_rate": out.sampling_rate},
        "warnings": s.warnings(steps),
        "error": s.failure.as_ref().map(|f| f.to_string()),
    });
    let plan: Plan = match plan::compile(steps, &s) {
        Ok(p) => p,
        Err(f) => {
            v["error"] = json!(f.to_string());
            return v;
        }
    };
    v["stages"] = plan
        .stages
        .iter()
        .map(|at| {
            let mut parameters = at.stage.describe();
            if let (Some(p), Some(Value::Object(d))) = (
                parameters.as_object_mut(),
                crate::gpu::stages::describe_device(&at.stage, at.n_in),
            ) {
                p.extend(d);
            }
            json!({
                "stage": at.stage.name(),
                "step": at.step + 1,
                "op": steps[at.step].op(),
                "npts_in": at.n_in,
                "npts_out": at.n_out,
                "parameters": parameters,
            })
        })
        .collect();
    v["responses"] = plan
        .responses
        .iter()
        .map(|r| match r.spec {
            TableSpec::Inverse {
                delta,
                nfft,
                output,
                water_level,
                pre_filt,
            } => json!({
                "step": r.step + 1,
                "table": "inverse",
                "delta": delta,
                "nfft": nfft,
                "bins": r.spec.bins(),
                "output": output,
                "water_level": water_level,
                "pre_filt": pre_filt,
            }),
            TableSpec::Sensitivity => json!({
                "step": r.step + 1,
                "table": "sensitivity",
                "bins": r.spec.bins(),
            }),
        })
        .collect();
    if let Some(caps) = gpu {
        v["gpu"] = device(&plan, caps, shape.npts);
    }
    v
}

fn device(plan: &Plan, caps: &Caps, npts: usize) -> Value {
    let mut segments = Vec::new();
    let mut per_trace = 0u64;
    // The largest device footprint of a segment: what a trace needs of --gpu-memory, and the
    // largest buffer one binding must see (an adapter binding less runs it on the CPU path).
    let mut footprint: Option<crate::gpu::sizing::Footprint> = None;
    // The response tables upload as f32 complex (8 bytes a bin).
    let table_bytes: u64 = plan
        .responses
        .iter()
        .map(|r| r.spec.bins() as u64 * 8)
        .max()
        .unwrap_or(0);
    let mut workgroup = 0u32;
    for seg in record::segments(plan, caps) {
        let names: Vec<&str> = plan.stages[seg.stages.clone()]
            .iter()
            .map(|s| s.stage.name())
            .collect();
        if let Some(why) = seg.host {
            segments.push(json!({"on": "cpu", "stages": names, "why": why}));
            continue;
        }
        let one = record::record(plan, seg.stages.clone(), 1, caps);
        let many = record::record(plan, seg.stages.clone(), MODEL_BATCH, caps);
        match (one, many) {
            (Ok(one), Ok(many)) => {
                per_trace += many.device_bytes_per_trace();
                let fp = crate::gpu::runner::Runner::footprint(&one);
                if footprint.is_none_or(|b| fp.per_trace > b.per_trace) {
                    footprint = Some(fp);
                }
                workgroup = workgroup.max(one.workgroup_bytes);
                let dispatches: Vec<Value> = one
                    .dispatches
                    .iter()
                    .map(|d| {
                        json!({
                            "kernel": d.kernel,
                            "stage": plan.stages[d.stage].stage.name(),
                            "workgroups": d.groups,
                            "bytes_read": d.reads,
                            "bytes_written": d.writes,
                            "shared_bytes_read": d.shared,
                            // Stages whose work this dispatch does in its load.
                            "fused": d.fused.iter().map(|&i| plan.stages[i].stage.name())
                                .collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                segments.push(json!({
                    "on": "gpu",
                    "stages": names,
                    "dispatches_per_batch": one.dispatches.len(),
                    "buffer_bytes_per_trace": one.per_trace,
                    "upload_f32_centred": one.centre.is_some(),
                    "device_bytes_per_trace": many.device_bytes_per_trace(),
                    "dispatches_for_one_trace": dispatches,
                }));
            }
            (Err(e), _) | (_, Err(e)) => {
                segments.push(json!({"on": "cpu", "stages": names, "why": e}));
            }
        }
    }
    let memory = footprint.map(|fp| {
        let largest = fp.largest.max(fp.table);
        // The least max_storage_buffer_binding_size that runs one trace: kernels taking parts
        // take work buffers of up to DATA_PARTS bindings and tables of TABLE_PARTS.
        let least_binding = if fp.parts {
            use crate::gpu::sizing::{DATA_PARTS, PART_ALIGN, TABLE_PARTS};
            fp.largest
                .div_ceil(DATA_PARTS)
                .max(fp.table.div_ceil(TABLE_PARTS))
                .next_multiple_of(PART_ALIGN)
        } else {
            largest
        };
        json!({
            "buffers_bytes_per_trace": fp.per_trace,
            "largest_buffer_bytes": fp.largest,
            "largest_fft_table_bytes": fp.table,
            "buffers_in_parts": fp.parts,
            "least_binding_bytes": least_binding,
            "gpu_memory_mib_for_one_trace":
                crate::gpu::runner::budget_for_one(&fp, table_bytes, npts as u64).div_ceil(1 << 20),
        })
    });
    json!({
        "adapter_model": caps,
        "segments": segments,
        "workgroup_memory_bytes": workgroup,
        "device_bytes_per_trace": per_trace,
        "device_memory": memory,
    })
}

/// The plan as text for a terminal.
pub fn text(v: &Value) -> String {
    let mut o = String::new();
    let num = |x: &Value| x.to_string();
    o.push_str(&format!(
        "input:  {} samples at {} Hz\noutput: {} samples at {} Hz\n",
        num(&v["input"]["npts"]),
        num(&v["input"]["sampling_rate"]),
        num(&v["output"]["npts"]),
        num(&v["output"]["sampling_rate"])
    ));
    if let Some(e) = v["error"].as_str() {
        o.push_str(&format!("error (ObsPy would raise): {e}\n"));
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        o.push_str(&format!("warning: {}\n", w.as_str().unwrap_or("")));
    }
    o.push_str("stages:\n");
    for (i, s) in v["stages"].as_array().into_iter().flatten().enumerate() {
        o.push_str(&format!(
            "  {i:>2}. {:<12} step {} ({}), {} -> {} samples  {}\n",
            s["stage"].as_str().unwrap_or(""),
            s["step"],
            s["op"].as_str().unwrap_or(""),
            s["npts_in"],
            s["npts_out"],
            s["parameters"]
        ));
    }
    for r in v["responses"].as_array().into_iter().flatten() {
        if r["table"] == "sensitivity" {
            o.push_str(&format!(
                "response lookup for step {}: the InstrumentSensitivity value\n",
                r["step"]
            ));
            continue;
        }
        o.push_str(&format!(
            "response table for step {}: {} bins (nfft {}), delta {} s, output {}\n",
            r["step"], r["bins"], r["nfft"], r["delta"], r["output"]
        ));
    }
    if let Some(g) = v.get("gpu") {
        o.push_str("gpu (modeled):\n");
        for s in g["segments"].as_array().into_iter().flatten() {
            let stages: Vec<&str> = s["stages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if s["on"] == "cpu" {
                o.push_str(&format!(
                    "  on the CPU twins: {} ({})\n",
                    stages.join(", "),
                    s["why"].as_str().unwrap_or("")
                ));
            } else {
                o.push_str(&format!(
                    "  on the device: {}: {} dispatches, {} device bytes per trace\n",
                    stages.join(", "),
                    s["dispatches_per_batch"],
                    s["device_bytes_per_trace"]
                ));
                for d in s["dispatches_for_one_trace"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let fused: Vec<&str> = d["fused"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.as_str())
                        .collect();
                    let fused = if fused.is_empty() {
                        String::new()
                    } else {
                        format!("  (with {})", fused.join(", "))
                    };
                    o.push_str(&format!(
                        "      {:<15} {:<12} read {:>10} written {:>10}{fused}\n",
                        d["kernel"].as_str().unwrap_or(""),
                        d["stage"].as_str().unwrap_or(""),
                        d["bytes_read"],
                        d["bytes_written"]
                    ));
                }
            }
        }
        o.push_str(&format!(
            "  workgroup memory: {} bytes\n  device_bytes_per_trace: {} ({:.1} MB)\n",
            g["workgroup_memory_bytes"],
            g["device_bytes_per_trace"],
            g["device_bytes_per_trace"].as_f64().unwrap_or(0.0) / 1e6
        ));
        let m = &g["device_memory"];
        if !m.is_null() {
            o.push_str(&format!(
                "  device memory: {:.1} MB of buffers per trace, the largest {:.1} MB{} (an adapter binding less than {:.1} MB runs the trace on the CPU path); one trace a batch needs --gpu-memory {} or more\n",
                m["buffers_bytes_per_trace"].as_f64().unwrap_or(0.0) / 1e6,
                m["largest_buffer_bytes"].as_f64().unwrap_or(0.0) / 1e6,
                if m["buffers_in_parts"] == true { ", bound in parts" } else { "" },
                m["least_binding_bytes"].as_f64().unwrap_or(0.0) / 1e6,
                m["gpu_memory_mib_for_one_trace"]
            ));
        }
    }
    o
}
