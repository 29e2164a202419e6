//! The lock object of an `s3://` output prefix: one run owns a prefix (per shard), with a
//! lease renewed by a thread while the run lives; a lapsed lease, or one held by a dead process
//! on this machine, is taken over with a conditional PUT on its ETag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::LEASE_S;
use crate::store::{self, Put, PutError, Url};

/// The lock object of a prefix, renewed by a thread while held.
pub(super) struct Lease {
    url: Url,
    state: Arc<Mutex<LeaseState>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct LeaseState {
    etag: Option<String>,
    lost: Option<String>,
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn lease_body() -> Vec<u8> {
    let host = crate::write::lock::hostname();
    serde_json::to_vec(&serde_json::json!({
        "host": host,
        "pid": std::process::id(),
        "until_unix": now_s() + LEASE_S,
    }))
    .unwrap_or_default()
}

impl Lease {
    pub(super) fn take(url: Url) -> Result<Lease, String> {
        let etag = match store::put(&url, lease_body(), Put::Create) {
            Ok(e) => e,
            Err(PutError::Taken) => {
                let (_, etag) = store::head(&url)?.unwrap_or((0, None));
                let held = store::read_all(&url, 1 << 16).map_err(|e| format!("{url}: {e}"))?;
                let v: serde_json::Value = serde_json::from_slice(&held).unwrap_or_default();
                let until = v["until_unix"].as_u64().unwrap_or(0);
                // A holder on this machine whose process is gone (killed) holds nothing.
                let dead_here = v["host"].as_str() == Some(crate::write::lock::hostname().as_str())
                    && v["pid"]
                        .as_u64()
                        .and_then(|p| i32::try_from(p).ok())
                        .is_some_and(|pid| {
                            // SAFETY: kill with signal 0 only checks that the process exists.
                            pid > 0
                                && unsafe { libc::kill(pid, 0) } != 0
                                && std::io::Error::last_os_error().raw_os_error()
                                    == Some(libc::ESRCH)
                        });
                if until > now_s() && !dead_here {
                    return Err(format!(
                        "{url}: another run holds this output (host {}, pid {}) until {} UTC; one run writes one prefix (give each shard --shard K/N, or wait for the lease to lapse)",
                        v["host"].as_str().unwrap_or("?"),
                        v["pid"],
                        crate::time::iso(i64::try_from(until).unwrap_or(0).saturating_mul(1_000_000_000))
                    ));
                }
                // A lapsed lease: a run that was killed. Taken over only if no one else did.
                let etag = etag.ok_or_else(|| format!("{url}: the lock object has no ETag"))?;
                store::put(&url, lease_body(), Put::Replace(etag)).map_err(|e| match e {
                    PutError::Taken => format!("{url}: another run took the lapsed lock first"),
                    PutError::Failed(m) => m,
                })?
            }
            Err(PutError::Failed(m)) => return Err(m),
        };
        let state = Arc::new(Mutex::new(LeaseState { etag, lost: None }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop, url) = (state.clone(), stop.clone(), url.clone());
            std::thread::spawn(move || renew(&url, &state, &stop))
        };
        Ok(Lease {
            url,
            state,
            stop,
            thread: Some(thread),
        })
    }

    pub(super) fn lost(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lost
            .clone()
    }

    pub(super) fn release(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.lost().is_none() {
            let _ = store::delete(&self.url);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Renews the lease every third of it, on its own ETag (a lease someone else took over is
/// lost, not overwritten).
fn renew(url: &Url, state: &Mutex<LeaseState>, stop: &AtomicBool) {
    let mut waited = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        waited += 200;
        if waited < LEASE_S * 1000 / 3 {
            continue;
        }
        waited = 0;
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(etag) = s.etag.clone() else {
            s.lost = Some(format!("{url}: the lock object has no ETag to renew"));
            return;
        };
        match store::put(url, lease_body(), Put::Replace(etag)) {
            Ok(e) => s.etag = e,
            Err(PutError::Taken) => {
                s.lost = Some(format!(
                    "{url}: the lease was taken over by another run; this run publishes nothing more"
                ));
                return;
            }
            // A failed renewal is tried again at the next third.
            Err(PutError::Failed(_)) => {}
        }
    }
}
