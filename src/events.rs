//! Event metadata for event folders (`EVENT/raw/*` as MassDownloader lays them out): origin
//! time, latitude, longitude, depth. From `--events FILE` (a CSV with the header
//! `folder,time,latitude,longitude,depth_km`, extra columns ignored; or a QuakeML catalog in
//! which each event names its folder by the last segment of its `publicID`), and from
//! `EVENT/event.xml` (QuakeML with one event), which wins for its folder. Every value is
//! checked: a time in the years times can hold, latitudes within +-90, longitudes within
//! +-360, depths within the Earth.

use std::collections::HashMap;
use std::path::Path;

use crate::read::xml;

/// One event's origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub time_ns: i64,
    pub latitude: f64,
    pub longitude: f64,
    pub depth_km: f64,
}

impl Event {
    /// Degrees from a station at (latitude, longitude) towards this event, on WGS84: ObsPy's
    /// `gps2dist_azimuth(evla, evlo, stla, stlo)[2]` (rotate's back-azimuth, SAC's cmpaz of
    /// R and T). None for coordinates out of range.
    pub fn back_azimuth_at(&self, latitude: f64, longitude: f64) -> Option<f64> {
        crate::geodesy::gps2dist_azimuth(self.latitude, self.longitude, latitude, longitude)
            .map(|(_, _, back_az)| back_az)
    }
}

/// Largest events file read (a catalog of a million events is ~100 MB of QuakeML).
pub const MAX_EVENTS_BYTES: u64 = 256 << 20;

/// Events by folder name.
#[derive(Debug, Default, Clone)]
pub struct Events {
    by_folder: HashMap<String, Event>,
}

impl Events {
    pub fn get(&self, folder: &str) -> Option<&Event> {
        self.by_folder.get(folder)
    }

    /// Every event with its folder name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Event)> {
        let mut all: Vec<(&String, &Event)> = self.by_folder.iter().collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    pub fn len(&self) -> usize {
        self.by_folder.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_folder.is_empty()
    }

    /// `--events FILE`: QuakeML when it starts with `<`, else CSV.
    pub fn read(path: &Path) -> Result<Events, String> {
        let text = read_text(path)?;
        let at = |e: String| format!("{}: {e}", path.display());
        if text.trim_start().starts_with('<') {
            let mut out = Events::default();
            for (name, ev) in quakeml(&text).map_err(at)? {
                let name = name
                    .ok_or_else(|| at("an event without a publicID names no folder".to_string()))?;
                out.insert(name, ev).map_err(at)?;
            }
            Ok(out)
        } else {
            csv(&text).map_err(at)
        }
    }

    fn insert(&mut self, folder: String, ev: Event) -> Result<(), String> {
        if folder.is_empty() {
            return Err("an event names an empty folder".into());
        }
        match self.by_folder.insert(folder.clone(), ev) {
            Some(_) => Err(format!("folder `{folder}` is named by two events")),
            None => Ok(()),
        }
    }
}

/// An events file's text: a regular file (a FIFO would block, a device never end), at most
/// MAX_EVENTS_BYTES, UTF-8, without the byte-order mark a spreadsheet puts first.
fn read_text(path: &Path) -> Result<String, String> {
    let at = |e: String| format!("{}: {e}", path.display());
    let bytes = crate::read::sniff::read_regular(path, false, MAX_EVENTS_BYTES)
        .map_err(|e| at(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| at("not UTF-8 text".into()))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    })
}

/// The event of `EVENT/event.xml` (QuakeML with exactly one event).
pub fn event_xml(path: &Path) -> Result<Event, String> {
    let text = read_text(path)?;
    let mut all = quakeml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match (all.pop(), all.is_empty()) {
        (Some((_, ev)), true) => Ok(ev),
        (None, _) => Err(format!("{}: no event", path.display())),
        (Some(_), false) => Err(format!(
            "{}: {} events; an event folder's event.xml holds one",
            path.display(),
            all.len() + 1
        )),
    }
}

fn checked(time: &str, lat: f64, lon: f64, depth_km: f64) -> Result<Event, String> {
    let time_ns = crate::limits::parse_time(time).map_err(|e| format!("origin time {e}"))?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude {lat} is outside -90..90"));
    }
    if !(-360.0..=360.0).contains(&lon) {
        return Err(format!("longitude {lon} is outside -360..360"));
    }
    if !(-10.0..=6400.0).contains(&depth_km) {
        return Err(format!("depth {depth_km} km is outside -10..6400"));
    }
    Ok(Event {
        time_ns,
        latitude: lat,
        longitude: lon,
        depth_km,
    })
}

fn number(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} `{s}` is not a number"))
}

/// One CSV line's fields, trimmed: a field in double quotes may hold commas, and `""` inside
/// it is one quote (RFC 4180, as spreadsheets save). A line break inside quotes is not read.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut f = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        f.push('"');
                    }
                    Some('"') => break,
                    Some(c) => f.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                match chars.next() {
                    Some(' ' | '\t') => {}
                    _ => return Err("text after a quoted field".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                f.push(c);
                chars.next();
            }
        }
        out.push(f.trim().to_string());
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// `folder,time,latitude,longitude,depth_km[,...]` with that header (columns in any order,
/// extra ones ignored), as a spreadsheet saves it too: CRLF line ends, quoted fields.
pub fn csv(text: &str) -> Result<Events, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("empty events file")?;
    let cols = fields(header).map_err(|e| format!("line 1: {e}"))?;
    let col = |name: &str| {
        cols.iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!("the header has no `{name}` column (want folder,time,latitude,longitude,depth_km)")
            })
    };
    let (f, t, la, lo, d) = (
        col("folder")?,
        col("time")?,
        col("latitude")?,
        col("longitude")?,
        col("depth_km")?,
    );
    let mut out = Events::default();
    for (i, line) in lines {
        let at = |e: String| format!("line {}: {e}", i + 1);
        let v = fields(line).map_err(at)?;
        let get = |k: usize| {
            v.get(k).map(String::as_str).ok_or_else(|| {
                at(format!(
                    "{} columns, the header has {}",
                    v.len(),
                    cols.len()
                ))
            })
        };
        let ev = checked(
            get(t)?,
            number(get(la)?, "latitude").map_err(at)?,
            number(get(lo)?, "longitude").map_err(at)?,
            number(get(d)?, "depth_km").map_err(at)?,
        )
        .map_err(at)?;
        out.insert(get(f)?.to_string(), ev).map_err(at)?;
    }
    Ok(out)
}

/// Each event of a QuakeML document: its folder name (the last segment of its publicID) and
/// its preferred origin (else its first one). QuakeML depths are in metres.
pub fn quakeml(text: &str) -> Result<Vec<(Option<String>, Event)>, String> {
    Ok(quakeml_ids(text)?
        .into_iter()
        .map(|(id, ev)| {
            let name = id
                .as_deref()
                .and_then(|id| id.trim_end_matches('/').rsplit(['/', '=', ':']).next())
                .map(str::to_string);
            (name, ev)
        })
        .collect())
}

/// Each event of a QuakeML document with its whole publicID (what an ASDF waveform's
/// `event_id` names) and its preferred origin (else its first one).
pub fn quakeml_ids(text: &str) -> Result<Vec<(Option<String>, Event)>, String> {
    let root = xml::parse(text)?;
    let mut events = Vec::new();
    let mut stack = vec![&root];
    // Events sit in eventParameters; walk the tree (no recursion: a document nests freely).
    while let Some(e) = stack.pop() {
        if e.name == "event" {
            events.push(e);
        } else {
            stack.extend(e.children.iter().rev());
        }
    }
    events
        .into_iter()
        .map(|e| {
            let id = e.attr("publicID");
            let origins: Vec<&xml::Element> = e.children("origin").collect();
            let preferred = e.child_text("preferredOriginID");
            let origin = preferred
                .and_then(|p| origins.iter().find(|o| o.attr("publicID") == Some(p)))
                .or(origins.first())
                .ok_or_else(|| format!("event {} has no origin", id.unwrap_or("?")))?;
            let value = |k: &str| origin.child(k).and_then(|c| c.child_text("value"));
            let need = |k: &str| value(k).ok_or_else(|| format!("an origin without {k}"));
            let depth_m = value("depth").map(|d| number(d, "depth")).transpose()?;
            let ev = checked(
                need("time")?,
                number(need("latitude")?, "latitude")?,
                number(need("longitude")?, "longitude")?,
                depth_m.unwrap_or(0.0) / 1000.0,
            )?;
            Ok((id.map(str::to_string), ev))
        })
        .collect()
}

#[cfg(test)]
mod tests;
