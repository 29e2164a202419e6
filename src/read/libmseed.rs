//! libmseed calls that cannot leak: a record refused by libmseed gives back every byte libmseed
//! allocated for it.
//!
//! Fuzzing (fuzz/, LeakSanitizer) found two leaks on refused records, each a few hundred bytes
//! that a million damaged downloads would turn into gigabytes:
//! * the mseed crate (0.7.1) never frees the record struct when `MSRecord::parse` fails
//!   (168 bytes): [`parse_record`] frees it;
//! * libmseed 3.1.3 itself returns from `msr3_unpack_mseed2` on a blockette with a bad time
//!   after it has started building the record's extra headers, without freeing that parse
//!   state (about 780 bytes of yyjson documents). That is a local variable inside libmseed,
//!   out of reach from here: [`tracked`] records every allocation libmseed makes on this
//!   thread while it parses or unpacks one record (through libmseed's own allocator hooks,
//!   `libmseed_memory`), and frees what is left once the record is refused.
//!
//! * libmseed 3.1.3 overwrites a record's extra headers without freeing them when a record
//!   holds blockette 1001 twice (found by the steim_vs_libmseed target after 2.1 million runs:
//!   ~33 bytes a record). The record is accepted, so [`tracked`] frees, on success too,
//!   whatever libmseed allocated in the scope that the record does not own ([`keep`]).
//!
//! libmseed also prints its errors and warnings to stderr ("Impossible Steim2 dnib", "Data
//! integrity check for Steim2 failed"): over a damaged download that floods the terminal, even
//! with `--quiet`, and says nothing about which file. On the threads that read, they are
//! captured instead ([`said`]) and the reader puts them in the problem or warning of the record
//! they concern.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use libmseed_sys as raw;
use mseed::{MSControlFlags, MSRecord};

/// libmseed's allocator hooks (libmseed.h `LIBMSEED_MEMORY`; not in the crate's bindings).
#[repr(C)]
#[derive(Clone, Copy)]
struct Memory {
    malloc: unsafe extern "C" fn(usize) -> *mut c_void,
    realloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
}

unsafe extern "C" {
    static mut libmseed_memory: Memory;
}

/// The hooks libmseed had before ours (the C library's malloc, realloc and free).
static ORIGINAL: OnceLock<Memory> = OnceLock::new();

thread_local! {
    /// Whether this thread is inside [`tracked`], and what libmseed allocated since.
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Tests: allocations the scopes on this thread freed for libmseed.
    #[cfg(test)]
    static ORPHANS_FREED: Cell<usize> = const { Cell::new(0) };
    /// What the value of a succeeding [`tracked`] scope still owns ([`keep`]).
    static KEEP: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Whether libmseed's log on this thread (its logging state is thread-local) comes here,
    /// and what it said since the last [`said`].
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static SAID: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Messages kept between two [`said`] calls; one record never says more than a few.
const MAX_SAID: usize = 32;

unsafe extern "C" fn hook_diag(message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: libmseed passes a NUL-terminated message that lives for this call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    let _ = SAID.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < MAX_SAID {
            s.push(text.trim().to_string());
        }
    });
}

/// libmseed's level-0 log (only with its verbose flag, which the reader never sets).
unsafe extern "C" fn hook_log(_message: *const c_char) {}

/// Sends libmseed's errors and warnings on this thread to [`said`] rather than stderr.
pub(crate) fn capture_log() {
    if CAPTURING.try_with(Cell::get).unwrap_or(true) {
        return;
    }
    // SAFETY: sets this thread's libmseed log printers; NULL prefixes keep libmseed's own.
    unsafe {
        raw::ms_rloginit(
            Some(hook_log),
            std::ptr::null(),
            Some(hook_diag),
            std::ptr::null(),
            0,
        )
    };
    CAPTURING.with(|c| c.set(true));
}

/// What libmseed said (errors and warnings) on this thread since the last call.
pub fn said() -> Vec<String> {
    SAID.try_with(|s| std::mem::take(&mut *s.borrow_mut()))
        .unwrap_or_default()
}

/// Puts our allocator hooks in libmseed. `main` calls this first, while the process has one
/// thread (no libmseed call can be in flight while the three words change); the engine and
/// the readers call it too, for library users, where it is a no-op after the first time.
pub fn install() {
    original();
}

fn original() -> Memory {
    *ORIGINAL.get_or_init(|| {
        // SAFETY: runs once; reads the hooks libmseed was built with, then swaps in ours.
        // Another thread may call libmseed while the three words are replaced: each word is
        // written whole (aligned pointer stores), and either version of any hook is valid with
        // either version of the others, since ours pass every call to the originals.
        unsafe {
            let before = std::ptr::addr_of!(libmseed_memory).read();
            let ours = Memory {
                malloc: hook_malloc,
                realloc: hook_realloc,
                free: hook_free,
            };
            std::ptr::addr_of_mut!(libmseed_memory).write(ours);
            before
        }
    })
}

fn tracking() -> bool {
    TRACKING.try_with(Cell::get).unwrap_or(false)
}

unsafe extern "C" fn hook_malloc(size: usize) -> *mut c_void {
    // SAFETY: the original malloc, called as libmseed would.
    let p = unsafe { (original().malloc)(size) };
    if !p.is_null() && tracking() {
        let _ = LIVE.try_with(|l| l.borrow_mut().push(p as usize));
    }
    p
}

unsafe extern "C" fn hook_realloc(old: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the original realloc on a pointer libmseed got from these hooks (or NULL).
    let p = unsafe { (original().realloc)(old, size) };
    if !p.is_null() && tracking() {
        let _ = LIVE.try_with(|l| {
            let mut l = l.borrow_mut();
            l.retain(|&q| q != old as usize);
            l.push(p as usize);
        });
    }
    p
}

unsafe extern "C" fn hook_free(p: *mut c_void) {
    if tracking() {
        let _ = LIVE.try_with(|l| l.borrow_mut().retain(|&q| q != p as usize));
    }
    // SAFETY: the original free on a pointer libmseed got from these hooks (or NULL).
    unsafe { (original().free)(p) }
}

/// Inside [`tracked`]: pointers from libmseed's allocator the scope's successful value still
/// owns (a record, its extra headers, its samples).
pub fn keep(owned: &[usize]) {
    let _ = KEEP.try_with(|k| k.borrow_mut().extend_from_slice(owned));
}

/// What a record owns of libmseed's allocations: itself, its extra headers and its samples.
///
/// # Safety
/// `msr` is a live record.
unsafe fn owned_by(msr: *const raw::MS3Record) -> [usize; 3] {
    // SAFETY: the caller's.
    let m = unsafe { &*msr };
    [msr as usize, m.extra as usize, m.datasamples as usize]
}

/// Runs `f` (one libmseed parse or unpack) and frees whatever libmseed allocated during it,
/// did not free, and (if `f` succeeds) the value does not own (`f` declares that with
/// [`keep`]). `f` must not keep anything libmseed allocated when it returns an error (a
/// record it owns is dropped inside `f`).
pub fn tracked<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    original();
    capture_log();
    if tracking() {
        return f(); // nested: the outer scope collects
    }
    /// Ends the scope even if `f` unwinds.
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            let _ = TRACKING.try_with(|t| t.set(false));
        }
    }
    TRACKING.with(|t| t.set(true));
    let scope = Scope;
    let r = f();
    drop(scope);
    // On success what the value owns stays with it; the rest is libmseed's leak.
    let kept = KEEP.with(|k| std::mem::take(&mut *k.borrow_mut()));
    let left = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        if r.is_ok() {
            l.retain(|p| !kept.contains(p));
        }
        std::mem::take(&mut *l)
    });
    #[cfg(test)]
    ORPHANS_FREED.with(|n| n.set(n.get() + left.len()));
    for p in left {
        // SAFETY: `p` came from libmseed's allocator during `f`, was not freed through it,
        // and nothing refers to it any more: the record `f` worked on is gone, or (on
        // success) does not own it.
        unsafe { (original().free)(p as *mut c_void) };
    }
    r
}

/// The miniSEED format version (2 or 3) of a record header at the start of `buf`, if libmseed
/// recognises one. `buf` must end inside padding (libmseed's detection reads a few bytes past
/// the length it is given: see `mseed::PAD`); what libmseed says while probing is dropped.
pub fn detect_version(buf: &[u8]) -> Option<u8> {
    capture_log();
    let v = mseed::detect(buf)
        .ok()
        .map(|d| d.format_version)
        .filter(|&v| v > 0);
    said();
    v
}

/// `MSRecord::parse` without its leaks (see the module comment): the record (its whole length
/// inside `buf`, so `raw()` is a slice of `buf`), `None` where it needs more bytes than `buf`
/// holds, or why libmseed refuses it.
pub fn parse_record(buf: &[u8]) -> Result<Option<MSRecord>, String> {
    let r = tracked(|| {
        // SAFETY: msr3_init(NULL) allocates a fresh record or returns NULL.
        let mut msr = unsafe { raw::msr3_init(std::ptr::null_mut()) };
        if msr.is_null() {
            return Err(Some("libmseed could not allocate a record".to_string()));
        }
        // SAFETY: `buf` is a live slice for the duration of the call and libmseed reads at
        // most `buf.len()` bytes of it for a record it accepts; `msr` is the record above.
        let rc = unsafe {
            raw::msr3_parse(
                buf.as_ptr().cast(),
                buf.len() as u64,
                &mut msr,
                MSControlFlags::MSF_VALIDATECRC.bits(),
                0,
            )
        };
        if rc < 0 {
            // SAFETY: msr3_free accepts the record (or NULL, if libmseed freed it already)
            // and nulls the pointer; the string from ms_errorstr is static.
            let msg = unsafe {
                raw::msr3_free(&mut msr);
                std::ffi::CStr::from_ptr(raw::ms_errorstr(rc as _)).to_string_lossy()
            };
            return Err(Some(format!("{msg} (libmseed code {rc})")));
        }
        // "Need more bytes" (rc > 0: the record runs past the buffer) leaves the header
        // unparsed, its length and sample count -1. Such a record is never handed out: the
        // mseed crate's `raw()` would make a slice of length (usize)-1 (found by the
        // steim_vs_libmseed fuzz target).
        // A record longer than `buf` is one libmseed accepted from a header it could read
        // (steim_vs_libmseed found miniSEED 2 headers where it does) but whose bytes are not
        // all there: `MSRecord::raw()` would be a slice past the end of `buf`. Handed out as
        // "need more bytes", like the records libmseed itself says run past the buffer.
        // SAFETY: `msr` is the record above, owned by nobody else.
        let unparsed = rc > 0
            || unsafe {
                (*msr).reclen <= 0
                    || (*msr).samplecnt < 0
                    || usize::try_from((*msr).reclen).map_or(true, |l| l > buf.len())
            };
        if unparsed {
            // SAFETY: as above; msr3_free nulls the pointer.
            unsafe { raw::msr3_free(&mut msr) };
            // An error for `tracked`, so that what libmseed left allocated is freed (a leak
            // LeakSanitizer found here); told apart from a refusal below.
            return Err(None);
        }
        // SAFETY: `msr` is the live record above.
        keep(&unsafe { owned_by(msr) });
        // SAFETY: `msr` is a record owned by nobody else; MSRecord frees it on drop.
        Ok(unsafe { MSRecord::from_raw(msr) })
    });
    match r {
        Ok(rec) => Ok(Some(rec)),
        Err(None) => Ok(None),
        Err(Some(e)) => Err(e),
    }
}

/// Unpacks a parsed record's samples; a record libmseed cannot decode is dropped with
/// everything libmseed allocated for it.
pub fn unpack(mut rec: MSRecord) -> Result<MSRecord, String> {
    tracked(move || match rec.unpack_data() {
        Ok(_) => {
            let ptr = rec.into_raw();
            // SAFETY: `ptr` is the live record `rec` owned; owned again right after.
            keep(&unsafe { owned_by(ptr) });
            // SAFETY: as above.
            Ok(unsafe { MSRecord::from_raw(ptr) })
        }
        // `rec` dropped here, inside the scope; worded as parse_record's errors.
        Err(e) => Err(format!("{} (libmseed code {})", e.message(), e.raw_code())),
    })
}

/// Where a parsed record's Steim frames lie, found as libmseed's `msr3_unpack_data` and
/// `msr3_data_bounds` find them, for `read::steim` to decode in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    pub steim: super::steim::Steim,
    /// The payload's bytes within the record (`MSRecord::raw`).
    pub at: std::ops::Range<usize>,
    pub big_endian: bool,
    pub claimed: usize,
}

/// `Ok(None)` for a record that is not Steim-encoded (libmseed unpacks it) or holds no
/// samples; an error, worded as libmseed's, where libmseed would refuse to unpack.
pub fn steim_frames(rec: MSRecord) -> (MSRecord, Result<Option<Frames>, String>) {
    let ptr = rec.into_raw();
    // SAFETY: `ptr` is the record `rec` owned, and nothing else refers to it; its fields are
    // plain data. It is owned again by an MSRecord right after.
    let m = unsafe { &*ptr };
    let fields = Fields {
        encoding: m.encoding,
        reclen: m.reclen,
        swap: m.swapflag,
        version: m.formatversion,
        extra: m.extralength,
        datalength: m.datalength,
        sidlen: m.sid.iter().position(|&c| c == 0).unwrap_or(m.sid.len()),
        claimed: m.samplecnt,
    };
    // SAFETY: as above.
    let rec = unsafe { MSRecord::from_raw(ptr) };
    let r = bounds(&fields, rec.raw().unwrap_or(&[]));
    (rec, r)
}

/// The MS3Record fields that say where the payload is.
struct Fields {
    encoding: i16,
    reclen: i32,
    swap: u8,
    version: u8,
    extra: u16,
    datalength: u32,
    sidlen: usize,
    claimed: i64,
}

fn bounds(m: &Fields, record: &[u8]) -> Result<Option<Frames>, String> {
    use super::steim::Steim;
    const MINRECLEN: i32 = 40;
    const MAXRECLEN: i32 = 10_485_760;
    const MSSWAP_HEADER: u8 = 0x01;
    const MSSWAP_PAYLOAD: u8 = 0x02;
    let steim = match m.encoding {
        10 | -1 => Some(Steim::One), // -1: no encoding given, libmseed assumes Steim1
        11 => Some(Steim::Two),
        _ => None,
    };
    let (reclen, swap, claimed) = (m.reclen, m.swap, m.claimed);
    let Some(steim) = steim else { return Ok(None) };
    if claimed <= 0 {
        return Ok(None);
    }
    if !(MINRECLEN..=MAXRECLEN).contains(&reclen) || record.len() != reclen as usize {
        return Err(format!("unsupported record length: {reclen}"));
    }
    let (offset, mut size) = match m.version {
        3 => (40 + m.sidlen as u32 + u32::from(m.extra), m.datalength),
        _ => {
            let Some(&[b0, b1]) = record.get(44..46) else {
                return Err(format!("unsupported record length: {reclen}"));
            };
            let b = [b0, b1];
            let offset = u32::from(if swap & MSSWAP_HEADER != 0 {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            });
            (offset, (reclen as u32).wrapping_sub(offset))
        }
    };
    // libmseed drops trailing all-zero frames from the size, testing the 64 bytes that end
    // `size` bytes into the *record*, not into the payload (msr3_data_bounds): copied as is,
    // since which samples a record gives must not change.
    // (A data offset past the record end wraps `size` and sends libmseed's test far outside
    // the record; the reader refuses such a record before unpacking it: `overruns`.) A record
    // without an encoding (-1) is not trimmed: libmseed finds the bounds before it falls back
    // to Steim1 (found by the steim_vs_libmseed fuzz target).
    let declared_steim = matches!(m.encoding, 10 | 11);
    if declared_steim && size % 64 == 0 && size as usize <= record.len() {
        while size > 0
            && record[(size - 64) as usize..size as usize]
                .iter()
                .all(|&b| b == 0)
        {
            size -= 64;
        }
    }
    if offset < MINRECLEN as u32 || offset >= reclen as u32 {
        return Err(format!("data offset value is not valid: {offset}"));
    }
    let end = (offset as usize).saturating_add(size as usize);
    if end > record.len() {
        // libmseed would read past the record here; the reader's `overruns` check refuses
        // such a record before it comes here, so this is only a second guard.
        return Err(format!("data length {size} runs past the record"));
    }
    Ok(Some(Frames {
        steim,
        at: offset as usize..end,
        big_endian: swap & MSSWAP_PAYLOAD != 0,
        claimed: claimed as usize,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_scope_frees_what_libmseed_left() {
        // Allocations through the hooks inside a failing scope are freed by it; inside a
        // succeeding scope those the value keeps stay (freed here by hand), the others are
        // freed (LeakSanitizer would report the orphan under the fuzz targets otherwise).
        original();
        let kept: Result<*mut c_void, ()> = tracked(|| {
            // SAFETY: libmseed's allocator hook, as libmseed calls it; the other
            // allocation is not kept, so the scope frees it.
            let (p, _orphan) = unsafe { (hook_malloc(64), hook_malloc(32)) };
            keep(&[p as usize]);
            Ok(p)
        });
        let kept = kept.unwrap();
        assert!(!kept.is_null());
        assert!(LIVE.with(|l| l.borrow().is_empty()));
        assert!(KEEP.with(|k| k.borrow().is_empty()));
        // SAFETY: allocated above, not freed.
        unsafe { hook_free(kept) };
        let r: Result<(), ()> = tracked(|| {
            // SAFETY: as above; the pointers are left for the scope to free.
            unsafe {
                let a = hook_malloc(100);
                let b = hook_realloc(hook_malloc(8), 4096);
                hook_free(a);
                assert_eq!(LIVE.with(|l| l.borrow().clone()), vec![b as usize]);
            }
            Err(())
        });
        assert!(r.is_err());
        assert!(LIVE.with(|l| l.borrow().is_empty()));
    }

    /// A record parse_record hands out lies wholly inside the buffer it was given, even where
    /// libmseed accepts a header whose record runs past the buffer (steim_vs_libmseed: the
    /// oracle then read past its buffer under AddressSanitizer).
    #[test]
    fn a_record_handed_out_lies_inside_its_buffer() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/corpus/mseed/fuzz/header_accepted_record_longer_than_the_file.mseed"
        );
        let bytes = std::fs::read(path).unwrap();
        let mut padded = bytes.clone();
        padded.resize(bytes.len() + crate::read::mseed::PAD, 0);
        let mut seen = 0;
        for off in 0..bytes.len() {
            let rest = &padded[off..bytes.len()];
            if let Ok(Some(h)) = parse_record(rest) {
                seen += 1;
                // SAFETY-free check of the length libmseed set, before any slice is made.
                let p = h.into_raw();
                // SAFETY: `p` is the live record just handed out; owned again right after.
                let reclen = unsafe { (*p).reclen };
                // SAFETY: as above.
                drop(unsafe { MSRecord::from_raw(p) });
                assert!(
                    reclen as usize <= rest.len(),
                    "offset {off}: {reclen} > {}",
                    rest.len()
                );
            }
        }
        // The headers at 67, 280 and 398 each claim more than the file holds.
        assert_eq!(seen, 0, "no record of this file fits");
    }

    /// libmseed overwrites a record's extra headers without freeing them when blockette 1001
    /// comes twice; the record is accepted, and its scope frees the first copy.
    #[test]
    fn an_accepted_record_gives_back_what_it_does_not_own() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/event_2014-01-01/raw/GR.FUR..HHE__20140101T000000Z__20140101T002000Z.mseed"
        );
        let mut rec = std::fs::read(path).unwrap()[..512].to_vec();
        let freed = || ORPHANS_FREED.with(Cell::get);
        let before = freed();
        let ok = parse_record(&rec).unwrap().unwrap();
        assert_eq!(freed(), before, "a plain record leaves nothing behind");
        drop(ok);
        // Blockettes 1000 -> 1001 (at 56) -> 1001 (at 64), data from 72.
        rec[39] = 3;
        rec[44..46].copy_from_slice(&72u16.to_be_bytes());
        rec[50..52].copy_from_slice(&56u16.to_be_bytes());
        for (at, next) in [(56usize, 64u16), (64, 0)] {
            rec[at..at + 2].copy_from_slice(&1001u16.to_be_bytes());
            rec[at + 2..at + 4].copy_from_slice(&next.to_be_bytes());
            rec[at + 4..at + 8].copy_from_slice(&[80, 0, 0, 6]);
        }
        let r = parse_record(&rec).unwrap().unwrap();
        assert!(r.extra_headers().is_some());
        assert_eq!(
            freed(),
            before + 1,
            "the first extra headers, orphaned by libmseed"
        );
    }
}
