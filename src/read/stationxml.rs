//! FDSN StationXML 1.0–1.2 (with or without default namespace) into channel epochs with
//! their responses (NUMERICS §3.7's stage model).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use num_complex::Complex64;

use super::xml::{self, Element};
use crate::limits;
use crate::response::{Decimation, PzType, Response, Sensitivity, Stage, StageKind, Symmetry};
use crate::time;

/// Every distinct parsed response of a station gets a process-wide id: the response cache
/// key (`SameResponses`).
static NEXT_RESPONSE_ID: AtomicUsize = AtomicUsize::new(0);

/// Most distinct responses of a station a new channel's is looked up among (a station's
/// channel epochs are a few to a few hundred).
const SAME_RESPONSES: usize = 64;

/// A station's responses so far: a channel whose response equals one of them (the three
/// components of a broadband sensor on one datalogger, usually) takes its id, so the
/// response cache evaluates and inverts one table for all of them on a grid (issue #25: 43 of
/// the 112 responses in ObsPy's test StationXML repeat one of their station's). Looked up by
/// a fingerprint of every value first, so a channel costs one pass over its response however
/// many its station has (responses of 16,384 taps that differ in the last one are compared
/// only when their fingerprints agree).
#[derive(Default)]
struct SameResponses(Vec<(u64, usize, Arc<Response>)>);

impl SameResponses {
    fn id(&mut self, resp: Response) -> (usize, Arc<Response>) {
        let fp = fingerprint(&resp);
        if let Some((_, id, r)) = self.0.iter().find(|(f, _, r)| *f == fp && **r == resp) {
            return (*id, r.clone());
        }
        let id = NEXT_RESPONSE_ID.fetch_add(1, Ordering::Relaxed);
        let r = Arc::new(resp);
        if self.0.len() < SAME_RESPONSES {
            self.0.push((fp, id, r.clone()));
        }
        (id, r)
    }
}

/// A hash of everything a response holds: its Debug form (every value in full, shortest
/// round-trip digits) fed to the hasher as it is written, without building the string. Equal
/// responses have equal fingerprints (-0.0 and 0.0 aside, which only misses a sharing).
fn fingerprint(r: &Response) -> u64 {
    use std::fmt::Write as _;
    use std::hash::Hasher as _;
    struct Feed(std::hash::DefaultHasher);
    impl std::fmt::Write for Feed {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Feed(std::hash::DefaultHasher::new());
    let _ = write!(h, "{r:?}");
    h.0.finish()
}

#[derive(Debug, Clone)]
pub struct ChannelEpoch {
    pub network: String,
    pub station: String,
    pub location: String,
    pub channel: String,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    pub station_start_ns: Option<i64>,
    pub station_end_ns: Option<i64>,
    /// Err: the response is present but unreadable (the reason), reported per trace.
    pub response: Option<Result<(usize, Arc<Response>), String>>,
    /// The channel's position and orientation, when its four coordinates are numbers.
    pub coords: Option<Coordinates>,
}

/// A channel epoch's Latitude, Longitude, Elevation (m), Depth (m below the surface), and
/// Azimuth and Dip (degrees) when given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
    pub elevation: f64,
    pub depth: f64,
    pub azimuth: Option<f64>,
    pub dip: Option<f64>,
}

/// A channel's coordinates; none when one of the four is missing or not a finite number
/// within its range (a header is then left unset, never filled with a wrong value).
fn coordinates(cha: &Element) -> Option<Coordinates> {
    let get = |k: &str, lo: f64, hi: f64| {
        num(cha, k)
            .ok()
            .flatten()
            .filter(|v| v.is_finite() && (lo..=hi).contains(v))
    };
    Some(Coordinates {
        latitude: get("Latitude", -90.0, 90.0)?,
        longitude: get("Longitude", -180.0, 180.0)?,
        elevation: get("Elevation", -12_000.0, 9_000.0)?,
        depth: get("Depth", -9_000.0, 12_000.0)?,
        azimuth: get("Azimuth", 0.0, 360.0),
        dip: get("Dip", -90.0, 90.0),
    })
}

impl ChannelEpoch {
    /// ObsPy's `get_response` epoch rule: start <= t <= end, for channel and station.
    pub fn covers(&self, t: i64) -> bool {
        let ok =
            |s: Option<i64>, e: Option<i64>| s.is_none_or(|s| s <= t) && e.is_none_or(|e| t <= e);
        ok(self.start_ns, self.end_ns) && ok(self.station_start_ns, self.station_end_ns)
    }
}

pub fn read_file(path: &Path) -> Result<Vec<ChannelEpoch>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    parse(&text)
}

pub fn parse(text: &str) -> Result<Vec<ChannelEpoch>, String> {
    let root = xml::parse(text)?;
    if root.name != "FDSNStationXML" {
        return Err(format!(
            "root element is <{}>, not <FDSNStationXML>",
            root.name
        ));
    }
    let mut out = Vec::new();
    for net in root.children("Network") {
        let ncode = net.attr("code").unwrap_or("").to_string();
        for sta in net.children("Station") {
            let scode = sta.attr("code").unwrap_or("").to_string();
            let (ss, se) = epoch(sta)?;
            let mut shared = SameResponses::default();
            for cha in sta.children("Channel") {
                let (cs, ce) = epoch(cha)?;
                let response = cha
                    .child("Response")
                    .map(|r| parse_response(r).map(|resp| shared.id(resp)));
                out.push(ChannelEpoch {
                    network: ncode.clone(),
                    station: scode.clone(),
                    location: cha.attr("locationCode").unwrap_or("").trim().to_string(),
                    channel: cha.attr("code").unwrap_or("").to_string(),
                    start_ns: cs,
                    end_ns: ce,
                    station_start_ns: ss,
                    station_end_ns: se,
                    response,
                    coords: coordinates(cha),
                });
            }
        }
    }
    Ok(out)
}

fn epoch(e: &Element) -> Result<(Option<i64>, Option<i64>), String> {
    let t = |k: &str| -> Result<Option<i64>, String> {
        match e.attr(k).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => time::parse_iso(s).map(Some).ok_or_else(|| {
                format!(
                    "<{} code=\"{}\">: bad {k} `{s}`",
                    e.name,
                    e.attr("code").unwrap_or("")
                )
            }),
        }
    };
    Ok((t("startDate")?, t("endDate")?))
}

fn num(e: &Element, name: &str) -> Result<Option<f64>, String> {
    match e.child_text(name) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("<{name}> is not a number: `{s}`")),
    }
}

fn req(e: &Element, name: &str) -> Result<f64, String> {
    num(e, name)?.ok_or_else(|| format!("<{}> lacks <{name}>", e.name))
}

fn units(e: &Element, name: &str) -> Option<String> {
    e.child(name)
        .and_then(|u| u.child_text("Name"))
        .map(str::to_string)
}

fn parse_response(r: &Element) -> Result<Response, String> {
    let sensitivity = match r.child("InstrumentSensitivity") {
        None => None,
        Some(s) => Some(Sensitivity {
            value: req(s, "Value")?,
            frequency: num(s, "Frequency")?,
            input_units: units(s, "InputUnits"),
            output_units: units(s, "OutputUnits"),
        }),
    };
    // Every stage is evaluated on every frequency bin of every trace that uses it: what a file
    // may ask for is bounded (real responses have a dozen stages and FIRs of a few thousand
    // taps).
    let n_stages = r.children("Stage").count();
    if n_stages > limits::MAX_RESPONSE_STAGES {
        return Err(format!(
            "{n_stages} stages, more than the {} a response may have",
            limits::MAX_RESPONSE_STAGES
        ));
    }
    let mut stages = Vec::new();
    for st in r.children("Stage") {
        let terms = st.children.iter().map(|f| f.children.len()).sum::<usize>();
        if terms > limits::MAX_STAGE_TERMS {
            return Err(format!(
                "stage {}: {terms} coefficients, poles, zeros or list entries, more than the {} a stage may have",
                st.attr("number").unwrap_or("?"),
                limits::MAX_STAGE_TERMS
            ));
        }
        let number: u32 = st
            .attr("number")
            .and_then(|n| n.trim().parse().ok())
            .ok_or("<Stage> without a valid number attribute")?;
        let (gain, gain_frequency) = match st.child("StageGain") {
            Some(g) => (num(g, "Value")?, num(g, "Frequency")?),
            None => (None, None),
        };
        let decimation = match st.child("Decimation") {
            None => None,
            Some(d) => {
                let int = |k: &str| -> Result<i64, String> {
                    let v = req(d, k)?;
                    Ok(v as i64)
                };
                Some(Decimation {
                    input_sample_rate: req(d, "InputSampleRate")?,
                    factor: int("Factor")?,
                    offset: int("Offset")?,
                    delay: req(d, "Delay")?,
                    correction: req(d, "Correction")?,
                })
            }
        };
        let filt = [
            "PolesZeros",
            "Coefficients",
            "FIR",
            "ResponseList",
            "Polynomial",
        ]
        .iter()
        .find_map(|k| st.child(k));
        let (kind, iu, ou) = match filt {
            None => (StageKind::GainOnly, None, None),
            Some(f) => {
                let iu = units(f, "InputUnits");
                let ou = units(f, "OutputUnits");
                let kind = match f.name.as_str() {
                    "PolesZeros" => {
                        let tf = match f.child_text("PzTransferFunctionType").unwrap_or("") {
                            "LAPLACE (RADIANS/SECOND)" => PzType::LaplaceRad,
                            "LAPLACE (HERTZ)" => PzType::LaplaceHz,
                            "DIGITAL (Z-TRANSFORM)" => PzType::Digital,
                            other => {
                                return Err(format!(
                                    "stage {number}: unknown PzTransferFunctionType `{other}`"
                                ))
                            }
                        };
                        let roots = |k: &str| -> Result<Vec<Complex64>, String> {
                            f.children(k)
                                .map(|z| Ok(Complex64::new(req(z, "Real")?, req(z, "Imaginary")?)))
                                .collect()
                        };
                        StageKind::PolesZeros {
                            tf,
                            a0: num(f, "NormalizationFactor")?.unwrap_or(1.0),
                            a0_freq: num(f, "NormalizationFrequency")?.unwrap_or(0.0),
                            zeros: roots("Zero")?,
                            poles: roots("Pole")?,
                        }
                    }
                    "Coefficients" => {
                        let vals = |k: &str| -> Result<Vec<f64>, String> {
                            f.children(k)
                                .map(|c| {
                                    c.text.trim().parse::<f64>().map_err(|_| {
                                        format!("stage {number}: bad <{k}> `{}`", c.text.trim())
                                    })
                                })
                                .collect()
                        };
                        StageKind::Coefficients {
                            digital: f
                                .child_text("CfTransferFunctionType")
                                .is_some_and(|s| s.eq_ignore_ascii_case("DIGITAL")),
                            numerator: vals("Numerator")?,
                            denominator: vals("Denominator")?,
                        }
                    }
                    "FIR" => StageKind::Fir {
                        symmetry: match f.child_text("Symmetry").unwrap_or("NONE") {
                            "NONE" => Symmetry::None,
                            "EVEN" => Symmetry::Even,
                            "ODD" => Symmetry::Odd,
                            s => return Err(format!("stage {number}: unknown FIR symmetry `{s}`")),
                        },
                        coefficients: f
                            .children("NumeratorCoefficient")
                            .map(|c| {
                                c.text.trim().parse::<f64>().map_err(|_| {
                                    format!(
                                        "stage {number}: bad FIR coefficient `{}`",
                                        c.text.trim()
                                    )
                                })
                            })
                            .collect::<Result<_, _>>()?,
                    },
                    "ResponseList" => StageKind::List(
                        f.children("ResponseListElement")
                            .map(|e| {
                                Ok((req(e, "Frequency")?, req(e, "Amplitude")?, req(e, "Phase")?))
                            })
                            .collect::<Result<_, String>>()?,
                    ),
                    _ => StageKind::Polynomial,
                };
                (kind, iu, ou)
            }
        };
        stages.push(Stage {
            number,
            input_units: iu,
            output_units: ou,
            gain,
            gain_frequency,
            decimation,
            kind,
        });
    }
    Ok(Response {
        sensitivity,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<FDSNStationXML schemaVersion="1.2">
 <Source>test</Source>
 <Network code="XX"><Station code="ABC" startDate="2000-01-01T00:00:00">
  <Channel code="HHZ" locationCode="" startDate="2010-01-01T00:00:00" endDate="2599-12-31T23:59:59">
   <Response>
    <InstrumentSensitivity><Value>1000</Value><Frequency>1</Frequency>
     <InputUnits><Name>M/S</Name></InputUnits><OutputUnits><Name>COUNTS</Name></OutputUnits></InstrumentSensitivity>
    <Stage number="1"><PolesZeros><InputUnits><Name>M/S</Name></InputUnits><OutputUnits><Name>V</Name></OutputUnits>
     <PzTransferFunctionType>LAPLACE (RADIANS/SECOND)</PzTransferFunctionType>
     <NormalizationFactor>1</NormalizationFactor><NormalizationFrequency>1</NormalizationFrequency>
     <Zero number="0"><Real>0</Real><Imaginary>0</Imaginary></Zero>
     <Pole number="0"><Real>-4.44</Real><Imaginary>4.44</Imaginary></Pole>
     <Pole number="1"><Real>-4.44</Real><Imaginary>-4.44</Imaginary></Pole>
    </PolesZeros><StageGain><Value>1000</Value><Frequency>1</Frequency></StageGain></Stage>
    <Stage number="2"><Polynomial><InputUnits><Name>V</Name></InputUnits><OutputUnits><Name>COUNTS</Name></OutputUnits></Polynomial></Stage>
   </Response>
  </Channel>
  <Channel code="HHN" locationCode="00" startDate="2010-01-01T00:00:00"/>
 </Station></Network>
</FDSNStationXML>"#;

    #[test]
    fn no_default_namespace_epochs_and_stage_kinds() {
        let e = parse(DOC).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (
                e[0].network.as_str(),
                e[0].station.as_str(),
                e[0].channel.as_str()
            ),
            ("XX", "ABC", "HHZ")
        );
        assert_eq!(e[0].end_ns, Some(i64::MAX), "2599 saturates: an open epoch");
        assert!(e[0].covers(time::parse_iso("2020-01-01").unwrap()));
        assert!(!e[0].covers(time::parse_iso("2009-12-31").unwrap()));
        let Some(Ok((_, r))) = &e[0].response else {
            panic!("response")
        };
        assert_eq!(r.stages.len(), 2);
        assert!(matches!(r.stages[1].kind, StageKind::Polynomial));
        assert!(e[1].response.is_none());
        // With the default namespace and a prefix, the same document parses the same way.
        let ns = DOC.replace(
            "<FDSNStationXML schemaVersion",
            "<FDSNStationXML xmlns=\"http://www.fdsn.org/xml/station/1\" schemaVersion",
        );
        assert_eq!(parse(&ns).unwrap().len(), 2);
        // The Polynomial stage is refused with a reason that says so.
        let err = crate::response::eval::evaluate(r, &[0.0, 1.0], crate::pipeline::Output::Vel)
            .unwrap_err();
        assert!(err.contains("Polynomial"), "{err}");
    }

    /// Every stage is evaluated on every bin of every trace: a file cannot ask for without
    /// bound (a response refused with the reason, per trace).
    #[test]
    fn responses_beyond_the_limits_are_refused() {
        let taps = "<NumeratorCoefficient>0.1</NumeratorCoefficient>".repeat(20_000);
        let doc = DOC.replace(
            "<Stage number=\"2\"><Polynomial>",
            &format!("<Stage number=\"2\"><FIR><Symmetry>NONE</Symmetry>{taps}</FIR></Stage><Stage number=\"3\"><Polynomial>"),
        );
        let e = parse(&doc).unwrap();
        match &e[0].response {
            Some(Err(m)) => assert!(
                m.contains("20001 coefficients") && m.contains("16384"),
                "{m}"
            ),
            r => panic!("{r:?}"),
        }
    }

    /// The channels of a station with one response share its id (one table per grid for
    /// all of them); a channel whose response differs in one value, or the same response in
    /// another station, has its own.
    #[test]
    fn a_stations_identical_responses_share_an_id() {
        let ch = |code: &str, gain: &str| {
            let start = DOC.find("  <Channel code=\"HHZ\"").unwrap();
            let end = DOC.find("  <Channel code=\"HHN\"").unwrap();
            DOC[start..end]
                .replace("code=\"HHZ\"", &format!("code=\"{code}\""))
                .replace(
                    "<Value>1000</Value><Frequency>1</Frequency></StageGain>",
                    &format!("<Value>{gain}</Value><Frequency>1</Frequency></StageGain>"),
                )
        };
        let station = |code: &str, chans: &str| {
            format!("<Station code=\"{code}\" startDate=\"2000-01-01T00:00:00\">{chans}</Station>")
        };
        let doc = format!(
            "<?xml version=\"1.0\"?><FDSNStationXML schemaVersion=\"1.2\"><Source>t</Source><Network code=\"XX\">{}{}</Network></FDSNStationXML>",
            station("ABC", &[ch("HHZ", "1000"), ch("HHN", "1000"), ch("HHE", "1000"), ch("HH1", "1001")].concat()),
            station("DEF", &ch("HHZ", "1000")),
        );
        let e = parse(&doc).unwrap();
        let id = |k: usize| match &e[k].response {
            Some(Ok((id, _))) => *id,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.len(), 5);
        assert_eq!((id(0), id(0)), (id(1), id(2)));
        assert_ne!(id(3), id(0), "another gain");
        assert_ne!(id(4), id(0), "another station");
    }

    #[test]
    fn truncated_and_foreign_documents_are_errors() {
        assert!(parse(&DOC[..DOC.len() / 2]).is_err());
        assert!(parse("<quakeml/>").is_err());
        assert!(parse("").is_err());
    }
}
