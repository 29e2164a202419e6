//! Object storage (issue #28): `s3://bucket/prefix` inputs, catalogs and outputs through the
//! `object_store` crate. Everything else in seisbatch reads and writes local files; this
//! module is the one place that talks to a bucket, in blocking calls (one tokio runtime for
//! the process, entered from the worker threads that need a byte range).
//!
//! What a request may cost is bounded here: at most `--s3-concurrency` requests in flight,
//! retries with backoff on throttling (503 SlowDown, 429), a dropped connection and a
//! timeout (object_store's retry, and one more loop of ours around a whole read), every
//! response checked against what was asked (an object shorter than its range, or changed
//! since it was indexed, is an error for that object, never a short read).

pub mod credentials;
pub mod fetch;
pub mod scedc;
pub mod upload;
mod url;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};

pub use url::{is_remote, url_of, Url, SCHEME};

/// How to reach the store: `--s3-endpoint`, `--s3-anonymous`, `--s3-region`,
/// `--s3-concurrency`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// An S3-compatible server (`http://127.0.0.1:9000`); None: AWS.
    pub endpoint: Option<String>,
    /// Unsigned requests (public buckets such as SCEDC's).
    pub anonymous: bool,
    pub region: Option<String>,
    /// Requests in flight at once, over the whole process.
    pub concurrency: usize,
    /// Seconds one request may take (then it is retried).
    pub timeout_s: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            endpoint: None,
            anonymous: false,
            region: None,
            concurrency: 16,
            timeout_s: 60,
        }
    }
}

/// Most requests in flight `--s3-concurrency` may ask for.
pub const MAX_CONCURRENCY: usize = 256;

static OPTIONS: OnceLock<Options> = OnceLock::new();

/// Sets the process's store options (the first call wins: one command line, one store).
pub fn configure(o: Options) -> Result<(), String> {
    if o.concurrency == 0 || o.concurrency > MAX_CONCURRENCY {
        return Err(format!(
            "--s3-concurrency must be 1 to {MAX_CONCURRENCY}, got {}",
            o.concurrency
        ));
    }
    if let Some(e) = &o.endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(format!(
                "--s3-endpoint {e}: give a URL (http://HOST:PORT or https://HOST)"
            ));
        }
    }
    let _ = OPTIONS.set(o);
    Ok(())
}

/// What the process's requests cost (report.json's `object_store`).
#[derive(Debug, Default, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    pub requests: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Whole reads tried again after an error object_store's own retries gave up on.
    pub retries: u64,
    /// Seconds requests were in flight, summed over requests.
    pub request_seconds: f64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    retries: AtomicU64,
    micros: AtomicU64,
}

static COUNTERS: OnceLock<Counters> = OnceLock::new();

fn counters() -> &'static Counters {
    COUNTERS.get_or_init(Counters::default)
}

/// The process's traffic so far.
pub fn traffic() -> Traffic {
    let c = counters();
    Traffic {
        requests: c.requests.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        bytes_written: c.bytes_written.load(Ordering::Relaxed),
        retries: c.retries.load(Ordering::Relaxed),
        request_seconds: c.micros.load(Ordering::Relaxed) as f64 * 1e-6,
    }
}

/// A counting semaphore: requests in flight over the whole process.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn take(&self) -> SlotGuard<'_> {
        let mut f = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *f == 0 {
            f = self.cv.wait(f).unwrap_or_else(|p| p.into_inner());
        }
        *f -= 1;
        SlotGuard(self, Instant::now())
    }
}

struct SlotGuard<'a>(&'a Slots, Instant);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let c = counters();
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.micros
            .fetch_add(self.1.elapsed().as_micros() as u64, Ordering::Relaxed);
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// The process's runtime and request slots.
struct Shared {
    rt: tokio::runtime::Runtime,
    slots: Slots,
    buckets: Mutex<Vec<(String, Arc<AmazonS3>)>>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

fn shared() -> Result<&'static Shared, String> {
    let s = SHARED.get_or_init(|| {
        let o = OPTIONS.get().cloned().unwrap_or_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("seisbatch-s3")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the object-store runtime: {e}"))?;
        Ok(Shared {
            rt,
            slots: Slots {
                free: Mutex::new(o.concurrency),
                cv: Condvar::new(),
            },
            buckets: Mutex::new(Vec::new()),
        })
    });
    s.as_ref().map_err(Clone::clone)
}

/// The client of `bucket` (built once per process).
fn client(bucket: &str) -> Result<Arc<AmazonS3>, String> {
    let sh = shared()?;
    let mut list = sh.buckets.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = list.iter().find(|(b, _)| b == bucket) {
        return Ok(c.clone());
    }
    let o = OPTIONS.get().cloned().unwrap_or_default();
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(e) = &o.endpoint {
        b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
    }
    if let Some(r) = &o.region {
        b = b.with_region(r);
    } else if std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        if let Some(r) = credentials::profile_region() {
            b = b.with_region(r);
        }
    }
    if o.anonymous {
        b = b.with_skip_signature(true);
    } else if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        // The shared credentials file, as the AWS CLI reads it (object_store reads the
        // environment, web identity, container and instance roles itself).
        if let Some(k) = credentials::from_profile() {
            b = b
                .with_access_key_id(k.key_id)
                .with_secret_access_key(k.secret);
            if let Some(t) = k.token {
                b = b.with_token(t);
            }
        }
    }
    let timeout = Duration::from_secs(o.timeout_s.max(1));
    b = b
        .with_client_options(
            // Plain http only to an endpoint the user named so (a local server).
            ClientOptions::new()
                .with_allow_http(
                    o.endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://")),
                )
                .with_timeout(timeout)
                .with_connect_timeout(Duration::from_secs(10)),
        )
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
        });
    let c = Arc::new(
        b.build()
            .map_err(|e| format!("{SCHEME}{bucket}: cannot set up the client: {e}"))?,
    );
    list.push((bucket.to_string(), c.clone()));
    Ok(c)
}

/// Runs one request with a slot held.
fn call<T>(f: impl std::future::Future<Output = T>) -> Result<T, String> {
    let sh = shared()?;
    let _slot = sh.slots.take();
    Ok(sh.rt.block_on(f))
}

/// An error as the user can act on it: a failed look-up of the instance role (the last place
/// the AWS chain looks) means no credentials were found anywhere.
fn said(e: &object_store::Error) -> String {
    let text = e.to_string();
    if text.contains("169.254.169.254") || text.contains("169.254.170.2") {
        return format!(
            "no AWS credentials found (environment, AWS_PROFILE in ~/.aws/credentials, web identity, container or instance role); give some, or --s3-anonymous for a public bucket [{text}]"
        );
    }
    text
}

/// Whole reads tried at most this many times (object_store retries each request itself).
const READ_TRIES: u32 = 3;

fn key(u: &Url) -> Result<Key, String> {
    Key::parse(&u.key).map_err(|e| format!("{u}: {e}"))
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub url: Url,
    pub size: u64,
    pub modified_ns: i64,
    pub etag: Option<String>,
}

/// Every object under `prefix` (pagination is object_store's), in key order; at most `most`.
pub fn list(prefix: &Url, most: usize) -> Result<Vec<Listed>, String> {
    use futures::TryStreamExt;
    let c = client(&prefix.bucket)?;
    let p = if prefix.key.is_empty() {
        None
    } else {
        Some(key(prefix)?)
    };
    let mut out: Vec<Listed> = call(async {
        let mut s = c.list(p.as_ref());
        let mut v = Vec::new();
        while let Some(m) = s
            .try_next()
            .await
            .map_err(|e| format!("{prefix}: {}", said(&e)))?
        {
            if v.len() >= most {
                return Err(format!(
                    "{prefix}: more than {most} objects; give a narrower prefix"
                ));
            }
            let t = m.last_modified;
            v.push(Listed {
                url: Url {
                    bucket: prefix.bucket.clone(),
                    key: m.location.to_string(),
                },
                size: m.size,
                modified_ns: t
                    .timestamp()
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(t.timestamp_subsec_nanos())),
                etag: m.e_tag,
            });
        }
        Ok(v)
    })??;
    out.sort_by(|a, b| a.url.key.cmp(&b.url.key));
    Ok(out)
}

/// What a read found wrong with the object (the caller names the file).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// Not there (any more).
    Missing,
    /// Its ETag or size is not the one indexed.
    Changed(String),
    /// Shorter than the bytes asked for.
    Short { got: u64, want: u64 },
    /// Anything else, after the retries.
    Failed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => write!(f, "the object is not there"),
            ReadError::Changed(why) => write!(
                f,
                "the object changed since it was indexed ({why}); index the archive again"
            ),
            ReadError::Short { got, want } => write!(
                f,
                "the object gave {got} of the {want} bytes asked for (truncated)"
            ),
            ReadError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// What an indexed object was: its size and ETag (either may be unknown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    pub size: Option<u64>,
    pub etag: Option<String>,
}

/// Bytes `range` of `u`, exactly (retried; checked against `expect`).
pub fn read_range(
    u: &Url,
    range: std::ops::Range<u64>,
    expect: &Expect,
) -> Result<bytes::Bytes, ReadError> {
    read(u, Some(range), expect, u64::MAX)
}

/// The whole object, at most `most` bytes.
pub fn read_all(u: &Url, most: u64) -> Result<bytes::Bytes, ReadError> {
    read(u, None, &Expect::default(), most)
}

fn read(
    u: &Url,
    range: Option<std::ops::Range<u64>>,
    expect: &Expect,
    most: u64,
) -> Result<bytes::Bytes, ReadError> {
    let c = client(&u.bucket).map_err(ReadError::Failed)?;
    let k = key(u).map_err(ReadError::Failed)?;
    let mut last = ReadError::Failed("no attempt".into());
    for attempt in 0..READ_TRIES {
        if attempt > 0 {
            counters().retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        let opts = GetOptions {
            if_match: expect.etag.clone(),
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = call(async {
            let r = c.get_opts(&k, opts).await?;
            let size = r.meta.size;
            let etag = r.meta.e_tag.clone();
            if range.is_none() && size > most {
                return Ok(Err((size, etag)));
            }
            r.bytes().await.map(|b| Ok((b, size, etag)))
        })
        .map_err(ReadError::Failed)?;
        let (b, size, etag) = match got {
            Ok(Ok(x)) => x,
            Ok(Err((size, _))) => {
                return Err(ReadError::Failed(format!(
                    "{size} bytes, more than the {most} it may have"
                )))
            }
            Err(object_store::Error::NotFound { .. }) => return Err(ReadError::Missing),
            Err(object_store::Error::Precondition { .. }) => {
                return Err(ReadError::Changed("its ETag is not the one indexed".into()))
            }
            Err(e) => {
                last = ReadError::Failed(said(&e));
                continue;
            }
        };
        counters()
            .bytes_read
            .fetch_add(b.len() as u64, Ordering::Relaxed);
        if let (Some(want), Some(got)) = (&expect.etag, &etag) {
            if want != got {
                return Err(ReadError::Changed(format!("ETag {got}, indexed {want}")));
            }
        }
        if let Some(want) = expect.size {
            if size != want {
                return Err(ReadError::Changed(format!("{size} bytes, indexed {want}")));
            }
        }
        let want = range.as_ref().map_or(size, |r| r.end - r.start);
        if b.len() as u64 != want {
            last = ReadError::Short {
                got: b.len() as u64,
                want,
            };
            continue;
        }
        return Ok(b);
    }
    Err(last)
}

/// The object's ETag and size, None when it is not there.
pub fn head(u: &Url) -> Result<Option<(u64, Option<String>)>, String> {
    let c = client(&u.bucket)?;
    let k = key(u)?;
    match call(c.head(&k))? {
        Ok(m) => Ok(Some((m.size, m.e_tag))),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(format!("{u}: {}", said(&e))),
    }
}

/// How a put may treat an object already at the key.
#[derive(Debug, Clone, PartialEq)]
pub enum Put {
    /// Only where nothing is (If-None-Match: *).
    Create,
    /// Only over the version with this ETag (If-Match).
    Replace(String),
    /// Whatever is there.
    Overwrite,
}

/// Why a put did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum PutError {
    /// `Put::Create` and something is there; `Put::Replace` and it is not that version.
    Taken,
    Failed(String),
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Taken => write!(f, "another object is at that key"),
            PutError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// Objects at least this long go up in parts (S3's parts are 5 MiB at least); the object
/// appears whole when the upload completes, or not at all.
pub const PART_BYTES: usize = 16 << 20;

/// Writes `bytes` at `u`; returns the new ETag. Objects of [`PART_BYTES`] or more go up as a
/// multipart upload, completed last; for those, `Put::Create` checks the key is free first
/// (S3's CompleteMultipartUpload is not conditional through object_store).
pub fn put(u: &Url, bytes: Vec<u8>, how: Put) -> Result<Option<String>, PutError> {
    let c = client(&u.bucket).map_err(PutError::Failed)?;
    let k = key(u).map_err(PutError::Failed)?;
    let n = bytes.len() as u64;
    let failed = |e: object_store::Error| PutError::Failed(format!("{u}: {}", said(&e)));
    let r = if bytes.len() >= multipart_from() && !matches!(how, Put::Replace(_)) {
        if how == Put::Create && head(u).map_err(PutError::Failed)?.is_some() {
            return Err(PutError::Taken);
        }
        call(async {
            let mut up = c.put_multipart(&k).await?;
            let part = PART_BYTES;
            let data = bytes::Bytes::from(bytes);
            let mut at = 0;
            while at < data.len() {
                let end = (at + part).min(data.len());
                if let Err(e) = up.put_part(PutPayload::from(data.slice(at..end))).await {
                    let _ = up.abort().await;
                    return Err(e);
                }
                at = end;
            }
            up.complete().await
        })
        .map_err(PutError::Failed)?
    } else {
        let mode = match how {
            Put::Create => PutMode::Create,
            Put::Replace(e) => PutMode::Update(UpdateVersion {
                e_tag: Some(e),
                version: None,
            }),
            Put::Overwrite => PutMode::Overwrite,
        };
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        call(c.put_opts(&k, PutPayload::from(bytes), opts)).map_err(PutError::Failed)?
    };
    match r {
        Ok(p) => {
            counters().bytes_written.fetch_add(n, Ordering::Relaxed);
            Ok(p.e_tag)
        }
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Err(PutError::Taken),
        Err(e) => Err(failed(e)),
    }
}

/// Objects from this size go up in parts: [`PART_BYTES`], or less in the tests' builds
/// (`SEISBATCH_TEST_PART_BYTES`: small outputs as one-part uploads).
fn multipart_from() -> usize {
    crate::faults::part_bytes().unwrap_or(PART_BYTES)
}

/// Removes `u` (gone already is fine).
pub fn delete(u: &Url) -> Result<(), String> {
    let c = client(&u.bucket)?;
    let k = key(u)?;
    match call(c.delete(&k))? {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(format!("{u}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let bad = Options {
            concurrency: 0,
            ..Options::default()
        };
        assert!(configure(bad).unwrap_err().contains("--s3-concurrency"));
        let bad = Options {
            endpoint: Some("127.0.0.1:9000".into()),
            ..Options::default()
        };
        assert!(configure(bad).unwrap_err().contains("--s3-endpoint"));
    }
}
