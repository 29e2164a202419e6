//! `Trace.remove_sensitivity(inventory)`: `data / instrument_sensitivity.value` (the value
//! itself checked by `response::cache::sensitivity_table`, which the device's table uses).

pub fn remove_sensitivity(x: &mut [f64], value: f64) {
    x.iter_mut().for_each(|v| *v /= value);
}
