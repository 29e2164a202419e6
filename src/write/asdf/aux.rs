//! ASDF auxiliary data: `/AuxiliaryData/<data_type>/<path>` float32 datasets with their
//! parameters as attributes, as pyasdf's `add_auxiliary_data` writes them (strings as
//! variable-length UTF-8 and booleans as HDF5's enum, as h5py stores a Python str and a numpy
//! bool). NoisePy keeps its correlations and stacks this way (`correlate::asdf`).

use std::path::Path;

/// A parameter's value, typed as NoisePy's dict gives it to h5py.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    F64(f64),
    F32(f32),
    I64(i64),
    Bool(bool),
    Str(String),
}

/// One dataset: its data type (the group under AuxiliaryData), its path ('/' nests groups),
/// the samples and the parameters.
#[derive(Debug, Clone)]
pub struct Aux {
    pub data_type: String,
    pub path: String,
    pub data: Vec<f32>,
    pub attrs: Vec<(&'static str, Attr)>,
}

/// pyasdf's rule for a data type and each part of a path in ASDF 1.0.3 (header.py's
/// AUXILIARY_DATA_PATH_PART_PATTERN): names from station codes are escaped before they get
/// here (`crate::escape` keeps `[A-Za-z0-9-]` and writes `%XX`, both allowed).
pub fn valid_name(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&*+,:;<=>?@^~".contains(&b))
}

fn check(items: &[Aux]) -> Result<(), String> {
    for a in items {
        if !valid_name(&a.data_type) {
            return Err(format!(
                "ASDF data type {:?}: not a valid name",
                a.data_type
            ));
        }
        if let Some(p) = a.path.split('/').find(|p| !valid_name(p)) {
            return Err(format!(
                "ASDF path {:?}: part {p:?} is not a valid name",
                a.path
            ));
        }
    }
    Ok(())
}

/// Writes `items` as the auxiliary data of a new ASDF file at `path` (whole: a temporary name,
/// then a rename). A data type and path given twice is an error (pyasdf would keep the first).
pub fn write_aux(path: &Path, items: &[Aux]) -> Result<(), String> {
    use hdf5_metno as h5;
    check(items)?;
    let e = |what: String| move |err: h5::Error| format!("{}: {what}: {err}", path.display());
    super::write_whole(path, &mut |f| {
        let root = f
            .group("AuxiliaryData")
            .map_err(e("AuxiliaryData".into()))?;
        for a in items {
            let full = format!("{}/{}", a.data_type, a.path);
            let mut g = root.clone();
            let parts: Vec<&str> = full.split('/').collect();
            let (leaf, groups) = parts.split_last().unwrap_or((&"", &[]));
            for part in groups {
                g = match g.group(part) {
                    Ok(x) => x,
                    Err(_) => g.create_group(part).map_err(e(full.clone()))?,
                };
            }
            if g.link_exists(leaf) {
                return Err(format!("{}: {full} given twice", path.display()));
            }
            let d = g
                .new_dataset_builder()
                .with_data(&a.data)
                .create(*leaf)
                .map_err(e(full.clone()))?;
            for (name, v) in &a.attrs {
                let at = e(format!("{full}: {name}"));
                match v {
                    Attr::F64(x) => d
                        .new_attr::<f64>()
                        .create(*name)
                        .and_then(|t| t.write_scalar(x)),
                    Attr::F32(x) => d
                        .new_attr::<f32>()
                        .create(*name)
                        .and_then(|t| t.write_scalar(x)),
                    Attr::I64(x) => d
                        .new_attr::<i64>()
                        .create(*name)
                        .and_then(|t| t.write_scalar(x)),
                    Attr::Bool(x) => d
                        .new_attr::<bool>()
                        .create(*name)
                        .and_then(|t| t.write_scalar(x)),
                    Attr::Str(s) => {
                        let v: h5::types::VarLenUnicode =
                            s.parse().map_err(|x| format!("{full}: {name}: {x}"))?;
                        d.new_attr::<h5::types::VarLenUnicode>()
                            .create(*name)
                            .and_then(|t| t.write_scalar(&v))
                    }
                }
                .map_err(at)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_follow_pyasdf_1_0_3() {
        for ok in ["CI.ARV_CI.BAK", "BHZ_BHN", "Allstack_linear", "ZZ", "X%2FY"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a/b", "a b", "é", "a\"b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
