//! NoisePy's `rotation`: a pair's nine stacked correlations from the E-N-Z system to R-T-Z,
//! by the azimuth from source to receiver (`azi`) and the back-azimuth at the receiver
//! (`baz`), degrees, as obspy's gps2dist_azimuth gives them. The source's components turn by
//! azi, the receiver's by baz; NoisePy's signs, line for line (R points from the source towards
//! the receiver at both ends, T = -N for an eastward pair).

/// NoisePy's input order (`enz_system`): source component, then receiver component.
pub const ENZ: [&str; 9] = ["EE", "EN", "EZ", "NE", "NN", "NZ", "ZE", "ZN", "ZZ"];
/// NoisePy's output order (`rtz_components`; it names ZZ "ZZ_R" in its store).
pub const RTZ: [&str; 9] = ["ZR", "ZT", "ZZ", "RR", "RT", "RZ", "TR", "TT", "TZ"];

/// The nine rows in `ENZ` order (each the same length) -> the nine in `RTZ` order; angles in
/// degrees (NoisePy's `azi` and `baz`).
pub fn rotation(enz: [&[f64]; 9], azi: f64, back_azimuth: f64) -> [Vec<f64>; 9] {
    let (sina, cosa) = azi.to_radians().sin_cos();
    let (sinb, cosb) = back_azimuth.to_radians().sin_cos();
    let [ee, en, ez, ne, nn, nz, ze, zn, zz] = enz;
    let mix = |terms: &[(f64, &[f64])]| -> Vec<f64> {
        (0..zz.len())
            .map(|i| terms.iter().map(|(w, r)| w * r[i]).sum())
            .collect()
    };
    [
        mix(&[(-cosb, zn), (-sinb, ze)]),
        mix(&[(sinb, zn), (-cosb, ze)]),
        zz.to_vec(),
        mix(&[
            (-cosa * cosb, nn),
            (-cosa * sinb, ne),
            (-sina * cosb, en),
            (-sina * sinb, ee),
        ]),
        mix(&[
            (cosa * sinb, nn),
            (-cosa * cosb, ne),
            (sina * sinb, en),
            (-sina * cosb, ee),
        ]),
        mix(&[(cosa, nz), (sina, ez)]),
        mix(&[
            (sina * cosb, nn),
            (sina * sinb, ne),
            (-cosa * cosb, en),
            (-cosa * sinb, ee),
        ]),
        mix(&[
            (-sina * sinb, nn),
            (sina * cosb, ne),
            (cosa * sinb, en),
            (-cosa * cosb, ee),
        ]),
        mix(&[(-sina, nz), (cosa, ez)]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver due east of the source (azi 90, baz 270): R is east and T south at both
    /// ends, so RR = EE, TT = NN, RT = -EN, TR = -NE, ZR = ZE, RZ = EZ, ZZ = ZZ.
    #[test]
    fn an_east_west_pair_turns_e_into_r() {
        let rows: Vec<Vec<f64>> = (0..9).map(|k| vec![k as f64 + 1.0, -(k as f64)]).collect();
        let enz: [&[f64]; 9] = std::array::from_fn(|k| rows[k].as_slice());
        let out = rotation(enz, 90.0, 270.0);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        let at = |name: &str| ENZ.iter().position(|n| *n == name).unwrap();
        let rtz = |name: &str| &out[RTZ.iter().position(|n| *n == name).unwrap()];
        assert!(close(rtz("RR"), &rows[at("EE")]));
        assert!(close(rtz("ZZ"), &rows[at("ZZ")]));
        assert!(close(rtz("ZR"), &rows[at("ZE")]));
        assert!(close(rtz("RZ"), &rows[at("EZ")]));
        let neg = |r: &[f64]| r.iter().map(|v| -v).collect::<Vec<f64>>();
        assert!(close(rtz("TT"), &rows[at("NN")]));
        assert!(close(rtz("RT"), &neg(&rows[at("EN")])));
        assert!(close(rtz("TR"), &neg(&rows[at("NE")])));
    }
}
