"""ASDF both ways against pyasdf 0.8.2 (issue #29): a data set pyasdf writes is seisbatch's
input (by tag, with its StationXML and QuakeML), and the ASDF file seisbatch writes is read
back by pyasdf with the same samples ObsPy's chain gives, the StationXML and the event copied,
and each waveform still associated with its event."""

import subprocess

import numpy as np
import pytest

from conftest import cli_binary, rel_l2

obspy = pytest.importorskip("obspy")
pyasdf = pytest.importorskip("pyasdf")

CHAIN = """
[[step]]
op = "detrend"
type = "linear"
[[step]]
op = "taper"
max_percentage = 0.05
type = "hann"
[[step]]
op = "remove_response"
output = "VEL"
pre_filt = [0.05, 0.1, 20.0, 40.0]
[[step]]
op = "filter"
type = "bandpass"
freqmin = 0.5
freqmax = 10.0
corners = 4
zerophase = true
"""


def obspy_chain(st, inv):
    st = st.copy()
    st.detrend("linear")
    st.taper(max_percentage=0.05, type="hann")
    st.remove_response(inventory=inv, output="VEL", pre_filt=[0.05, 0.1, 20.0, 40.0])
    st.filter("bandpass", freqmin=0.5, freqmax=10.0, corners=4, zerophase=True)
    return st


def example_dataset(path):
    """ObsPy's example stream (BW.RJOB..EH[ZNE]) and inventory, one event, and a second tag."""
    st = obspy.read()
    inv = obspy.read_inventory()
    ev = obspy.core.event.Event(resource_id="smi:local/event/rjob_2009")
    ev.origins = [obspy.core.event.Origin(
        time=obspy.UTCDateTime("2009-08-24T00:19:45"), latitude=47.0, longitude=12.5,
        depth=10000.0)]
    with pyasdf.ASDFDataSet(str(path), mode="w") as ds:
        ds.add_quakeml(obspy.core.event.Catalog(events=[ev]))
        ds.add_stationxml(inv.select(network="BW", station="RJOB"))
        ds.add_waveforms(st, tag="raw_recording", event_id=ev)
        ds.add_waveforms(st.select(component="Z"), tag="other")
    return st, inv, ev


def test_pyasdf_in_seisbatch_out_pyasdf_reads_obspys_numbers(tmp_path):
    src = tmp_path / "rjob.h5"
    st, inv, ev = example_dataset(src)
    chain = tmp_path / "chain.toml"
    chain.write_text(CHAIN)
    out = tmp_path / "out"
    p = subprocess.run([cli_binary(), "run", str(chain), "--input", str(src), "--output", str(out),
                        "--format", "asdf", "--tag", "raw_recording", "--output-tag", "vel",
                        "--device", "cpu", "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    want = obspy_chain(st, inv)
    with pyasdf.ASDFDataSet(str(out / "rjob" / "rjob.h5"), mode="r") as ds:
        sta = ds.waveforms["BW.RJOB"]
        assert sta.get_waveform_tags() == ["vel"]
        got = sta["vel"]
        assert len(got) == 3
        for tr in want:
            g = got.select(id=tr.id)[0]
            assert g.stats.starttime == tr.stats.starttime
            assert g.stats.sampling_rate == tr.stats.sampling_rate
            # float32 in the file, as our ASDF output writes.
            assert rel_l2(g.data, tr.data) < 1e-6, tr.id
            assert [str(i) for i in g.stats.asdf.event_ids] == [str(ev.resource_id)]
        assert sta.StationXML.select(station="RJOB")[0][0].code == "RJOB"
        assert len(ds.events) == 1
        assert str(ds.events[0].resource_id) == str(ev.resource_id)
        # The processing as SEIS-PROV: one activity per step, in order, with its parameters;
        # every waveform names the last entity of the chain.
        import prov.model
        assert ds.provenance.list() == ["seisbatch"]
        doc = ds.provenance["seisbatch"]
        acts = [r for r in doc.get_records() if isinstance(r, prov.model.ProvActivity)]
        types = [str(next(iter(a.get_attribute("prov:type")))) for a in acts]
        assert types == ["seis_prov:detrend", "seis_prov:taper", "seis_prov:remove_response",
                         "seis_prov:bandpass_filter"], types
        attr = {str(k): str(getattr(v, "value", v)) for k, v in acts[3].attributes}
        assert attr["seis_prov:lower_corner_frequency"] == "0.5", attr
        assert attr["seis_prov:number_of_passes"] == "2", attr
        pid = got[0].stats.asdf.provenance_id
        assert all(t.stats.asdf.provenance_id == pid for t in got)
        assert ds.provenance.get_provenance_document_for_id(pid)["name"] == "seisbatch"


def test_a_tag_not_asked_for_is_not_read(tmp_path):
    src = tmp_path / "rjob.h5"
    example_dataset(src)
    chain = tmp_path / "demean.toml"
    chain.write_text('[[step]]\nop = "detrend"\ntype = "demean"\n')
    out = tmp_path / "out"
    p = subprocess.run([cli_binary(), "run", str(chain), "--input", str(src), "--output", str(out),
                        "--format", "asdf", "--tag", "other", "--device", "cpu", "--quiet"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with pyasdf.ASDFDataSet(str(out / "rjob" / "rjob.h5"), mode="r") as ds:
        got = ds.waveforms["BW.RJOB"]["processed"]
        assert [t.stats.channel for t in got] == ["EHZ"]
        z = obspy.read().select(component="Z")[0]
        assert np.allclose(got[0].data, z.data - z.data.mean(), rtol=0, atol=1e-3)


def test_layout_dataset_is_one_data_set_pyasdf_reads(tmp_path):
    """Two pyasdf data sets (the same station, two events) in, one data set out: both events
    in its catalog, each waveform associated with its own, the station's StationXML once."""
    src = tmp_path / "in"
    src.mkdir()
    st, inv, ev = example_dataset(src / "one.h5")
    ev2 = ev.copy()
    ev2.resource_id = obspy.core.event.ResourceIdentifier("smi:local/event/second")
    with pyasdf.ASDFDataSet(str(src / "two.h5"), mode="w") as ds:
        ds.add_quakeml(obspy.core.event.Catalog(events=[ev2]))
        ds.add_stationxml(inv.select(network="BW", station="RJOB"))
        ds.add_waveforms(st, tag="raw_recording", event_id=ev2)
    chain = tmp_path / "demean.toml"
    chain.write_text('[[step]]\nop = "detrend"\ntype = "demean"\n')
    out = tmp_path / "out"
    p = subprocess.run([cli_binary(), "run", str(chain), "--input", str(src), "--output", str(out),
                        "--layout", "dataset", "--tag", "raw_recording", "--device", "cpu",
                        "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in out.iterdir() if not x.name.startswith(".")) == [
        "dataset.h5", "report.json"]
    with pyasdf.ASDFDataSet(str(out / "dataset.h5"), mode="r") as ds:
        assert sorted(str(e.resource_id) for e in ds.events) == [
            "smi:local/event/rjob_2009", "smi:local/event/second"]
        sta = ds.waveforms["BW.RJOB"]
        assert sorted(sta.get_waveform_tags()) == ["processed", "processed_1"]
        by_event = {}
        for tag in sta.get_waveform_tags():
            for tr in sta[tag]:
                by_event.setdefault(str(tr.stats.asdf.event_ids[0]), []).append(tr.id)
        assert {k: len(v) for k, v in by_event.items()} == {
            "smi:local/event/rjob_2009": 3, "smi:local/event/second": 3}
        assert sta.StationXML[0][0].code == "RJOB"
