"""A synthetic seismic array for `seisbatch correlate` (examples/noise/): six stations over two
days at 5 Hz in an SDS archive, recording a diffuse noise field (independent noise arriving as
plane waves from 360 azimuths at 3 km/s) plus noise of their own, and their StationXML. Their
correlations should peak at +-distance / 3 km/s: the moveout the notebook plots.

usage: python examples/noise/make_array.py OUT     (numpy and ObsPy; about 20 MB)
writes OUT/archive/2020/XX/S?/HHZ.D/XX.S?..HHZ.D.2020.00? and OUT/stations.xml"""
import os
import sys

import numpy as np
import obspy

RATE = 5.0
DAYS = 2
SPEED_KM_S = 3.0
AZIMUTHS = 360
LAT0, LON0 = 35.0, -118.0
# (code, latitude, longitude): 15 pairs from ~20 to ~120 km apart.
STATIONS = [
    ("S1", 35.00, -118.00),
    ("S2", 35.18, -117.85),
    ("S3", 34.82, -117.62),
    ("S4", 35.35, -118.40),
    ("S5", 34.70, -118.25),
    ("S6", 35.55, -117.70),
]
STATION_XML = """<Station code="{c}" startDate="2019-01-01T00:00:00"><Latitude>{la}</Latitude><Longitude>{lo}</Longitude><Elevation>0</Elevation><Channel code="HHZ" locationCode="" startDate="2019-01-01T00:00:00"><Latitude>{la}</Latitude><Longitude>{lo}</Longitude><Elevation>0</Elevation><Depth>0</Depth><Azimuth>0</Azimuth><Dip>-90</Dip><SampleRate>5</SampleRate></Channel></Station>"""


def positions_km():
    km = 111.19
    return np.array([((lo - LON0) * km * np.cos(np.radians(LAT0)), (la - LAT0) * km)
                     for _, la, lo in STATIONS])


def day_of_noise(day, n):
    """Each station's samples for one day: the plane waves' sum, delayed by x.u / v."""
    pos = positions_km()
    delays = []
    for k in range(AZIMUTHS):
        a = np.radians(360.0 * k / AZIMUTHS)
        u = np.array([np.sin(a), np.cos(a)])  # propagation direction (east, north)
        delays.append(np.round(pos @ u / SPEED_KM_S * RATE).astype(int))
    delays = np.array(delays)
    pad = int(np.abs(delays).max()) + 1
    out = np.zeros((len(STATIONS), n))
    rng = np.random.default_rng(1000 + day)
    for k in range(AZIMUTHS):
        src = rng.standard_normal(n + 2 * pad)
        for i in range(len(STATIONS)):
            start = pad - delays[k, i]
            out[i] += src[start:start + n]
    own = np.random.default_rng(2000 + day).standard_normal(out.shape)
    return out + 0.5 * np.sqrt(AZIMUTHS) * own


def main(root):
    n = int(86400 * RATE)
    for day in range(DAYS):
        data = day_of_noise(day, n)
        t0 = obspy.UTCDateTime(2020, 1, 1) + 86400 * day
        for (code, _, _), x in zip(STATIONS, data):
            tr = obspy.Trace(x.astype(np.float32))
            tr.stats.update({"network": "XX", "station": code, "channel": "HHZ",
                             "sampling_rate": RATE, "starttime": t0})
            folder = os.path.join(root, "archive", "2020", "XX", code, "HHZ.D")
            os.makedirs(folder, exist_ok=True)
            name = "XX.%s..HHZ.D.2020.%03d" % (code, t0.julday)
            tr.write(os.path.join(folder, name), format="MSEED", encoding="FLOAT32")
    xml = ("""<?xml version="1.0" encoding="UTF-8"?><FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>seisbatch example</Source><Created>2020-01-01T00:00:00</Created><Network code="XX">"""
           + "".join(STATION_XML.format(c=c, la=la, lo=lo) for c, la, lo in STATIONS)
           + "</Network></FDSNStationXML>")
    with open(os.path.join(root, "stations.xml"), "w") as f:
        f.write(xml)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
