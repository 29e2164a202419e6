//! The run's processing as a SEIS-PROV document (W3C PROV-XML with the `seis_prov`
//! namespace, as ASDF stores provenance under `/Provenance/NAME`): seisbatch as the software
//! agent, the input waveform, one activity per step (SEIS-PROV's own type and attributes
//! where it defines that processing step, e.g. `detrend`, `taper`, `bandpass_filter`,
//! `remove_response`, `cut` for trim; every step's parameters as `seisbatch:KEY` besides),
//! each using the previous waveform entity and generating the next. Every waveform written
//! names the last entity in its `provenance_id` attribute. Identifiers are derived from the
//! steps, so the same run writes the same bytes.

use serde_json::Value;

/// Where the document lives in an ASDF file (`/Provenance/seisbatch`; pyasdf's name rule:
/// lower-case letters, digits and `_`).
pub const NAME: &str = "seisbatch";

const SEIS_PROV: &str = "http://seisprov.org/seis_prov/0.1/#";
const SEISBATCH: &str = "https://seisbatch.org/ns/0.1/#";

/// A SEIS-PROV activity: its type name, two-letter code, label, and its attributes (name,
/// xsd type, value) taken from the step.
struct Activity {
    kind: String,
    code: &'static str,
    label: String,
    attrs: Vec<(&'static str, &'static str, String)>,
}

fn num(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_f64).map(|x| format!("{x:?}"))
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// The SEIS-PROV activity of a step, or a `seisbatch:` one where SEIS-PROV defines none.
fn activity(step: &Value) -> Activity {
    let op = text(step, "op").unwrap_or_default();
    let mut attrs: Vec<(&'static str, &'static str, String)> = Vec::new();
    let mut put = |name, ty, value: Option<String>| {
        if let Some(v) = value {
            attrs.push((name, ty, v));
        }
    };
    let ours = |label: &str| (format!("seisbatch:{op}"), "sb", label.to_string());
    let (kind, code, label) = match op.as_str() {
        "detrend" => {
            put("detrending_method", "xsd:string", text(step, "type"));
            ("detrend".into(), "dt", "Detrend".into())
        }
        "taper" => {
            put("window_type", "xsd:string", text(step, "type"));
            put("taper_width", "xsd:double", num(step, "max_percentage"));
            put("side", "xsd:string", text(step, "side"));
            ("taper".into(), "tp", "Taper".into())
        }
        "remove_response" => {
            put("water_level", "xsd:double", num(step, "water_level"));
            let units = match text(step, "output").as_deref() {
                Some("DISP") => Some("m".to_string()),
                Some("VEL") => Some("m/s".to_string()),
                Some("ACC") => Some("m/s^2".to_string()),
                _ => None,
            };
            put("output_units", "xsd:string", units);
            ("remove_response".into(), "rr", "Remove Response".into())
        }
        "filter" => {
            let ty = text(step, "type").unwrap_or_default();
            let passes = match step.get("zerophase").and_then(Value::as_bool) {
                Some(true) => "2",
                _ => "1",
            };
            let butterworth = |put: &mut dyn FnMut(&'static str, &'static str, Option<String>)| {
                put("filter_type", "xsd:string", Some("Butterworth".into()));
                put(
                    "filter_order",
                    "xsd:positiveInteger",
                    step.get("corners").map(|c| c.to_string()),
                );
                put(
                    "number_of_passes",
                    "xsd:positiveInteger",
                    Some(passes.into()),
                );
            };
            match ty.as_str() {
                "bandpass" | "bandstop" => {
                    butterworth(&mut put);
                    put("lower_corner_frequency", "xsd:double", num(step, "freqmin"));
                    // Sic: SEIS-PROV 0.1 spells the key so.
                    put(
                        "uppoer_corner_frequency",
                        "xsd:double",
                        num(step, "freqmax"),
                    );
                    let (code, label) = if ty == "bandpass" {
                        ("bp", "Bandpass Filter")
                    } else {
                        ("bs", "Bandstop Filter")
                    };
                    (format!("{ty}_filter"), code, label.into())
                }
                "lowpass" | "highpass" => {
                    butterworth(&mut put);
                    put("corner_frequency", "xsd:double", num(step, "freq"));
                    let (code, label) = if ty == "lowpass" {
                        ("lp", "Lowpass Filter")
                    } else {
                        ("hp", "Highpass Filter")
                    };
                    (format!("{ty}_filter"), code, label.into())
                }
                _ => ours(&format!("Filter ({ty})")),
            }
        }
        "resample" => {
            put(
                "new_sampling_rate",
                "xsd:double",
                num(step, "sampling_rate"),
            );
            put(
                "frequency_domain_window",
                "xsd:string",
                text(step, "window"),
            );
            ("resample".into(), "rs", "Resample".into())
        }
        "interpolate" => {
            put("interpolation_method", "xsd:string", text(step, "method"));
            put(
                "new_sampling_rate",
                "xsd:double",
                num(step, "sampling_rate"),
            );
            ("interpolate".into(), "ip", "Interpolate".into())
        }
        "decimate" => {
            put(
                "factor",
                "xsd:positiveInteger",
                step.get("factor").map(|f| f.to_string()),
            );
            ("decimate".into(), "dc", "Decimate".into())
        }
        "trim" => ("cut".into(), "ct", "Cut".into()),
        "integrate" | "differentiate" => {
            put("order", "xsd:positiveInteger", Some("1".into()));
            let label = if op == "integrate" {
                ("ig", "Integrate")
            } else {
                ("df", "Differentiate")
            };
            (op.clone(), label.0, label.1.into())
        }
        "normalize" => {
            let method = match step.get("norm").and_then(Value::as_f64) {
                Some(n) => format!("divided by {n:?}"),
                None => "absolute maximum".into(),
            };
            put("normalization_method", "xsd:string", Some(method));
            ("normalize".into(), "nm", "Normalize".into())
        }
        "rotate" => ("rotate".into(), "rt", "Rotate".into()),
        "merge" => ("merge".into(), "mg", "Merge".into()),
        _ => ours(&op),
    };
    let kind = if kind.contains(':') {
        kind
    } else {
        format!("seis_prov:{kind}")
    };
    Activity {
        kind,
        code,
        label,
        attrs,
    }
}

/// Seven characters for an identifier, from what it identifies (FNV-1a, base 36).
fn short_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..7)
        .map(|i| digits[((h >> (i * 9)) % 36) as usize] as char)
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The document for `steps` (the pipeline as report.json shows it) followed, when given, by
/// a caller's own function (`function`: its name); and the id of the waveform it ends with
/// (`{namespace}local`, as pyasdf's `provenance_id` holds it).
pub fn document(steps: &[Value], function: Option<&str>) -> (String, String) {
    let all = serde_json::to_string(steps).unwrap_or_default();
    let version = env!("CARGO_PKG_VERSION");
    let mut x = String::new();
    x.push_str("<?xml version='1.0' encoding='UTF-8'?>\n");
    x.push_str(&format!(
        "<prov:document xmlns:prov=\"http://www.w3.org/ns/prov#\" xmlns:seis_prov=\"{SEIS_PROV}\" \
         xmlns:seisbatch=\"{SEISBATCH}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    ));
    let agent = format!("seis_prov:sp000_sa_{}", short_id(&["seisbatch", version]));
    x.push_str(&format!(
        "  <prov:softwareAgent prov:id=\"{agent}\">\n    <prov:label>seisbatch</prov:label>\n    \
         <seis_prov:software_name>seisbatch</seis_prov:software_name>\n    \
         <seis_prov:software_version>{version}</seis_prov:software_version>\n    \
         <seis_prov:website>https://seisbatch.org</seis_prov:website>\n  </prov:softwareAgent>\n"
    ));
    let mut n = 1;
    let entity = |x: &mut String, n: usize, i: &str| {
        let id = format!("seis_prov:sp{n:03}_wf_{}", short_id(&[&all, i, "wf"]));
        x.push_str(&format!(
            "  <prov:entity prov:id=\"{id}\">\n    <prov:label>Waveform Trace</prov:label>\n    \
             <prov:type xsi:type=\"xsd:string\">seis_prov:waveform_trace</prov:type>\n  </prov:entity>\n"
        ));
        id
    };
    let mut wf = entity(&mut x, n, "input");
    let mut activities: Vec<Activity> = steps.iter().map(activity).collect();
    let mut params: Vec<Vec<(String, String)>> = steps
        .iter()
        .map(|s| {
            s.as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, v)| *k != "op" && !v.is_null())
                        .map(|(k, v)| {
                            let v = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                            (k.clone(), v)
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    if let Some(f) = function {
        activities.push(Activity {
            kind: "seisbatch:python_function".into(),
            code: "fn",
            label: "Python function".into(),
            attrs: Vec::new(),
        });
        params.push(vec![("function".into(), f.to_string())]);
    }
    for (i, (a, p)) in activities.iter().zip(&params).enumerate() {
        n += 1;
        let id = format!(
            "seis_prov:sp{n:03}_{}_{}",
            a.code,
            short_id(&[&all, &i.to_string(), &a.kind])
        );
        x.push_str(&format!(
            "  <prov:activity prov:id=\"{id}\">\n    <prov:label>{}</prov:label>\n    \
             <prov:type xsi:type=\"xsd:string\">{}</prov:type>\n",
            escape(&a.label),
            escape(&a.kind)
        ));
        for (k, ty, v) in &a.attrs {
            x.push_str(&format!(
                "    <seis_prov:{k} xsi:type=\"{ty}\">{}</seis_prov:{k}>\n",
                escape(v)
            ));
        }
        for (k, v) in p {
            // Keys are the pipeline's own (ASCII identifiers): valid XML names.
            x.push_str(&format!(
                "    <seisbatch:{k} xsi:type=\"xsd:string\">{}</seisbatch:{k}>\n",
                escape(v)
            ));
        }
        x.push_str("  </prov:activity>\n");
        n += 1;
        let next = entity(&mut x, n, &i.to_string());
        x.push_str(&format!(
            "  <prov:wasAssociatedWith>\n    <prov:activity prov:ref=\"{id}\"/>\n    \
             <prov:agent prov:ref=\"{agent}\"/>\n  </prov:wasAssociatedWith>\n  <prov:used>\n    \
             <prov:activity prov:ref=\"{id}\"/>\n    <prov:entity prov:ref=\"{wf}\"/>\n  </prov:used>\n  \
             <prov:wasGeneratedBy>\n    <prov:entity prov:ref=\"{next}\"/>\n    \
             <prov:activity prov:ref=\"{id}\"/>\n  </prov:wasGeneratedBy>\n"
        ));
        wf = next;
    }
    x.push_str("</prov:document>\n");
    // pyasdf names records by qualified name in Clark's notation, `{namespace}local`.
    let clark = format!("{{{SEIS_PROV}}}{}", wf.trim_start_matches("seis_prov:"));
    (x, clark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_become_seis_prov_activities_in_order() {
        let steps: Vec<Value> = serde_json::from_str(
            r#"[{"op":"detrend","type":"linear"},
                {"op":"filter","type":"bandpass","freqmin":0.5,"freqmax":10.0,"corners":4,"zerophase":true},
                {"op":"remove_sensitivity"}]"#,
        )
        .unwrap();
        let (doc, last) = document(&steps, Some("m.f"));
        assert!(doc.contains("seis_prov:detrend</prov:type>"));
        assert!(doc.contains("<seis_prov:detrending_method xsi:type=\"xsd:string\">linear<"));
        assert!(doc.contains("<seis_prov:number_of_passes xsi:type=\"xsd:positiveInteger\">2<"));
        assert!(doc.contains("<seis_prov:lower_corner_frequency xsi:type=\"xsd:double\">0.5<"));
        assert!(doc.contains("seisbatch:remove_sensitivity</prov:type>"));
        assert!(doc.contains("<seisbatch:function xsi:type=\"xsd:string\">m.f<"));
        // input, then one waveform per activity: the last is the 9th record.
        assert!(
            last.starts_with("{http://seisprov.org/seis_prov/0.1/#}sp009_wf_"),
            "{last}"
        );
        assert!(doc.contains(&format!("prov:id=\"seis_prov:{}\"", &last[37..])));
        assert_eq!(document(&steps, Some("m.f")), (doc, last), "deterministic");
    }
}
