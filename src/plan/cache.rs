//! Plans compiled once per key and shared by every trace and worker: a million traces of a
//! few shapes compile a few plans.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::compile::{compile, Plan};
use super::shapes::{shapes, Failure, PlanKey, Shape, Shapes};
use crate::once_map::OnceMap;
use crate::pipeline::Step;
use crate::trace::Holds;

/// Most bytes of tables the cache holds before it restarts (a run over traces of many odd
/// lengths, from gaps, would otherwise grow without bound; a restart costs one compile per
/// shape still in use).
pub const MAX_PLAN_BYTES: usize = 256 << 20;

pub type Compiled = Result<Arc<Plan>, Failure>;

/// The steps of one pipeline and their plans.
pub struct Planner {
    steps: Vec<Step>,
    holds: Holds,
    plans: OnceMap<PlanKey, Compiled>,
    bytes: AtomicUsize,
}

impl Planner {
    pub fn new(steps: &[Step]) -> Planner {
        Planner {
            steps: steps.to_vec(),
            holds: Holds::default(),
            plans: OnceMap::default(),
            bytes: AtomicUsize::new(0),
        }
    }

    /// This planner's plans end with samples checked in `holds` (float32 by default: the
    /// CLI's files; Python's arrays are float64).
    pub fn holding(mut self, holds: Holds) -> Planner {
        self.holds = holds;
        self
    }

    pub fn holds(&self) -> Holds {
        self.holds
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The walk for one trace (cheap; per trace).
    pub fn shapes(&self, input: Shape) -> Shapes {
        shapes(&self.steps, input)
    }

    /// `shapes` with the trace's event origin (`plan::shapes_at`).
    pub fn shapes_at(&self, input: Shape, origin: Result<i64, &str>) -> Shapes {
        super::shapes::shapes_at(&self.steps, input, origin)
    }

    /// The plan for traces walked as `s`, compiled on first use.
    pub fn plan(&self, s: &Shapes) -> Compiled {
        if self.bytes.load(Ordering::Relaxed) > MAX_PLAN_BYTES {
            self.plans.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        self.plans.get_or_init(s.key(), || {
            let p = compile(&self.steps, s).map(|mut p| {
                p.holds = self.holds;
                Arc::new(p)
            });
            if let Ok(p) = &p {
                self.bytes.fetch_add(p.table_bytes(), Ordering::Relaxed);
            }
            p
        })
    }

    /// Plans compiled and held now.
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
