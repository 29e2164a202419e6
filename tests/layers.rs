//! The source tree's layers (docs/DESIGN.md, "Layers"): every `crate::`, `super::` and
//! `self::` path in `src/` (tests aside) is read, and an import from one top-level module to
//! another must point down the table below; inside a module, its files must not import each
//! other in a cycle. The edges still pointing up are listed in `KNOWN_UP` and `KNOWN_CYCLES`
//! with what removes them: the test fails on any new one, and on a listed one that is gone
//! (take it off the list), so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import its own layer's other modules only where this says
/// so by putting them in separate rows.
const LAYERS: &[&[&str]] = &[
    // Leaf data and helpers: no crate imports but each other's.
    &[
        "error",
        "faults",
        "time",
        "once_map",
        "geodesy",
        "reference",
        "console",
        "escape",
    ],
    &["limits", "trace", "progress"],
    // f64 arithmetic of the operations (the CPU twins) and their argument types.
    &["ops"],
    // Instrument responses: evaluation and inverse tables.
    &["response"],
    // Decoding input files (miniSEED, SAC, StationXML, folder walks).
    &["read"],
    // Object storage (s3://): listing, range reads, conditional and multipart puts.
    &["store"],
    &["events"],
    // Continuous archives: the index of what is where, windows, reading a window's records.
    &["archive"],
    &["inventory"],
    // The stage table: each stage's neutral data and its CPU twin call (the GPU's recording
    // of it is gpu::stages).
    &["stages"],
    // Operations: keywords, shape rules, compilation to stages.
    &["pipeline"],
    // Plans: the walk over a trace's shapes, compiled stages, the plan cache.
    &["plan"],
    // Executors.
    &["exec"],
    &["gpu"],
    &["inspect", "shard"],
    &["write"],
    &["engine"],
    // Ambient-noise correlation of an archive (its own driver beside the engine's).
    &["correlate"],
    &["qc"],
    // The binary's own.
    &["bench", "synth"],
    &["synth_array"],
    &["cli"],
];

/// Imports that still point up: (from, to, what removes it).
const KNOWN_UP: &[(&str, &str, &str)] = &[];

/// Files of one module importing each other in a cycle: (module, files, what removes it).
const KNOWN_CYCLES: &[(&str, &[&str], &str)] = &[];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// Every `.rs` file under `dir`, test files aside.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "tests" {
                sources(&p, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(p);
        }
    }
}

/// The module path of a file: src/a/b.rs and src/a/b/mod.rs are a::b.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its `#[cfg(test)] mod` (the tests may reach
/// anywhere).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod "))
        {
            break;
        }
        out.push_str(l.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
}

/// The module paths a file's code names: `crate::a::b`, `super::a`, `self::a`, and each
/// item of a `super::{a, b}` list (first segment; lower-case names only: types are not
/// modules).
fn targets(me: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for base in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(base) {
            let at = from + i;
            from = at + base.len();
            // A whole word that starts a path only (not `my_crate::`, not the second
            // `super::` of `super::super::`).
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            if at > 1 && &code[at - 2..at] == "::" {
                continue;
            }
            let mut prefix: Vec<String> = match base {
                "crate::" => Vec::new(),
                "self::" => me.to_vec(),
                _ => me[..me.len().saturating_sub(1)].to_vec(),
            };
            let mut rest = &code[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                prefix.pop();
                rest = r;
            }
            let names: Vec<&str> = if let Some(r) = rest.strip_prefix('{') {
                let end = r.find('}').unwrap_or(r.len());
                r[..end]
                    .split(',')
                    .map(|x| x.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                vec![&rest[..end]]
            };
            for n in names {
                if is_ident(n) && n != "self" {
                    let mut t = prefix.clone();
                    t.push(n.to_string());
                    out.push(t);
                }
            }
        }
    }
    out
}

struct Graph {
    /// (from module, to module) -> files doing it.
    up: BTreeMap<(String, String), BTreeSet<String>>,
    unranked: BTreeSet<String>,
    /// module -> (file child -> file children it imports).
    inner: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut g = Graph {
        up: BTreeMap::new(),
        unranked: BTreeSet::new(),
        inner: BTreeMap::new(),
    };
    for f in files {
        let me = module_path(&src, &f);
        // The crate roots declare the modules and hold main: above every layer.
        if me.len() == 1 && (me[0] == "lib" || me[0] == "main") {
            continue;
        }
        let top = me[0].clone();
        if rank(&top).is_none() {
            g.unranked.insert(top.clone());
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        for t in targets(&me, &code(&text)) {
            let Some(to) = t.first() else { continue };
            if *to == top {
                if let (Some(a), Some(b)) = (me.get(1), t.get(1)) {
                    if a != b {
                        g.inner
                            .entry(top.clone())
                            .or_default()
                            .entry(a.clone())
                            .or_default()
                            .insert(b.clone());
                    }
                }
                continue;
            }
            if let (Some(a), Some(b)) = (rank(&top), rank(to)) {
                if b >= a {
                    g.up.entry((top.clone(), to.clone()))
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    g
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        let nexts: Vec<&'a str> = t
            .edges
            .get(v)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        for w in nexts {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.stack.contains(&w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                c.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.out.push(c);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn imports_point_down_the_layers() {
    let g = graph();
    assert!(
        g.unranked.is_empty(),
        "modules missing from LAYERS (put each in its layer): {:?}",
        g.unranked
    );
    let mut problems = Vec::new();
    for ((from, to), files) in &g.up {
        if !KNOWN_UP.iter().any(|(f, t, _)| f == from && t == to) {
            problems.push(format!(
                "{from} -> {to} points up the layers (tests/layers.rs LAYERS), in {files:?}"
            ));
        }
    }
    for (from, to, why) in KNOWN_UP {
        if !g.up.contains_key(&(from.to_string(), to.to_string())) {
            problems.push(format!(
                "{from} -> {to} is gone ({why}): take it off KNOWN_UP"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn files_of_a_module_import_each_other_without_cycles() {
    let g = graph();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (module, edges) in &g.inner {
        for c in cycles(edges) {
            let known = KNOWN_CYCLES.iter().find(|(m, files, _)| {
                m == module && files.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>() == c
            });
            match known {
                Some(k) => seen.push(k.0),
                None => problems.push(format!("{module}: {c:?} import each other in a cycle")),
            }
        }
    }
    for (m, files, why) in KNOWN_CYCLES {
        if !seen.contains(m) {
            problems.push(format!(
                "{m}: the cycle {files:?} is gone ({why}): take it off KNOWN_CYCLES"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The reader above must see what it is meant to: a known upward import and a known cycle
/// are found in sources written for the purpose.
#[test]
fn the_reader_finds_paths_of_every_form() {
    let me: Vec<String> = vec!["engine".into(), "work".into()];
    let t = targets(
        &me,
        "use crate::plan::Plan;\nuse super::{stream, group::Walk};\nuse super::super::x;\n\
         fn f() { crate::gpu::record::x(); self::inner::y(); my_crate::no(); }\n",
    );
    let t: Vec<String> = t.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        t,
        [
            "plan",
            "gpu",
            "engine::stream",
            "engine::group",
            "x",
            "engine::work::inner"
        ]
    );
    assert_eq!(
        code("a // crate::x\n#[cfg(test)]\nmod tests {\ncrate::y\n}"),
        "a \n"
    );
    let mut e: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    e.entry("a".into()).or_default().insert("b".into());
    e.entry("b".into()).or_default().insert("a".into());
    e.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycles(&e).len(), 1);
}

/// Each file one job: no source file past 600 lines (issue #24; tests live in their own
/// files).
#[test]
fn source_files_stay_under_600_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 600).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:?}");
}

/// The library's public modules, each with why a program outside the crate needs it. A
/// module not listed here is crate-private (`mod x;`); making one public is a decision
/// written here (issue #24: the binary's internals stay off the library's surface).
const PUBLIC: &[(&str, &str)] = &[
    ("engine", "the whole run: RunConfig, run, Report"),
    (
        "correlate",
        "ambient-noise correlation of an archive (Config, run: the CLI and Python's correlate)",
    ),
    ("error", "TraceError and the error types callers match on"),
    (
        "qc",
        "quality control: ObsPy's PPSD, ISPAQ's day metrics, the report (the CLI, tests, Python)",
    ),
    (
        "events",
        "event catalogues (CSV, QuakeML) for per-event runs",
    ),
    (
        "exec",
        "the Executor trait and the CPU executor (Python's process)",
    ),
    ("gpu", "the GPU executor, its device and adapter caps"),
    (
        "archive",
        "an archive's index, its Parquet catalog, windows (tests read catalogs)",
    ),
    (
        "inspect",
        "a plan described as JSON or text (Python's plan)",
    ),
    ("inventory", "StationXML epochs and the response lookup"),
    (
        "limits",
        "the bounds and the time/rate checks Python reuses",
    ),
    ("ops", "the operations' f64 arithmetic on sample slices"),
    ("pipeline", "operations parsed from TOML with ObsPy's names"),
    ("plan", "shapes and plans of a pipeline for a trace"),
    ("progress", "a run's live progress (Python's progress bar)"),
    ("read", "miniSEED, SAC and StationXML readers, folder walks"),
    ("response", "instrument response evaluation and tables"),
    ("shard", "the shard a run is (RunConfig's field)"),
    ("stages", "the stages a plan holds"),
    (
        "store",
        "object storage (s3://): its options and traffic, which Python's calls set and read",
    ),
    ("synth", "synthetic MassDownloader trees (Python's synth)"),
    ("synth_array", "a synthetic continuous noise archive"),
    ("time", "ISO times and epochs"),
    ("trace", "the trace type every API takes"),
    ("write", "SAC / miniSEED / ASDF writers, the report"),
];

#[test]
fn the_public_modules_are_the_listed_ones() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let public: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    let listed: BTreeSet<&str> = PUBLIC.iter().map(|p| p.0).collect();
    assert_eq!(
        public, listed,
        "src/lib.rs's `pub mod`s vs tests/layers.rs PUBLIC (write a new one's reason there)"
    );
    for internal in ["cli", "bench", "console", "faults", "reference"] {
        assert!(
            !public.contains(internal),
            "{internal} must stay off the API"
        );
    }
}

/// The function bodies of a file: (name, first line, lines), found by `fn name(` at the
/// start of a line and the braces after it (strings with braces are rare enough in our
/// code that a miscount shows up as a failure to look at, not a silent pass).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i64;
        let mut opened = false;
        for (j, body) in lines.iter().enumerate().skip(i) {
            let code = body.split("//").next().unwrap_or("");
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth == 0 {
                out.push((name.clone(), i + 1, j - i + 1));
                break;
            }
            if !opened && code.trim_end().ends_with(';') {
                break; // a trait method's declaration
            }
        }
    }
    out
}

/// No function past ~100 lines where the shape issue asked (engine, plan, pipeline).
#[test]
fn functions_in_engine_plan_and_pipeline_stay_short() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    for dir in ["engine", "plan", "pipeline"] {
        let mut files = Vec::new();
        sources(&src.join(dir), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (name, line, n) in functions(&code(&text)) {
                if n > 100 {
                    long.push(format!("{}:{line} {name} ({n} lines)", f.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "split these: {long:?}");
    // The counter itself.
    let f = functions("fn a() {\n    x;\n}\n    pub fn b(\n) -> u8 {\n { }\n}\n");
    assert_eq!(f, [("a".to_string(), 1, 3), ("b".to_string(), 4, 4)]);
}
