//! The CPU path's executor loops: `--jobs 1` takes each file (a station's files in a rotate
//! run) from the walk on the calling thread, processes and commits it (the serial debugging
//! path); more jobs run the streaming engine (`stream`) with one CPU executor per job.

use super::commit::Finished;
use super::work::{Ctx, Decoded};
use super::{group, stream, Inputs};
use crate::read::tree::InputFile;
use crate::time;

impl Ctx<'_> {
    /// The CPU path: `--jobs 1` takes each file (a station's files in a rotate run) from the
    /// walk on this thread, processes and commits it (the serial debugging path); more jobs
    /// run the streaming engine with one CPU executor per job.
    pub fn run_cpu(&self, walker: Inputs) {
        let cpu = |planner| crate::exec::cpu::Cpu {
            planner,
            cache: self.cache,
            clock: Some(&self.clocks.process),
        };
        let one = || -> Box<dyn crate::exec::Executor + Send + '_> {
            if self.segments.rotates.is_empty() {
                Box::new(cpu(self.planner))
            } else {
                Box::new(self.segments.grouped(|p| Box::new(cpu(p))))
            }
        };
        if self.cfg.jobs <= 1 {
            self.committer.hold_batches();
            let walker = group::Walk::new(walker);
            let mut exec = one();
            loop {
                let group = self.take_group(&walker);
                if group.is_empty() {
                    return;
                }
                if let [(seq, bytes, f)] = &group[..] {
                    if self.segments.rotates.is_empty() {
                        let done = self.guarded(f, || self.process_file(f));
                        self.committer.finish(*seq, *bytes, done);
                        continue;
                    }
                }
                self.process_group(group, &mut *exec);
            }
        }
        // One executor loop per worker: a loop waiting for its call to finish never idles a
        // core, since the others' calls fill the pool.
        let more: Vec<Box<dyn crate::exec::Executor + Send>> =
            (1..self.cfg.jobs).map(|_| one()).collect();
        let feed = stream::Feed::cpu(self.cfg.jobs);
        self.run_stream(walker, &mut *one(), more, &feed);
    }

    /// The serial path for a station's files (a rotate run): read them all, one executor
    /// call, each file's results committed (a partner's dropped).
    fn process_group(
        &self,
        group: Vec<(u64, u64, InputFile)>,
        exec: &mut dyn crate::exec::Executor,
    ) {
        let groups = [group.len()];
        let read = group
            .into_iter()
            .map(|(seq, bytes, f)| {
                let (d, inv) = (self.decode(&f), self.inventories(&f));
                (seq, bytes, f, d, inv)
            })
            .collect();
        for (seq, bytes, f, out, results) in self.run_set(exec, read, &groups).unwrap_or_default() {
            let done = self.guarded(&f, || self.finished(&f, out, results));
            self.committer.finish(seq, bytes, done);
        }
    }

    /// The CPU path for one file: decode, every trace through the steps, encode.
    fn process_file(&self, f: &InputFile) -> Finished {
        let Decoded { traces, out } = self.decode(f);
        let resp = self.inventories(f);
        let inv = self.sources(f, &resp);
        let exec = crate::exec::cpu::Cpu {
            planner: self.planner,
            cache: self.cache,
            clock: Some(&self.clocks.process),
        };
        let mut results = Vec::with_capacity(traces.len());
        for mut tr in traces {
            let (id, start) = (tr.id(), time::iso(tr.start_ns));
            let r = exec.run_trace(&mut tr, &inv);
            results.push((r.map(|w| (tr, w)), id, start));
        }
        self.finished(f, out, results)
    }
}
