//! Steim1 and Steim2 frames -> samples, bit for bit as libmseed 3.1.3 decodes them
//! (`msr_decode_steim1`/`msr_decode_steim2`, unpackdata.c), without its per-word `switch`.
//!
//! A frame is 16 big-endian 32-bit words: word 0 holds a 2-bit code per word, and each word
//! holds 0-7 differences of one width. Here every (code, dnib) pair is a row of a table
//! ([`Code`]: how many differences, their width, where each one sits), so one word is decoded
//! by the same eight shifts whatever it holds, and the sample loop is a plain prefix sum.
//!
//! libmseed's behaviour kept on purpose, since ObsPy users get it (and the differential fuzz
//! target `steim_vs_libmseed` holds us to it):
//! * the first difference of a record is ignored (X0 is the first sample);
//! * decoding stops at the claimed sample count, mid-frame; frames after it are not read, and an
//!   impossible code in a frame that is never reached is no error;
//! * an impossible Steim2 code (nibble 10 with dnib 00, nibble 11 with dnib 11) in a frame
//!   that is reached refuses the whole record;
//! * sums wrap at 32 bits (C's signed overflow, as libmseed's build does it);
//! * fewer samples than claimed refuses the record ("only decoded N samples of M expected");
//! * a last sample that differs from the reverse integration constant (Xn) is a warning only;
//! * a payload that libmseed reads as little-endian (a miniSEED 2 record whose blockette 1000
//!   says so) is decoded as libmseed decodes it on a little-endian host: words and 16-bit
//!   halves little-endian, bytes in file order.

use std::fmt;

/// Which Steim compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steim {
    One,
    Two,
}

impl Steim {
    pub fn number(self) -> u8 {
        match self {
            Steim::One => 1,
            Steim::Two => 2,
        }
    }
}

/// A record whose frames libmseed would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A Steim2 word whose code and dnib mean nothing.
    ImpossibleCode { nibble: u8, dnib: u8 },
    /// The frames ran out before the claimed sample count.
    Short { decoded: usize, claimed: usize },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::ImpossibleCode { nibble, dnib } => write!(
                f,
                "impossible Steim2 code: dnib {dnib:02b} with nibble {nibble:02b}"
            ),
            Refusal::Short { decoded, claimed } => write!(
                f,
                "the Steim frames hold {decoded} samples, the header claims {claimed}"
            ),
        }
    }
}

/// What a decode gave besides its samples: whether the last sample equals the reverse
/// integration constant (libmseed's integrity check, a warning only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub last: i32,
    pub xn: i32,
}

impl Decoded {
    pub fn integrity_warning(&self, steim: Steim) -> Option<String> {
        (self.last != self.xn).then(|| {
            format!(
                "Steim{} integrity check failed: last sample {}, reverse integration constant (Xn) {}",
                steim.number(),
                self.last,
                self.xn
            )
        })
    }
}

/// One row of the decoding table: a word with this code holds `n` differences; difference
/// `i` is `((word << shl[i]) as i32) >> shr` (the shift left puts its top bit at bit 31, the
/// arithmetic shift right sign-extends it). Lanes past `n` hold anything and are overwritten.
#[derive(Clone, Copy)]
struct Code {
    /// u32 lanes, so that the eight shifts are one vector shift each (AVX2's vpsllvd/vpsravd).
    shl: [u32; 8],
    shr: u32,
    n: u8,
    impossible: bool,
}

/// A row for `n` differences of `bits` each, the first with its top bit at `top - 1`, the
/// next ones below it (`descending`) or, for byte-order lanes of a little-endian payload,
/// from bit 0 up.
const fn code(n: u8, bits: u32, top: u32, descending: bool) -> Code {
    let mut shl = [0u32; 8];
    let mut i = 0;
    while i < n as usize {
        let pos = if descending {
            top - (i as u32 + 1) * bits
        } else {
            i as u32 * bits
        };
        shl[i] = 32 - pos - bits;
        i += 1;
    }
    Code {
        shl,
        shr: 32 - bits,
        n,
        impossible: false,
    }
}

const NONE: Code = code(0, 32, 32, true);
const IMPOSSIBLE: Code = Code {
    impossible: true,
    ..NONE
};

/// The table for one compression and payload byte order, indexed by `nibble * 4 + dnib`
/// (dnib: the word's top two bits).
const fn table(steim: Steim, big_endian: bool) -> [Code; 16] {
    let mut t = [NONE; 16];
    let mut dnib = 0;
    while dnib < 4 {
        // 01: four 8-bit differences, in file byte order.
        t[4 + dnib] = code(4, 8, 32, big_endian);
        match steim {
            Steim::One => {
                // 10: two 16-bit differences (halves in payload order); 11: one 32-bit.
                t[8 + dnib] = code(2, 16, 32, big_endian);
                t[12 + dnib] = code(1, 32, 32, true);
            }
            Steim::Two => {
                t[8] = IMPOSSIBLE;
                t[9] = code(1, 30, 30, true);
                t[10] = code(2, 15, 30, true);
                t[11] = code(3, 10, 30, true);
                t[12] = code(5, 6, 30, true);
                t[13] = code(6, 5, 30, true);
                t[14] = code(7, 4, 28, true);
                t[15] = IMPOSSIBLE;
            }
        }
        dnib += 1;
    }
    t
}

const TABLES: [[Code; 16]; 4] = [
    table(Steim::One, true),
    table(Steim::One, false),
    table(Steim::Two, true),
    table(Steim::Two, false),
];

/// Differences one frame can hold (15 words of at most 7), plus a word's spare lanes.
const FRAME_DIFFS: usize = 15 * 7 + 8;

/// A 64-byte frame as 16 words in the payload's byte order.
#[inline(always)]
fn words(frame: &[u8], big_endian: bool) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (k, c) in frame.chunks_exact(4).enumerate() {
        let b = [c[0], c[1], c[2], c[3]];
        w[k] = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
    }
    w
}

/// Decodes `claimed` samples from `payload` (whole 64-byte frames; a partial frame at the end
/// is not read, as libmseed), appending them to `out` as `T` (i32 for the differential
/// test, f64 for traces). On a refusal `out` is left as it was.
pub fn decode<T: From<i32>>(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    big_endian: bool,
    out: &mut Vec<T>,
) -> Result<Decoded, Refusal> {
    let base = out.len();
    let r = decode_into(steim, payload, claimed, big_endian, out);
    if r.is_err() {
        out.truncate(base);
    }
    r
}

/// The decode loop built for AVX2 where the CPU has it (the eight lane shifts of a word
/// become two vector instructions), else for the baseline: the same integer operations, so
/// the same samples.
fn decode_into<T: From<i32>>(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    big_endian: bool,
    out: &mut Vec<T>,
) -> Result<Decoded, Refusal> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above); decode_avx2 needs nothing else.
        return unsafe { decode_avx2(steim, payload, claimed, big_endian, out) };
    }
    decode_frames(steim, payload, claimed, big_endian, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn decode_avx2<T: From<i32>>(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    big_endian: bool,
    out: &mut Vec<T>,
) -> Result<Decoded, Refusal> {
    decode_frames(steim, payload, claimed, big_endian, out)
}

#[inline(always)]
fn decode_frames<T: From<i32>>(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    big_endian: bool,
    out: &mut Vec<T>,
) -> Result<Decoded, Refusal> {
    let table = &TABLES[usize::from(steim == Steim::Two) * 2 + usize::from(!big_endian)];
    let frames = payload.chunks_exact(64);
    // Bounded by the payload, whatever the header claims.
    out.reserve(claimed.min(frames.len() * 105));
    let mut diffs = [0i32; FRAME_DIFFS];
    let (mut done, mut last, mut xn) = (0usize, 0i32, 0i32);
    for (f, frame) in frames.enumerate() {
        if done >= claimed {
            break;
        }
        let w = words(frame, big_endian);
        let first = if f == 0 {
            last = w[1] as i32;
            xn = w[2] as i32;
            out.push(T::from(last));
            done = 1;
            3
        } else {
            1
        };
        let mut d = 0usize;
        let mut impossible = false;
        for (k, &word) in w.iter().enumerate().skip(first) {
            let nibble = (w[0] >> (30 - 2 * k)) & 3;
            let c = &table[(nibble * 4 + (word >> 30)) as usize];
            impossible |= c.impossible;
            for (lane, &shl) in diffs[d..d + 8].iter_mut().zip(&c.shl) {
                *lane = (word.wrapping_shl(shl) as i32).wrapping_shr(c.shr);
            }
            d += usize::from(c.n);
        }
        if impossible {
            return Err(first_impossible(table, &w, first));
        }
        // The record's first difference is not used: X0 is the first sample.
        let from = usize::from(f == 0);
        let take = (d.saturating_sub(from)).min(claimed - done);
        out.extend(diffs[from..from + take].iter().map(|&diff| {
            last = last.wrapping_add(diff);
            T::from(last)
        }));
        done += take;
    }
    if done != claimed {
        return Err(Refusal::Short {
            decoded: done,
            claimed,
        });
    }
    Ok(Decoded { last, xn })
}

/// The first impossible word of a frame, for the refusal's text (libmseed stops there).
fn first_impossible(table: &[Code; 16], w: &[u32; 16], first: usize) -> Refusal {
    let code = |k: usize| ((w[0] >> (30 - 2 * k)) & 3, w[k] >> 30);
    let (nibble, dnib) = (first..16)
        .map(code)
        .find(|&(n, d)| table[(n * 4 + d) as usize].impossible)
        .unwrap_or((2, 0)); // only called on a frame that has one
    Refusal::ImpossibleCode {
        nibble: nibble as u8,
        dnib: dnib as u8,
    }
}

pub mod oracle;
#[cfg(test)]
mod tests;
