//! The report as one self-contained HTML page: every picture inline (PNG as a data: URI), the
//! metrics as tables, no script or style from elsewhere, so the file can be copied or
//! attached alone. Everything that comes from data (channel codes, file names, reasons) is
//! escaped. A few lines of inline script record in the page whether every picture loaded and
//! whether anything failed (what the browser test reads).

use std::fmt::Write as _;

use base64::Engine as _;

use super::channel::ChannelQc;
use super::plot::Picture;

/// What the page shows besides the pictures.
pub struct Page<'a> {
    pub title: &'a str,
    pub input: &'a str,
    pub span: &'a str,
    pub channels: &'a [ChannelQc],
    pub availability: &'a [Picture],
    pub failures: Option<&'a Picture>,
    /// (reason, count, first examples) for failures and file problems.
    pub reasons: &'a [(String, u64, Vec<String>)],
    /// Per channel (same order as `channels`), its PPSD picture if it has one.
    pub ppsd: &'a [Option<Picture>],
    /// A few outputs beside their raw data (a run's report).
    pub compare: &'a [Picture],
    /// A correlation run's moveout.
    pub moveout: Option<&'a Picture>,
}

/// `s` safe as HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn img(p: &Picture) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(&p.png);
    format!(
        "<figure><img src=\"data:image/png;base64,{data}\" width=\"{}\" height=\"{}\" alt=\"{}\"><figcaption>{} (<a href=\"{}.png\">PNG</a>, <a href=\"{}.svg\">SVG</a>)</figcaption></figure>\n",
        p.width,
        p.height,
        escape(&p.title),
        escape(&p.title),
        escape(&p.name),
        escape(&p.name)
    )
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.digits$}"))
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;\
text-align:right;font-size:13px}th{background:#eee}td.l{text-align:left}tr.dead td{background:#fdd}\
img{max-width:100%;height:auto;border:1px solid #ddd}figure{margin:1em 0}\
.warn{color:#a00}code{font-size:12px}";

/// The page's script: whether every picture decoded, and any error event (a resource that
/// did not load, or a script error), written onto <body> for a test or a curious reader.
const SCRIPT: &str = "<script>\n\
var errors = 0;\n\
window.addEventListener('error', function () { errors += 1; }, true);\n\
window.addEventListener('load', function () {\n\
  var imgs = document.images, ok = 0;\n\
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }\n\
  document.body.setAttribute('data-images', ok + '/' + imgs.length);\n\
  document.body.setAttribute('data-errors', String(errors));\n\
});\n\
</script>\n";

pub fn page(p: &Page) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style>{SCRIPT}</head><body>\n",
        escape(p.title)
    );
    let days: usize = p.channels.iter().map(|c| c.days.len()).sum();
    let dead = p
        .channels
        .iter()
        .flat_map(|c| &c.days)
        .filter(|d| d.dead_channel_gsn == Some(1))
        .count();
    let failures: u64 = p.reasons.iter().map(|r| r.1).sum();
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p>Input <code>{}</code>, {}. {} channels, {} channel-days, {} with a dead-channel flag (dead_channel_gsn), {} failures and file problems. Made by seisbatch {}.</p>\n",
        escape(p.title),
        escape(p.input),
        escape(p.span),
        p.channels.len(),
        days,
        dead,
        failures,
        env!("CARGO_PKG_VERSION")
    );
    h.push_str("<p>Contents: <a href=\"#availability\">availability</a> · <a href=\"#failures\">failures</a>");
    if p.moveout.is_some() {
        h.push_str(" · <a href=\"#moveout\">moveout</a>");
    }
    if !p.compare.is_empty() {
        h.push_str(" · <a href=\"#compare\">before and after</a>");
    }
    h.push_str(" · <a href=\"#channels\">channels</a> · metrics as <a href=\"metrics.csv\">CSV</a> and <a href=\"metrics.json\">JSON</a></p>\n");
    h.push_str("<h2 id=\"availability\">Availability</h2>\n");
    for a in p.availability {
        h.push_str(&img(a));
    }
    h.push_str("<h2 id=\"failures\">Failures and file problems</h2>\n");
    if p.reasons.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        if let Some(f) = p.failures {
            h.push_str(&img(f));
        }
        h.push_str("<table><tr><th>count</th><th>reason</th><th>first examples</th></tr>\n");
        for (reason, count, examples) in p.reasons {
            // An example naming a channel of the report links to its section.
            let link = |e: &String| match p.channels.iter().find(|c| {
                e.split(|ch: char| ch.is_whitespace() || ch == ':')
                    .any(|t| t == c.id)
            }) {
                Some(c) => format!("<a href=\"#{}\">{}</a>", escape(&c.id), escape(e)),
                None => escape(e),
            };
            let ex: Vec<String> = examples.iter().map(link).collect();
            let _ = writeln!(
                h,
                "<tr><td>{count}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                escape(reason),
                ex.join("<br>")
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(m) = p.moveout {
        h.push_str("<h2 id=\"moveout\">Moveout</h2>\n<p>Every pair's stacked correlation, scaled to its peak, at its inter-station distance.</p>\n");
        h.push_str(&img(m));
    }
    if !p.compare.is_empty() {
        h.push_str("<h2 id=\"compare\">Before and after</h2>\n<p>A few of the run's outputs beside the raw data of the same channel and time.</p>\n");
        for c in p.compare {
            h.push_str(&img(c));
        }
    }
    h.push_str("<h2 id=\"channels\">Channels</h2>\n");
    for (c, pic) in p.channels.iter().zip(p.ppsd) {
        let _ = writeln!(h, "<h3 id=\"{0}\">{0}</h3>", escape(&c.id));
        match (&c.ppsd, pic) {
            (Ok(_), Some(pic)) => h.push_str(&img(pic)),
            (Err(e), _) => {
                let _ = writeln!(h, "<p class=\"warn\">No PPSD: {}</p>", escape(e));
            }
            _ => {}
        }
        for prob in c.problems.iter().take(10) {
            let _ = writeln!(h, "<p class=\"warn\">{}</p>", escape(prob));
        }
        h.push_str("<table><tr><th>day</th><th>percent_availability</th><th>num_gaps</th><th>max_gap (s)</th><th>num_overlaps</th><th>sample_min</th><th>sample_max</th><th>sample_mean</th><th>sample_median</th><th>sample_rms</th><th>pct_below_nlnm</th><th>pct_above_nhnm</th><th>dead_channel_gsn</th><th>dead_channel_lin</th></tr>\n");
        for d in &c.days {
            let dead = d.dead_channel_gsn == Some(1);
            let _ = writeln!(
                h,
                "<tr{}><td class=\"l\">{}</td><td>{:.3}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if dead { " class=\"dead\"" } else { "" },
                &crate::time::iso(d.day_ns)[..10],
                d.percent_availability,
                d.num_gaps,
                d.max_gap,
                d.num_overlaps,
                num(d.sample_min, 0),
                num(d.sample_max, 0),
                num(d.sample_mean, 3),
                num(d.sample_median, 1),
                num(d.sample_rms, 3),
                num(d.pct_below_nlnm, 2),
                num(d.pct_above_nhnm, 2),
                d.dead_channel_gsn.map_or("–".into(), |v| v.to_string()),
                num(d.dead_channel_lin, 3),
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}
