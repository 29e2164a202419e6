//! A concurrent map whose values are computed at most once per key: threads asking for the
//! same key wait for the one computing it, threads asking for other keys do not. Used for
//! parsed StationXML and evaluated responses, where computing twice would also give two
//! response ids and defeat the response cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

pub struct OnceMap<K, V> {
    map: Mutex<HashMap<K, Arc<OnceLock<V>>>>,
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        OnceMap {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> OnceMap<K, V> {
    pub fn get_or_init(&self, key: K, init: impl FnOnce() -> V) -> V {
        let cell = {
            // A poisoned lock only means another thread panicked mid-insert; the map is
            // still consistent (inserts are single calls), so keep using it.
            let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(key).or_default().clone()
        };
        cell.get_or_init(init).clone()
    }

    /// Forgets every entry (values already handed out live on in their holders).
    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn computes_once_under_contention() {
        let m: OnceMap<u32, usize> = OnceMap::default();
        let calls = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    m.get_or_init(7, || {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        calls.fetch_add(1, Ordering::SeqCst)
                    })
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(m.len(), 1);
    }
}
