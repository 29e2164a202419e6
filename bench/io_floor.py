#!/usr/bin/env python3
"""The floor of seisbatch's per-trace fixed costs on this disk (issue #25): the system calls a
run cannot do without, timed per phase over the same files, in a Python loop (its overhead,
~1 us a call, is far below each phase's cost):

  read    open(O_RDONLY|O_NOFOLLOW) + fstat + read of the whole file + close, per input
  create  open(O_CREAT|O_EXCL|O_WRONLY|O_NOFOLLOW) of a temporary name + one write of BYTES
          bytes + close, per output, in the output folder
  durable one syncfs per BATCH outputs (seisbatch's policy: outputs durable before they are
          journaled, a batch at a time)
  rename  rename(2) of each temporary name to its final one
  journal one O_APPEND write of a LINE-byte line per input

usage: python3 bench/io_floor.py INPUT_DIR OUTPUT_DIR BYTES [LINE=300] [BATCH=32] [PASSES=3]
Prints JSON: milliseconds per file for each phase (best of PASSES passes, outputs removed
between).
"""
import ctypes
import json
import os
import shutil
import sys
import time

src, dst, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
line_len = int(sys.argv[4]) if len(sys.argv) > 4 else 300
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 32
passes = int(sys.argv[6]) if len(sys.argv) > 6 else 3
libc = ctypes.CDLL(None, use_errno=True)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
payload = b"\x01" * size
line = b"x" * (line_len - 1) + b"\n"


def one_pass():
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    t = dict(read=0.0, create=0.0, durable=0.0, rename=0.0, journal=0.0)
    j = os.open(os.path.join(dst, "journal"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    staged = []

    def flush():
        a = time.perf_counter()
        fd = os.open(dst, os.O_RDONLY)
        libc.syncfs(fd)
        os.close(fd)
        b = time.perf_counter()
        for tmp, final in staged:
            os.rename(tmp, final)
        c = time.perf_counter()
        for _ in staged:
            os.write(j, line)
        t["durable"] += b - a
        t["rename"] += c - b
        t["journal"] += time.perf_counter() - c
        staged.clear()

    for k, f in enumerate(files):
        a = time.perf_counter()
        fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW)
        n = os.fstat(fd).st_size
        data = os.read(fd, n)
        os.close(fd)
        b = time.perf_counter()
        tmp = os.path.join(dst, f".{k}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o644)
        os.write(fd, payload)
        os.close(fd)
        c = time.perf_counter()
        t["read"] += b - a
        t["create"] += c - b
        staged.append((tmp, os.path.join(dst, f"{k}.sac")))
        if len(staged) == batch:
            flush()
        assert len(data) == n
    flush()
    os.close(j)
    return {k: v * 1e3 / len(files) for k, v in t.items()}


best = None
for _ in range(passes):
    r = one_pass()
    best = r if best is None else {k: min(best[k], r[k]) for k in r}
shutil.rmtree(dst, ignore_errors=True)
best["files"] = len(files)
print(json.dumps(best))
