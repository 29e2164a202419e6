"""Steps as Python dicts -> the pipeline TOML the Rust side checks and runs (the CLI's)."""

import json
import math


def _value(step_no, key, v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("step %d: %s = %r: expected a finite number" % (step_no, key, v))
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string: JSON's escapes are TOML's
    if hasattr(v, "isoformat") or type(v).__name__ == "UTCDateTime":
        return json.dumps(str(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(step_no, key, x) for x in v) + "]"
    if hasattr(v, "item"):  # a numpy scalar
        return _value(step_no, key, v.item())
    raise ValueError("step %d: %s = %r: expected a number, string, bool or list"
                     % (step_no, key, v))


def to_toml(steps):
    """``[{"op": "taper", "max_percentage": 0.05}, ...]`` -> ``[[step]]`` tables. ``None``
    means ObsPy's default (the key is left out), except ``water_level=None`` (no water level:
    the pipeline's ``water_level = false``)."""
    out = []
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise ValueError("step %d: expected a dict with 'op', got %r" % (i, step))
        if "op" not in step:
            raise ValueError("step %d: missing key 'op'" % i)
        out.append("[[step]]")
        for k, v in step.items():
            if not isinstance(k, str) or not k.replace("_", "").isalnum():
                raise ValueError("step %d: %r is not a key" % (i, k))
            if v is None:
                if k == "water_level":
                    out.append("water_level = false")
                continue
            out.append("%s = %s" % (k, _value(i, k, v)))
        out.append("")
    return "\n".join(out)
