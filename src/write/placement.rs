//! Where OUTPUT lies relative to INPUT: equal to the input folder or holding it is refused
//! (outputs would replace or mix with raw data: `--overwrite` replaced raw files with their
//! processed outputs), inside it is allowed and left out of the walk. Paths are compared
//! resolved (links, `..`, any spelling), also for an OUTPUT that does not exist yet.

use std::path::{Component, Path, PathBuf};

/// A path as canonical as it can be before it exists: the deepest existing ancestor resolved,
/// the rest appended (`..` taken off lexically: those parts do not exist yet).
pub fn real_path(p: &Path) -> std::io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        match std::fs::canonicalize(cur) {
            Ok(mut real) => {
                for c in rest.iter().rev() {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(_) => {
                let Some(parent) = cur.parent() else {
                    return Ok(abs);
                };
                if let Some(c) = cur.components().next_back() {
                    rest.push(c);
                }
                cur = parent;
            }
        }
    }
}

/// How OUTPUT lies relative to the input root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Apart,
    /// OUTPUT is inside INPUT: the walk leaves it out.
    InsideInput,
}

/// Refuses OUTPUT equal to the input root or holding it; says when it lies inside it.
/// `input_root` is the folder of `--input` (a single file's folder for a file).
pub fn placement(input_root: &Path, output: &Path) -> Result<Placement, String> {
    let inp = std::fs::canonicalize(input_root)
        .map_err(|e| format!("--input {}: {e}", input_root.display()))?;
    let out = real_path(output).map_err(|e| format!("--output {}: {e}", output.display()))?;
    if out == inp {
        return Err(format!(
            "--output {} is the input folder {} itself: outputs would replace or mix with the raw data; choose another folder",
            output.display(),
            input_root.display()
        ));
    }
    if inp.starts_with(&out) {
        return Err(format!(
            "--input {} lies inside --output {}: outputs would mix with the raw data; choose an output folder outside the input",
            input_root.display(),
            output.display()
        ));
    }
    Ok(if out.starts_with(&inp) {
        Placement::InsideInput
    } else {
        Placement::Apart
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_refuses_output_equal_to_or_holding_the_input() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in");
        std::fs::create_dir_all(input.join("ev")).unwrap();
        assert_eq!(
            placement(&input, &d.path().join("out")),
            Ok(Placement::Apart)
        );
        assert!(placement(&input, &input).unwrap_err().contains("itself"));
        assert!(
            placement(&input, &input.join("ev/..")).is_err(),
            "spelled differently"
        );
        assert!(placement(&input, d.path())
            .unwrap_err()
            .contains("lies inside --output"));
        assert_eq!(
            placement(&input, &input.join("processed/new")),
            Ok(Placement::InsideInput)
        );
        std::os::unix::fs::symlink(&input, d.path().join("link")).unwrap();
        assert!(
            placement(&input, &d.path().join("link")).is_err(),
            "linked into the input"
        );
        assert_eq!(
            placement(&input, &d.path().join("link/sub")),
            Ok(Placement::InsideInput)
        );
    }
}
