"""seisbatch.correlate (issue #27) from Python, its SAC read back by ObsPy as a user reads it:
the pair's peak at the delay between the stations (lag 0 at the header's o), the distance and
the source's coordinates in the header, and the summary as a dict."""

import numpy as np
import pytest

import seisbatch

obspy = pytest.importorskip("obspy")
from obspy.geodetics import gps2dist_azimuth  # noqa: E402

RATE, DELAY = 5, 2.0
XML = """<?xml version="1.0" encoding="UTF-8"?><FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>t</Source><Created>2020-01-01T00:00:00</Created><Network code="XX">{}</Network></FDSNStationXML>"""
STA = """<Station code="{c}" startDate="2000-01-01T00:00:00"><Latitude>{la}</Latitude><Longitude>{lo}</Longitude><Elevation>0</Elevation><Channel code="HHZ" locationCode="" startDate="2000-01-01T00:00:00"><Latitude>{la}</Latitude><Longitude>{lo}</Longitude><Elevation>0</Elevation><Depth>0</Depth><SampleRate>5</SampleRate></Channel></Station>"""
COORDS = {"A": (46.0, 7.0), "B": (46.05, 7.1)}


def archive(tmp_path):
    n = 86400 * RATE
    lag = int(DELAY * RATE)
    rng = np.random.default_rng(5)
    src = rng.normal(0, 1000, n + lag)
    for sta, shift in (("A", 0), ("B", lag)):
        x = src[lag - shift:lag - shift + n] + np.random.default_rng(ord(sta)).normal(0, 300, n)
        tr = obspy.Trace(np.round(x).astype(np.int32))
        tr.stats.network, tr.stats.station, tr.stats.channel = "XX", sta, "HHZ"
        tr.stats.sampling_rate = float(RATE)
        tr.stats.starttime = obspy.UTCDateTime(2020, 1, 1)
        (tmp_path / "arch").mkdir(exist_ok=True)
        tr.write(str(tmp_path / "arch" / ("XX.%s.HHZ.2020.001" % sta)), format="MSEED",
                 encoding="STEIM2")
    inv = tmp_path / "inv.xml"
    inv.write_text(XML.format("".join(STA.format(c=c, la=la, lo=lo)
                                      for c, (la, lo) in COORDS.items())))
    return tmp_path / "arch", inv


def test_a_pair_read_by_obspy_peaks_at_its_delay_with_its_distance(tmp_path):
    arch, inv = archive(tmp_path)
    out = tmp_path / "cc"
    summary = seisbatch.correlate(
        {"cc_len": 600.0, "step": 300.0, "freqmin": 0.1, "freqmax": 1.5, "maxlag": 20.0,
         "time_norm": "one_bit", "components": ["ZZ"]},
        out, input=arch, inventory=inv)
    assert summary["chunks"] == 1 and summary["correlations"] == 1, summary
    tr = obspy.read(str(out / "20200101T000000Z__20200102T000000Z" / "XX.A._XX.B." / "ZZ.sac"))[0]
    sac = tr.stats.sac
    lags = sac.b + np.arange(tr.stats.npts) * tr.stats.delta - sac.o
    assert abs(lags[np.argmax(tr.data)] - DELAY) < 0.5 / RATE
    assert tr.stats.station == "B" and tr.stats.channel == "ZZ"
    assert (sac.evla, sac.evlo) == pytest.approx(COORDS["A"], abs=1e-5)
    want = gps2dist_azimuth(*COORDS["A"], *COORDS["B"])[0] / 1000
    assert sac.dist == pytest.approx(want, rel=1e-5)
    assert obspy.read(str(out / "stack" / "XX.A._XX.B." / "ZZ.sac"))[0].stats.npts == tr.stats.npts
    # A catalog row per correlation file, as pandas or MsPASS loads it.
    pq = pytest.importorskip("pyarrow.parquet")
    cat = pq.read_table(str(out / "catalog.parquet")).to_pydict()
    assert sorted(cat["dfile"]) == ["ZZ.sac", "ZZ.sac"]
    assert set(cat["chan"]) == {"ZZ"} and set(cat["sta"]) == {"B"}
    assert cat["npts"] == [tr.stats.npts] * 2


def test_bad_parameters_are_value_errors_naming_them(tmp_path):
    arch, _ = archive(tmp_path)
    with pytest.raises(ValueError, match="cc_method"):
        seisbatch.correlate({"cc_method": "xcor"}, tmp_path / "x", input=arch)
    assert not (tmp_path / "x").exists()


def test_resume_keeps_finished_chunks_and_refuses_another_configuration(tmp_path):
    arch, inv = archive(tmp_path)
    out = tmp_path / "cc"
    cfg = {"cc_len": 600.0, "step": 300.0, "freqmin": 0.1, "freqmax": 1.5, "maxlag": 20.0,
           "inc_hours": 12}
    first = seisbatch.correlate(cfg, out, input=arch, inventory=inv)
    assert first["chunks"] == 2 and first["chunks_resumed"] == 0, first
    stack = (out / "stack" / "XX.A._XX.B." / "ZZ.sac").read_bytes()
    (out / "stack" / "XX.A._XX.B." / "ZZ.sac").unlink()
    again = seisbatch.correlate(cfg, out, input=arch, inventory=inv, resume=True)
    assert again["chunks_resumed"] == 2 and again["correlations"] == 2, again
    assert (out / "stack" / "XX.A._XX.B." / "ZZ.sac").read_bytes() == stack
    with pytest.raises(ValueError, match="another configuration"):
        seisbatch.correlate(dict(cfg, maxlag=10.0), out, input=arch, inventory=inv, resume=True)
    with pytest.raises(ValueError, match="--resume"):
        seisbatch.correlate(cfg, out, input=arch, inventory=inv)


def test_the_device_gives_the_cpu_paths_correlation(tmp_path, gpu_device):
    arch, inv = archive(tmp_path)
    cfg = {"cc_len": 600.0, "step": 300.0, "freqmin": 0.1, "freqmax": 1.5, "maxlag": 20.0}
    rows = {}
    for device in ("cpu", gpu_device):
        s = seisbatch.correlate(cfg, tmp_path / device, input=arch, inventory=inv, device=device)
        rows[device] = obspy.read(str(tmp_path / device / "stack" / "XX.A._XX.B." / "ZZ.sac"))[0]
        assert (s["device"] is None) == (device == "cpu"), s
    a, b = rows["cpu"].data.astype(float), rows["gpu"].data.astype(float)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-5
    with pytest.raises(ValueError, match="device"):
        seisbatch.correlate(cfg, tmp_path / "x", input=arch, device="tpu")
