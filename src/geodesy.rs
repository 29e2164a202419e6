//! Distance and azimuths between an event and a station, as ObsPy 1.5.1's
//! `gps2dist_azimuth` computes them without geographiclib: Vincenty's inverse formula on the
//! WGS84 ellipsoid (`calc_vincenty_inverse`), ported line by line, its near-antipodal
//! fallback included; and `kilometers2degrees`.

const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// Python's `math.isclose` with its default relative tolerance.
fn isclose(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn normalize_longitude(mut lon: f64) -> f64 {
    // Bounded: callers pass checked longitudes (|lon| <= 360).
    while lon > 180.0 {
        lon -= 360.0;
    }
    while lon < -180.0 {
        lon += 360.0;
    }
    lon
}

/// (distance in m, azimuth from 1 to 2, back azimuth from 2 to 1), degrees in [0, 360].
/// `None` for a latitude outside +-90 or a longitude that is not finite (ObsPy raises).
pub fn gps2dist_azimuth(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> Option<(f64, f64, f64)> {
    let ok = |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && lon.abs() <= 720.0;
    if !ok(lat1, lon1) || !ok(lat2, lon2) {
        return None;
    }
    // ObsPy's fallback for the unstable near-antipodal case.
    Some(vincenty_inverse(lat1, lon1, lat2, lon2).unwrap_or((20_004_314.5, 0.0, 0.0)))
}

/// `kilometers2degrees` on a sphere of radius 6371 km.
pub fn kilometers2degrees(km: f64) -> f64 {
    km / (2.0 * 6371.0 * std::f64::consts::PI / 360.0)
}

fn vincenty_inverse(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> Option<(f64, f64, f64)> {
    let (a, f) = (WGS84_A, WGS84_F);
    let lon1 = normalize_longitude(lon1);
    let lon2 = normalize_longitude(lon2);
    let b = a * (1.0 - f);
    if isclose(lat1, lat2) && isclose(lon1, lon2) {
        return Some((0.0, 0.0, 0.0));
    }
    let (lat1, lon1, lat2, lon2) = (
        lat1.to_radians(),
        lon1.to_radians(),
        lat2.to_radians(),
        lon2.to_radians(),
    );
    let u_1 = ((1.0 - f) * lat1.tan()).atan();
    let u_2 = ((1.0 - f) * lat2.tan()).atan();
    let mut dlon = lon2 - lon1;
    let mut last_dlon = -4_000_000.0;
    let omega = dlon;
    let mut iterlimit = 100;
    let (mut sqr_sin_sigma, mut sin_sigma, mut cos_sigma, mut sigma) = (0.0, 0.0, 0.0, 0.0);
    let (mut sqr_cos_alpha, mut cos2sigma_m) = (0.0, 0.0);
    while last_dlon < -3_000_000.0 || dlon != 0.0 && ((last_dlon - dlon) / dlon).abs() > 1.0e-9 {
        sqr_sin_sigma = (u_2.cos() * dlon.sin()).powi(2)
            + (u_1.cos() * u_2.sin() - u_1.sin() * u_2.cos() * dlon.cos()).powi(2);
        sin_sigma = sqr_sin_sigma.sqrt();
        cos_sigma = u_1.sin() * u_2.sin() + u_1.cos() * u_2.cos() * dlon.cos();
        sigma = sin_sigma.atan2(cos_sigma);
        let sin_alpha = u_1.cos() * u_2.cos() * dlon.sin() / sin_sigma;
        sqr_cos_alpha = 1.0 - sin_alpha * sin_alpha;
        cos2sigma_m = if isclose(sqr_cos_alpha, 0.0) {
            0.0
        } else {
            cos_sigma - (2.0 * u_1.sin() * u_2.sin() / sqr_cos_alpha)
        };
        let c = (f / 16.0) * sqr_cos_alpha * (4.0 + f * (4.0 - 3.0 * sqr_cos_alpha));
        last_dlon = dlon;
        dlon = omega
            + (1.0 - c)
                * f
                * sin_alpha
                * (sigma
                    + c * sin_sigma
                        * (cos2sigma_m + c * cos_sigma * (-1.0 + 2.0 * cos2sigma_m.powi(2))));
        iterlimit -= 1;
        // Python's math raises on a domain error ("math domain error") where Rust gives NaN.
        if iterlimit < 0 || !dlon.is_finite() {
            return None;
        }
    }
    let u2 = sqr_cos_alpha * (a * a - b * b) / (b * b);
    let big_a = 1.0 + (u2 / 16384.0) * (4096.0 + u2 * (-768.0 + u2 * (320.0 - 175.0 * u2)));
    let big_b = (u2 / 1024.0) * (256.0 + u2 * (-128.0 + u2 * (74.0 - 47.0 * u2)));
    let delta_sigma = big_b
        * sin_sigma
        * (cos2sigma_m
            + (big_b / 4.0)
                * (cos_sigma * (-1.0 + 2.0 * cos2sigma_m.powi(2))
                    - (big_b / 6.0)
                        * cos2sigma_m
                        * (-3.0 + 4.0 * sqr_sin_sigma)
                        * (-3.0 + 4.0 * cos2sigma_m.powi(2))));
    let dist = b * big_a * (sigma - delta_sigma);
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut alpha12 =
        (u_2.cos() * dlon.sin()).atan2(u_1.cos() * u_2.sin() - u_1.sin() * u_2.cos() * dlon.cos());
    let mut alpha21 =
        (u_1.cos() * dlon.sin()).atan2(-u_1.sin() * u_2.cos() + u_1.cos() * u_2.sin() * dlon.cos());
    if alpha12 < 0.0 {
        alpha12 += two_pi;
    }
    if alpha12 > two_pi {
        alpha12 -= two_pi;
    }
    alpha21 += std::f64::consts::PI;
    if alpha21 < 0.0 {
        alpha21 += two_pi;
    }
    if alpha21 > two_pi {
        alpha21 -= two_pi;
    }
    let values = (dist, alpha12 * 360.0 / two_pi, alpha21 * 360.0 / two_pi);
    // ObsPy: all NaN is the unstable case.
    (!(values.0.is_nan() && values.1.is_nan() && values.2.is_nan())).then_some(values)
}

#[cfg(test)]
mod tests;
