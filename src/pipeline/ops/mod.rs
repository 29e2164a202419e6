//! The operation table. Each operation is one file here owning all of its meaning: its
//! keyword struct parsed from the `[[step]]` table with ObsPy's names and defaults, its shape
//! rule (what it does to a trace's length, rate and start, with the warnings and errors ObsPy
//! raises for that shape) and its compilation to stages (`crate::stages`). Adding an
//! operation is its file, a line in `operations!` below, its stage(s) and shader(s) where it
//! computes something new, and its fixtures and tests.

use serde::Serialize;

use super::build::Build;
use super::keys::Keys;
use super::shape::StepShape;
use crate::error::ConfigError;

/// What every operation does; `Step` dispatches to it.
pub(crate) trait Operation: Sized {
    /// Reads the operation's keys (every one it knows: the rest are errors). `warnings` takes
    /// what is legal but almost surely a mistake, worded "step N (op): ...".
    fn parse(k: &mut Keys, warnings: &mut Vec<String>) -> Result<Self, ConfigError>;

    /// ObsPy's checks for a trace of shape `s.before`, in ObsPy's order: fills in `s.after`
    /// (and the warning, grid or cut); an error is ObsPy's for this shape. `origin` is the
    /// trace's event origin (ns), or why it has none.
    fn shape(&self, _s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        Ok(())
    }

    /// Appends the stages a trace of shape `s` runs (with their tables); an error says why a
    /// table cannot be built for this shape.
    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String>;

    /// Whether the operation can change a trace's length or rate.
    const CHANGES_SHAPE: bool = false;

    /// Whether it looks up the trace's instrument response.
    const NEEDS_RESPONSE: bool = false;
}

macro_rules! operations {
    ($($variant:ident = $name:literal in $module:ident;)*) => {
        $(pub mod $module;)*
        $(pub use $module::$variant;)*

        /// One pipeline step with every parameter resolved to ObsPy's value.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum Step {
            $($variant($variant),)*
        }

        /// The operations' names, in table order (the error for an unknown `op` lists them).
        pub const OPS: &[&str] = &[$($name),*];

        impl Step {
            pub fn op(&self) -> &'static str {
                match self {
                    $(Step::$variant(_) => $name,)*
                }
            }

            /// Whether the step changes a trace's sampling rate or length.
            pub fn changes_shape(&self) -> bool {
                match self {
                    $(Step::$variant(_) => <$variant as Operation>::CHANGES_SHAPE,)*
                }
            }

            /// Whether the step looks up the trace's instrument response.
            pub fn needs_response(&self) -> bool {
                match self {
                    $(Step::$variant(_) => <$variant as Operation>::NEEDS_RESPONSE,)*
                }
            }

            /// The operation's shape rule (`Operation::shape`).
            pub fn shape(&self, s: &mut StepShape, origin: Result<i64, &str>) -> Result<(), String> {
                match self {
                    $(Step::$variant(o) => o.shape(s, origin),)*
                }
            }

            /// The operation's stages (`Operation::compile`).
            pub fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
                match self {
                    $(Step::$variant(o) => o.compile(b, s),)*
                }
            }
        }

        /// The step named `op` parsed from `k`, or None when no operation has that name.
        pub(crate) fn parse_op(
            op: &str,
            k: &mut Keys,
            warnings: &mut Vec<String>,
        ) -> Option<Result<Step, ConfigError>> {
            match op {
                $($name => Some($variant::parse(k, warnings).map(Step::$variant)),)*
                _ => None,
            }
        }
    };
}

operations! {
    Detrend = "detrend" in detrend;
    Taper = "taper" in taper;
    RemoveResponse = "remove_response" in remove_response;
    Filter = "filter" in filter;
    Resample = "resample" in resample;
    Interpolate = "interpolate" in interpolate;
    Decimate = "decimate" in decimate;
    Rotate = "rotate" in rotate;
    Integrate = "integrate" in integrate;
    Differentiate = "differentiate" in differentiate;
    Normalize = "normalize" in normalize;
    RemoveSensitivity = "remove_sensitivity" in remove_sensitivity;
    Trim = "trim" in trim;
    Select = "select" in select;
    Simulate = "simulate" in simulate;
    Merge = "merge" in merge;
    Split = "split" in split;
}
