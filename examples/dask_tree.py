#!/usr/bin/env python
"""A MassDownloader tree through seisbatch with Dask, as users already run their ObsPy loops:

    python examples/dask_tree.py examples/forum_chain.toml --input examples/data --output out
    python examples/dask_tree.py PIPELINE --input TREE --output OUT --mode shards --workers 8

--mode events (the default): a dask.bag over the tree's event folders, one `seisbatch.run` per
folder writing OUT/EVENT/ (the same files a single run over the whole tree writes).
--mode shards: dask.distributed futures over `--shard i/n`, every shard into OUT (the CLI's
sharding: each input belongs to exactly one shard, each shard keeps its own journal).
Either way it needs a scheduler: a `dask.distributed.Client` (LocalCluster by default, or
`--scheduler ADDRESS`). Each task runs seisbatch in its worker process with `--jobs` threads.
"""

import argparse
import json
import os
import sys


def event_folders(tree):
    """The tree's event folders (those holding raw/ waveforms), sorted."""
    return sorted(
        os.path.join(tree, d) for d in os.listdir(tree)
        if os.path.isdir(os.path.join(tree, d, "raw"))
    )


def run_event(folder, pipeline, output, options):
    import seisbatch
    out = os.path.join(output, os.path.basename(folder))
    report = seisbatch.run(pipeline, folder, out, progress=False, **options)
    return {"folder": folder, "ok": report["ok"], "failed": report["failed"],
            "exit_code": report["exit_code"]}


def run_shard(index, count, tree, pipeline, output, options):
    import seisbatch
    report = seisbatch.run(pipeline, tree, output, progress=False,
                           shard="%d/%d" % (index, count), **options)
    return {"shard": index, "ok": report["ok"], "failed": report["failed"],
            "exit_code": report["exit_code"]}


def main(argv=None, client=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline")
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--mode", choices=["events", "shards"], default="events")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1, help="seisbatch threads per task")
    ap.add_argument("--format", default="sac")
    ap.add_argument("--events", help="events CSV or QuakeML (--events of seisbatch run)")
    ap.add_argument("--scheduler", help="address of a running dask scheduler")
    a = ap.parse_args(argv)
    options = {"format": a.format, "jobs": a.jobs, "quiet": True, "device": "cpu"}
    if a.events:
        options["events"] = os.path.abspath(a.events)
    pipeline = os.path.abspath(a.pipeline)

    from dask.distributed import Client, LocalCluster
    # Local workers import this module by name from the folder it lies in (they start with
    # this process's sys.path).
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    own = None
    if client is None:
        if a.scheduler:
            client = own = Client(a.scheduler)
        else:
            cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = own = Client(cluster)
    if a.scheduler:
        # The tasks are this module's functions: remote workers import it from the upload.
        client.upload_file(os.path.abspath(__file__))
    try:
        if a.mode == "events":
            import dask.bag as db
            folders = event_folders(a.input)
            bag = db.from_sequence(folders, npartitions=max(1, min(len(folders), 4 * a.workers)))
            results = bag.map(run_event, pipeline, os.path.abspath(a.output), options).compute()
        else:
            n = 4 * a.workers
            futures = [client.submit(run_shard, i, n, os.path.abspath(a.input), pipeline,
                                     os.path.abspath(a.output), options, pure=False)
                       for i in range(n)]
            results = client.gather(futures)
    finally:
        if own is not None:
            cluster = getattr(own, "cluster", None)
            own.close()
            if cluster is not None:
                cluster.close()
    ok = sum(r["ok"] for r in results)
    failed = sum(r["failed"] for r in results)
    print(json.dumps({"tasks": len(results), "ok": ok, "failed": failed}))
    return 0 if all(r["exit_code"] == 0 for r in results) else 3


if __name__ == "__main__":
    # Run through the module, so that the tasks pickle as dask_tree.run_event (a worker
    # cannot import __main__'s functions).
    import dask_tree

    sys.exit(dask_tree.main())
