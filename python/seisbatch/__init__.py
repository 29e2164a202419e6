"""seisbatch: ObsPy-style processing chains over many traces, computed in Rust (CPU or GPU).

    import seisbatch
    p = seisbatch.Pipeline([
        {"op": "detrend", "type": "demean"},
        {"op": "taper", "max_percentage": 0.05},
        {"op": "remove_response", "output": "VEL"},
    ])
    out = p.process(stream, inventory=inv)      # a new obspy.Stream; out.failures
    report = seisbatch.run(p, "waveforms/", "processed/", format="sac")

Steps, keys and defaults are ObsPy 1.5.1's (the README's pipeline table); a configuration
error is a ValueError naming the step and key. ObsPy is optional: `process` also takes a list
of ``(numpy array, stats dict)`` and returns the same shape.
"""

import json
import os
import sys
import time
import warnings as _warnings

# Mesa's device_select Vulkan layer wants a display and prints an error on every headless
# machine; seisbatch ranks adapters itself (as the CLI does, src/main.rs). Before the first
# Vulkan call; a value the user set wins.
os.environ.setdefault("NODEVICE_SELECT", "1")

from . import _seisbatch as _ext  # noqa: E402
from ._steps import to_toml  # noqa: E402
from ._traces import event_tuple, from_input, inventory_text, to_output  # noqa: E402

__version__ = _ext.__version__
__all__ = ["Pipeline", "Failure", "ProcessingError", "ProcessingWarning", "run", "index",
           "adapter", "adapters", "synth", "process_dataset", "process_pairs", "qc"]


class Failure(tuple):
    """A trace that was not processed: ``(id, start, reason)``."""

    __slots__ = ()

    def __new__(cls, id, start, reason):
        return tuple.__new__(cls, (id, start, reason))

    id = property(lambda self: self[0])
    start = property(lambda self: self[1])
    reason = property(lambda self: self[2])

    def __repr__(self):
        return "Failure(id=%r, start=%r, reason=%r)" % tuple(self)


class ProcessingError(ValueError):
    """Raised by ``process(..., strict=True)`` when a trace fails; ``.failures`` lists them."""

    def __init__(self, failures):
        self.failures = list(failures)
        lines = ["%s at %s: %s" % tuple(f) for f in self.failures[:10]]
        more = len(self.failures) - len(lines)
        super().__init__(
            "%d trace(s) failed:\n  %s%s"
            % (len(self.failures), "\n  ".join(lines), "\n  ..." if more > 0 else "")
        )


class ProcessingWarning(UserWarning):
    """Some traces of a ``process`` call were not processed (they are in ``.failures``)."""


def _argument(k, v):
    # ObsPy's _add_processing_info: strings as 'v', everything else as repr(v).
    return "%s='%s'" % (k, v) if isinstance(v, str) else "%s=%r" % (k, v)


def _provenance(steps_json):
    """One ``stats.processing`` entry per step, as ObsPy writes its own (``ObsPy 1.5.1:
    detrend(type='linear')``: the keyword arguments sorted, joined by ``::``), naming
    seisbatch: the steps as they ran, ObsPy's defaults filled in. ``select`` chooses traces
    and leaves none, as ObsPy's Stream.select."""
    entries = []
    for step in json.loads(steps_json):
        op = step.get("op")
        if op == "select":
            continue
        args = sorted(_argument(k, v) for k, v in step.items() if k != "op")
        entries.append("seisbatch %s: %s(%s)" % (__version__, op, "::".join(args)))
    return entries


class Processed(list):
    """``process``'s result for a list input: ``[(array, stats), ...]`` plus ``failures`` and
    ``warnings``."""

    failures = ()
    warnings = ()


class Pipeline:
    """An ObsPy-style chain: a list of steps, each a dict with ``"op"`` and ObsPy's keywords
    (or an op name alone for a step without keys)."""

    def __init__(self, steps):
        if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
            raise TypeError("steps: a list of dicts such as {'op': 'detrend', 'type': 'linear'}")
        self.steps = [dict(s) if not isinstance(s, str) else {"op": s} for s in steps]
        self._toml = to_toml(self.steps)
        self.warnings = _ext.check(self._toml)
        self._provenance = None

    @classmethod
    def from_toml(cls, path_or_text):
        """A pipeline file (the CLI's) or its text."""
        text = path_or_text
        if isinstance(path_or_text, os.PathLike) or (
            isinstance(path_or_text, str) and "\n" not in path_or_text
            and os.path.isfile(path_or_text)
        ):
            with open(path_or_text, encoding="utf-8") as fh:
                text = fh.read()
        self = cls.__new__(cls)
        self.steps = None
        self._toml = text
        self.warnings = _ext.check(text)
        self._provenance = None
        return self

    def toml(self):
        """The pipeline as the CLI reads it."""
        return self._toml

    def __repr__(self):
        return "Pipeline(%r)" % (self.steps if self.steps is not None else self._toml)

    def process(self, data, inventory=None, device="auto", strict=False, event=None,
                jobs=None):
        """Runs the steps over ``data``: an ``obspy.Stream`` (or ``Trace``), or a list of
        ``(array, stats)`` with ``network``, ``station``, ``location``, ``channel``,
        ``starttime`` and ``sampling_rate`` (or ``delta``) in each stats dict.

        Returns a new Stream (or list) of the processed traces, with ``.failures`` (a
        ``Failure`` per trace that was not processed: no response epoch, a step's error) and
        ``.warnings``. Where ObsPy would have raised, a trace is left out: one
        ``ProcessingWarning`` per call says how many and why (``strict=True`` raises
        ``ProcessingError`` instead). Each output trace's ``stats.processing`` gets one entry
        per step, as ObsPy's provenance. ``inventory``: an ``obspy.Inventory`` (serialised to
        StationXML once and cached), a StationXML path, or its text. ``event``: an
        ``obspy.core.event.Event`` (its preferred origin) or a dict with ``time``,
        ``latitude``, ``longitude``, ``depth_km``: the origin for ``origin+S`` trims and the
        source for ``rotate``'s back-azimuth. ``jobs``: threads for this call (default: one
        per core; with a Pool or Dask worker per core, pass ``jobs=1``). The work runs with
        the GIL released (call it from several threads at once); Ctrl-C stops it between
        traces and raises KeyboardInterrupt.
        """
        kind, traces, originals = from_input(data)
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, (int, float))
                                 or int(jobs) != jobs or not 1 <= jobs <= 1024):
            raise ValueError("jobs=%r: a whole number of threads from 1 to 1024" % (jobs,))
        results, failures, warnings = _ext.process(
            self._toml, traces, inventory_text(inventory), device, event_tuple(event),
            None if jobs is None else int(jobs)
        )
        failures = [Failure(*f) for f in failures]
        if strict and failures:
            raise ProcessingError(failures)
        if failures:
            shown = "; ".join("%s at %s: %s" % tuple(f) for f in failures[:3])
            _warnings.warn(
                "seisbatch: %d of %d trace(s) not processed (see .failures; strict=True "
                "raises): %s%s" % (len(failures), len(traces), shown,
                                   " ..." if len(failures) > 3 else ""),
                ProcessingWarning, stacklevel=2)
        if self._provenance is None:
            self._provenance = _provenance(_ext.steps(self._toml))
        out = to_output(kind, results, originals, self._provenance)
        out.failures = failures
        out.warnings = list(warnings)
        return out

    def plan(self, npts, sampling_rate, starttime="2000-01-01T00:00:00Z", device="cpu"):
        """The stages, buffers and device traffic for one trace shape (``seisbatch plan``)."""
        return json.loads(_ext.plan(self._toml, int(npts), float(sampling_rate),
                                    str(starttime), device))


def synth(output, events=10, stations=10, duration=1200.0, rates=(20.0, 40.0, 100.0, 200.0),
          bad_fraction=0.0, seed=1):
    """``seisbatch synth``: a MassDownloader tree of synthetic traces under ``output``
    (events x stations x 3 components, with StationXML). Returns the number of traces."""
    return _ext.synth(os.fspath(output), int(events), int(stations), float(duration),
                      [float(r) for r in rates], float(bad_fraction), int(seed))


def index(archive, output):
    """``seisbatch index``: the index of a continuous archive (SDS or any folder of miniSEED)
    from its record headers, written to ``output`` as Parquet (MsPASS's wf_miniseed columns and
    seisbatch's; read it with ``pyarrow.parquet.read_table(output).to_pandas()``). Files whose
    size and modification time are unchanged since an earlier catalog at ``output`` are not
    read again. Returns a dict of counts; a ValueError says why it could not index."""
    files, read, reused, channels, segments = _ext.index(os.fspath(archive), os.fspath(output))
    return {"files": files, "read": read, "unchanged": reused, "channels": channels,
            "segments": segments}


def qc(input, output, inventory=None, catalog=None, start=None, end=None, run_report=None):
    """``seisbatch qc``: quality control you can look at. ``input`` is an archive (SDS or any
    folder of miniSEED), a run's output folder (its report.json's failures too) or a
    correlation run's (its moveout); ``catalog`` its Parquet index instead of reading headers
    again; ``inventory`` StationXML (a path or a list of them) for the PSDs; ``start``/``end``
    ISO times (end excluded). Writes into ``output`` (new, empty, or an earlier report's):
    report.html (self-contained), metrics.csv / metrics.json (per channel and UTC day, ISPAQ's
    names), the pictures as PNG and SVG and ppsd/NET.STA.LOC.CHA.json (ObsPy's PPSD: mode,
    mean, percentiles, histogram). Returns a dict of counts and the page's path; a ValueError
    says why it could not."""
    inv = [] if inventory is None else (
        [os.fspath(inventory)] if isinstance(inventory, (str, os.PathLike))
        else [os.fspath(i) for i in inventory])
    t = lambda x: None if x is None else _ext.parse_time(str(x))  # noqa: E731
    ch, days, dead, nopsd, problems, html = _ext.qc(
        os.fspath(input), os.fspath(output), inv,
        None if catalog is None else os.fspath(catalog), t(start), t(end),
        None if run_report is None else os.fspath(run_report))
    return {"channels": ch, "channel_days": days, "dead_channel_days": dead,
            "without_ppsd": nopsd, "failures_and_problems": problems, "report": html}


def correlate(config, output, input=None, catalog=None, inventory=None, start=None, end=None,
              memory_gb=None, resume=False, shard=None, device="auto", gpu_memory_mib=2048):
    """``seisbatch correlate``: ambient-noise cross-correlation as NoisePy's S1 computes it, on
    the CPU path. ``config`` is a dict of NoisePy's parameters (cc_len, step, inc_hours,
    freqmin, freqmax, time_norm, freq_norm, smooth_n, smoothspect_n, cc_method, maxlag,
    max_over_std, substack, components, max_distance_km, stack_method, rotation, acorr_only,
    xcorr_only) or the path of a TOML file of them; ``input`` an archive folder or ``catalog``
    its Parquet index; ``inventory`` StationXML for distances and rotation; ``start``/``end``
    ISO times; ``resume`` finishes the run that wrote ``output``; ``shard=(k, n)`` correlates
    block k of n of the station pairs (n processes into one ``output`` write what one run
    writes; each returns its own summary, correlate.k-of-n.json); ``device`` "cpu", "gpu" (any
    adapter) or "auto" (a hardware GPU where there is one) correlates the pairs there, within
    ``gpu_memory_mib``. Writes
    ``output/<chunk>/<SOURCE>_<RECEIVER>/<CS><CR>.sac``, ``output/stack/...`` and, with
    rotation, ``output/stack_rtz/...`` (lag 0 at SAC's ``o``) and returns correlate.json as a
    dict; a ValueError says why it could not run."""
    if isinstance(config, dict):
        lines = []
        for k, v in config.items():
            if isinstance(v, bool):
                lines.append("%s = %s" % (k, "true" if v else "false"))
            elif isinstance(v, str):
                lines.append("%s = %s" % (k, json.dumps(v)))
            elif isinstance(v, (list, tuple)):
                lines.append("%s = [%s]" % (k, ", ".join(json.dumps(str(x)) for x in v)))
            elif isinstance(v, int):
                lines.append("%s = %d" % (k, v))
            else:
                lines.append("%s = %r" % (k, float(v)))
        text = "\n".join(lines) + "\n"
    else:
        with open(os.fspath(config), encoding="utf-8") as f:
            text = f.read()
    t = lambda x: None if x is None else _ext.parse_time(str(x))  # noqa: E731
    memory = None if memory_gb is None else int(float(memory_gb) * 1e9)
    out = _ext.correlate(text, os.fspath(output),
                         None if input is None else os.fspath(input),
                         None if catalog is None else os.fspath(catalog),
                         None if inventory is None else os.fspath(inventory),
                         t(start), t(end), memory, bool(resume),
                         None if shard is None else (int(shard[0]), int(shard[1])),
                         str(device), int(gpu_memory_mib))
    return json.loads(out)


def adapters():
    """Every GPU adapter (a list of dicts with ``index``, ``name``, ``backend``,
    ``device_type``, ``software``, ``shader_f64``, limits), in the order ``device="gpu:K"``
    and ``seisbatch run --gpu-index K`` take them: hardware first, then by PCI bus id."""
    return json.loads(_ext.adapters())


def adapter(device="auto"):
    """The GPU that ``device`` selects (a dict), or None where it runs on the CPU.
    ``device``: "auto", "cpu", "gpu" or "gpu:K" (the adapter at K in ``adapters()``)."""
    info = _ext.adapter(device)
    return None if info is None else json.loads(info)


def _option(name, value):
    flag = "--" + name.replace("_", "-")
    if value is True:
        return [flag]
    if value is False or value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [flag, ",".join(str(v) for v in value)]
    return [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]


def _show_progress():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return None
    if "ipykernel" in sys.modules:
        from tqdm.auto import tqdm as bar
        return bar
    if sys.stderr is not None and sys.stderr.isatty():
        from tqdm import tqdm as bar
        return bar
    return None


def run(pipeline, input, output, progress=None, _extra=(), _hook=None, **options):
    """The CLI's batch run: ``seisbatch run PIPELINE --input INPUT --output OUTPUT`` with
    ``options`` as its flags (``format="sac"``, ``jobs=4``, ``resume=True``,
    ``events="events.csv"``, ``device="gpu"``, ``window="START/END"``, ``segment=86400``,
    ``catalog="sds.parquet"`` with ``input=None``, ...). Returns report.json as a dict (with
    ``exit_code``: 0, or 3 when something was not processed). ``pipeline``: a ``Pipeline`` or
    a pipeline file. Progress shows through tqdm when it is installed and the caller is in a
    notebook or a terminal (``progress=False``: never).
    """
    import tempfile

    tmp = None
    if isinstance(pipeline, Pipeline):
        tmp = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False, encoding="utf-8")
        tmp.write(pipeline.toml())
        tmp.close()
        path = tmp.name
    else:
        path = os.fspath(pipeline)
    try:
        argv = [path, "--output", os.fspath(output)]
        if input is not None:  # None: the archive of `catalog=...` (issue #26)
            argv += ["--input", os.fspath(input)]
        for k, v in options.items():
            argv += _option(k, v)
        argv += list(_extra)
        if _hook is None:
            handle = _ext.start(argv)
        else:
            handle = _ext.start(argv, _hook[0], _hook[1])
        bar_type = _show_progress() if progress is not False else None
        if bar_type is not None:
            bar = bar_type(total=0, unit="file", desc="seisbatch")
            while not handle.finished():
                done, total, ok, failed = handle.progress()
                bar.total = total
                bar.n = done
                bar.set_postfix(ok=ok, failed=failed, refresh=False)
                bar.refresh()
                time.sleep(0.2)
            done, total, ok, failed = handle.progress()
            bar.total, bar.n = total, done
            bar.close()
        code, report = handle.wait()
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    report = json.loads(report)
    report["exit_code"] = code
    return report



def process_dataset(input, output, function=None, pipeline=None, workers=None, tag=None,
                    output_tag="processed", shard=None, progress=None, **options):
    """pyasdf's ``ASDFDataSet.process(function, output_filename, tag_map)`` at seisbatch's
    speed: per station of ``input`` (ASDF files, a MassDownloader tree, or an archive with
    ``window=``/``segment=``), ``pipeline``'s steps on the engine (fast, GIL-free), then
    ``function(stream, inventory)`` (ObsPy objects; it returns a Stream, a Trace, or None to
    write nothing) in ``workers`` spawned processes, written to ``output`` as ASDF (one file
    per input file, waveforms tagged ``output_tag``; ``format="sac"`` etc. also work).
    ``tag``: the input tags read (a name or a list; default all). A function that raises fails
    its station with the exception's type and message; the run goes on. Journal, resume
    (``resume=True``), report, ``shard=(k, n)`` and every ``run`` option as for ``run``, whose
    report dict it returns. The function must be picklable (top level of a module; cloudpickle
    is used when installed and plain pickle cannot)."""
    from ._dataset import process_dataset as _process
    return _process(run, input, output, function=function, pipeline=pipeline, workers=workers,
                    tag=tag, output_tag=output_tag, shard=shard, progress=progress, **options)


def process_pairs(a, b, function, workers=None, tag=None, shard=None, window=None,
                  segment=None, step=None, start=None, end=None, inventory=None):
    """pyasdf's ``process_two_files_without_parallel_output``: for every station in both ``a``
    and ``b`` (ASDF files or folders of them, by NET.STA; MassDownloader event trees, by
    EVENT/NET.STA with each event's resp/ StationXML), ``function(st_a, inv_a, st_b,
    inv_b)`` in ``workers`` spawned processes; returns a dict of its results keyed by station,
    with ``.failures`` (station -> "Type: message") for those that raised. ``tag``: the tags
    read (default all); ``shard=(k, n)``: every n-th station from the k-th.

    Archives (SDS or any folder of miniSEED, or their ``seisbatch index`` catalogs) with
    ``window="START/END"`` or ``segment=SECONDS`` (``step``, ``start``, ``end`` as for
    ``run``): every (window, station) in both, keyed ``LABEL/NET.STA``, each station's
    channels in that window joined and cut as a run's window; ``inventory`` a StationXML path
    for both sides or a pair (inv_a, inv_b)."""
    from ._dataset import process_pairs as _pairs
    return _pairs(a, b, function, workers=workers, tag=tag, shard=shard, window=window,
                  segment=segment, step=step, start=start, end=end, inventory=inventory)
