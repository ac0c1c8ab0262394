//! [`ZSet`]: the value behind sorted sets, with Redis 7.0's semantics, its
//! two client-visible encodings and their conversion rules. It owns the data
//! structure and the parsing of range arguments; it never formats scores or
//! builds replies (the server does, with `%.17g`).
//!
//! Order is ascending score, ties broken by member bytes (`memcmp`, a prefix
//! first). `-0.0` and `0.0` compare equal, so their order falls to the member.
//! Scores are never NaN: [`ZSet::add`] refuses one with Redis's error.
//!
//! | encoding   | used while                                   | layout                            |
//! |------------|----------------------------------------------|-----------------------------------|
//! | `listpack` | ≤ `zset-max-listpack-entries` members, each ≤ `zset-max-listpack-value` bytes | one exact-size byte buffer, entries in order |
//! | `skiplist` | past either threshold, for good               | order-statistics treap + member index |
//!
//! **listpack.** A `u16` entry count (saturating, then counted by scanning, as
//! Redis's listpack header), then per member a varint `len << 2 | kind`, the
//! member bytes and the score: a zigzag varint if it is an integer (Redis 7.0
//! also stores integral scores as integers, which turns `-0` into `0` in this
//! encoding only; we do the same), else an `f32` if that is exact, else the
//! `f64`. Every operation is a linear scan, as in Redis. Ten members like
//! `member:1` with integer scores take 102 bytes (Redis: 127, rounded to 128
//! by jemalloc); [`ZSet`] itself is 16 bytes and owns nothing else.
//!
//! **skiplist.** Redis uses a skiplist with spans plus a `dict`. We keep the
//! name (clients see it) but use a treap whose nodes carry subtree sizes:
//! the same expected O(log n) insert, delete, rank and select-by-rank,
//! O(log n + k) range walks and range deletes (split, drop, merge), with no
//! per-node level array. Nodes live in one arena (`Vec`, `u32` links, freed
//! slots reused, compacted when three quarters are free): 40 bytes per member
//! plus its bytes. The member → node map for O(1) `ZSCORE` is an
//! open-addressing table of 8-byte slots (hash tag + node index) that points
//! into the arena instead of copying members. Priorities are the member's
//! keyed SipHash, so clients cannot build a degenerate tree. About 60 bytes
//! per member plus its bytes, against about 90 for Redis's skiplist node,
//! `sds` and `dictEntry`.
//!
//! Conversion follows Redis 7.0 exactly: `ZADD` creates a skiplist directly
//! when `zset-max-listpack-entries` is 0 or the first member is too long
//! ([`ZSet::for_first`]); adding a member converts when the set would pass
//! either threshold; nothing converts back except the destination of
//! `ZUNIONSTORE`/`ZINTERSTORE`/`ZDIFFSTORE` and `GEO*STORE`, which Redis
//! builds as a skiplist and then shrinks ([`ZSet::convert_to_listpack_if_needed`]).
//! `ZRANGESTORE` starts from a listpack and adds ([`ZSet::new`], [`ZSet::add`]).
//! `ZRANDMEMBER` never converts.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, RandomState};

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past 1 GiB.
const LISTPACK_SAFETY_SIZE: usize = 1 << 30;

/// The conversion thresholds (Redis's `zset-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZSetLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for ZSetLimits {
    fn default() -> Self {
        ZSetLimits {
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

/// Why a sorted-set operation or argument was refused. [`ZSetError::reply`]
/// is Redis's exact error line (without the leading `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZSetError {
    /// A score bound that `zslParseRange` rejects.
    MinMaxNotFloat,
    /// A lex bound that `zslParseLexRange` rejects.
    MinMaxNotStringRange,
    /// The score, or the result of INCR, is NaN.
    NotANumber,
}

impl ZSetError {
    pub fn reply(self) -> &'static str {
        match self {
            ZSetError::MinMaxNotFloat => "ERR min or max is not a float",
            ZSetError::MinMaxNotStringRange => "ERR min or max not valid string range item",
            ZSetError::NotANumber => "ERR resulting score is not a number (NaN)",
        }
    }
}

impl fmt::Display for ZSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reply())
    }
}

impl std::error::Error for ZSetError {}

/// ZADD's options as `zsetAdd` sees them. CH only changes what the caller
/// counts (see [`AddResult::changed`]); the server rejects the incompatible
/// combinations (NX with XX, GT or LT; GT with LT; INCR with several pairs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What [`ZSet::add`] did. The score is `zsetAdd`'s `newscore`: the score
/// asked for (after INCR), which is what ZADD INCR and ZINCRBY reply with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddResult {
    /// A new member.
    Added(f64),
    /// An existing member whose score changed.
    Updated(f64),
    /// An existing member given an equal score (or INCR by 0): processed,
    /// nothing stored changed.
    Unchanged(f64),
    /// Nothing done: NX on an existing member, XX on a missing one, or GT/LT
    /// refused the new score. ZADD INCR replies nil.
    Skipped,
}

impl AddResult {
    /// Whether ZADD counts this member: added, or also updated with CH.
    pub fn changed(self, ch: bool) -> bool {
        matches!(self, AddResult::Added(_)) || (ch && matches!(self, AddResult::Updated(_)))
    }

    /// The score to reply with for INCR, `None` for nil.
    pub fn new_score(self) -> Option<f64> {
        match self {
            AddResult::Added(s) | AddResult::Updated(s) | AddResult::Unchanged(s) => Some(s),
            AddResult::Skipped => None,
        }
    }
}

/// One bound of a score range as `zslParseRange` reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// `min <= score <= max`, either side possibly strict. For ZRANGE … BYSCORE
/// REV and ZREVRANGEBYSCORE the caller passes the arguments swapped (they
/// are given max first), exactly as Redis does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Every score, `-inf` to `+inf` inclusive.
    pub const ALL: ScoreRange = ScoreRange {
        min: f64::NEG_INFINITY,
        max: f64::INFINITY,
        min_exclusive: false,
        max_exclusive: false,
    };

    /// Redis's `zslParseRange`.
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, ZSetError> {
        let lo = parse_score_bound(min)?;
        let hi = parse_score_bound(max)?;
        Ok(ScoreRange {
            min: lo.value,
            max: hi.value,
            min_exclusive: lo.exclusive,
            max_exclusive: hi.exclusive,
        })
    }

    pub fn gte_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    pub fn lte_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

/// One bound of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Inclusive(&'a [u8]),
    Exclusive(&'a [u8]),
}

/// A member range for the BYLEX family. Meaningful when all scores are
/// equal; otherwise, as in Redis, which members match is unspecified. REV
/// takes its arguments max first: the caller swaps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    /// Redis's `zslParseLexRange`.
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, ZSetError> {
        Ok(LexRange {
            min: parse_lex_bound(min)?,
            max: parse_lex_bound(max)?,
        })
    }

    pub fn gte_min(&self, member: &[u8]) -> bool {
        match self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(m) => member >= m,
            LexBound::Exclusive(m) => member > m,
        }
    }

    pub fn lte_max(&self, member: &[u8]) -> bool {
        match self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(m) => member <= m,
            LexBound::Exclusive(m) => member < m,
        }
    }
}

/// `LIMIT offset count` of the BYSCORE and BYLEX ranges, with Redis's
/// reading: a negative offset selects nothing, a negative count means all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub offset: i64,
    pub count: i64,
}

impl Limit {
    /// No LIMIT given.
    pub const ALL: Limit = Limit {
        offset: 0,
        count: -1,
    };
}

impl Default for Limit {
    fn default() -> Self {
        Limit::ALL
    }
}

/// A score bound as `zslParseRange` reads it: an optional `(` for an open
/// bound, then what C's `strtod` accepts in full (decimal, hexadecimal,
/// `inf`, `infinity`, leading white space; an empty string is 0, and the
/// argument ends at its first NUL byte, as a C string does). NaN is refused.
pub fn parse_score_bound(arg: &[u8]) -> Result<ScoreBound, ZSetError> {
    let (exclusive, number) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    match strtod_whole(number) {
        Some(value) if !value.is_nan() => Ok(ScoreBound { value, exclusive }),
        _ => Err(ZSetError::MinMaxNotFloat),
    }
}

/// A lex bound as `zslParseLexRangeItem` reads it. `+` and `-` must stand
/// alone; Redis tests the next byte against NUL, so `+` followed by a NUL
/// byte also counts as `+`.
pub fn parse_lex_bound(arg: &[u8]) -> Result<LexBound<'_>, ZSetError> {
    let alone = arg.get(1).is_none_or(|&b| b == 0);
    match arg.first() {
        Some(b'+') if alone => Ok(LexBound::Max),
        Some(b'-') if alone => Ok(LexBound::Min),
        Some(b'(') => Ok(LexBound::Exclusive(&arg[1..])),
        Some(b'[') => Ok(LexBound::Inclusive(&arg[1..])),
        _ => Err(ZSetError::MinMaxNotStringRange),
    }
}

/// C's `isspace` in the "C" locale.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strtod(s, &end)` returns when `end` lands on the terminating NUL,
/// the only case Redis accepts; `None` otherwise.
fn strtod_whole(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(nul) => &s[..nul],
        None => s,
    };
    if s.is_empty() {
        // No conversion: strtod returns 0 and leaves `end` on the NUL.
        return Some(0.0);
    }
    // All white space: no conversion, `end` stays on the first space.
    let start = s.iter().position(|&b| !c_space(b))?;
    let s = &s[start..];
    let (negative, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if matches!(body.first(), Some(b'+' | b'-')) {
        return None;
    }
    let magnitude = if body.len() > 1 && body[0] == b'0' && body[1] | 0x20 == b'x' {
        hex_float(&body[2..])?
    } else {
        // Rust's grammar for decimals, `inf`, `infinity` and `nan` is
        // strtod's, and both round correctly.
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The digits after `0x` of a C hexadecimal float (`1.8p3`), rounded to
/// nearest even; `None` unless all of `s` is one.
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut digits = 0usize;
    let mut point = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !point {
            point = true;
        } else if let Some(d) = char::from(c).to_digit(16) {
            digits += 1;
            if mantissa >> 60 == 0 {
                mantissa = mantissa << 4 | u64::from(d);
                if point {
                    exp -= 4;
                }
            } else {
                // Past 60 bits a digit only matters as "something below".
                sticky |= d != 0;
                if !point {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() {
        if s[i] | 0x20 != b'p' {
            return None;
        }
        i += 1;
        let negative = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let first = i;
        let mut e: i64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            e = (e * 10 + i64::from(s[i] - b'0')).min(1 << 40);
            i += 1;
        }
        if i == first || i < s.len() {
            return None;
        }
        exp += if negative { -e } else { e };
    }
    Some(scale_binary(mantissa, exp, sticky))
}

/// `mantissa * 2^exp` (plus a sticky "more below" bit) rounded to the
/// nearest `f64`, ties to even, through the subnormals.
fn scale_binary(mantissa: u64, exp: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = i64::from(mantissa.leading_zeros());
    let m = u128::from(mantissa << lz);
    // The value lies in [2^e, 2^(e+1)).
    let e = exp - lz + 63;
    if e > 1023 {
        return f64::INFINITY;
    }
    let drop = if e >= -1022 { 11 } else { 11 + (-1022 - e) };
    if drop > 64 {
        return 0.0;
    }
    let kept = m >> drop;
    let rest = m & ((1u128 << drop) - 1);
    let half = 1u128 << (drop - 1);
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = (kept as u64) + u64::from(up);
    if e < -1022 {
        // Subnormal; a carry into bit 52 is exactly the smallest normal.
        return f64::from_bits(kept);
    }
    let (kept, e) = if kept == 1 << 53 {
        (kept >> 1, e + 1)
    } else {
        (kept, e)
    };
    if e > 1023 {
        return f64::INFINITY;
    }
    f64::from_bits(((e + 1023) as u64) << 52 | (kept & ((1 << 52) - 1)))
}

/// The sort order: score, then member bytes.
fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    if a_score < b_score {
        Ordering::Less
    } else if a_score > b_score {
        Ordering::Greater
    } else {
        a_member.cmp(b_member)
    }
}

/// What ZADD does to an existing member (the shared half of `zsetAdd`).
enum Update {
    Skip,
    Same(f64),
    Change(f64),
}

fn update_existing(current: f64, score: f64, flags: AddFlags) -> Result<Update, ZSetError> {
    if flags.nx {
        return Ok(Update::Skip);
    }
    let mut score = score;
    if flags.incr {
        score += current;
        if score.is_nan() {
            return Err(ZSetError::NotANumber);
        }
    }
    if (flags.lt && score >= current) || (flags.gt && score <= current) {
        return Ok(Update::Skip);
    }
    Ok(if score != current {
        Update::Change(score)
    } else {
        Update::Same(score)
    })
}

/// ZRANGE's index rules (negative from the end, clamped): ranks `[lo, hi)`.
fn rank_window(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 { start + n } else { start };
    let stop = if stop < 0 { stop + n } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= n {
        return None;
    }
    let stop = stop.min(n - 1);
    Some((start as usize, stop as usize + 1))
}

/// LIMIT applied to the matching ranks `[a, b)`, walked upward or downward:
/// the ranks `[lo, hi)` to return.
fn limit_window(a: usize, b: usize, limit: Limit, reverse: bool) -> Option<(usize, usize)> {
    if b <= a || limit.offset < 0 || limit.count == 0 {
        return None;
    }
    let available = b - a;
    let offset = usize::try_from(limit.offset).unwrap_or(usize::MAX);
    if offset >= available {
        return None;
    }
    let left = available - offset;
    let take = match usize::try_from(limit.count) {
        Ok(count) => count.min(left),
        Err(_) => left,
    };
    Some(if reverse {
        (b - offset - take, b - offset)
    } else {
        (a + offset, a + offset + take)
    })
}

// ---------------------------------------------------------------------------
// listpack encoding

const HEADER: usize = 2;
const COUNT_UNKNOWN: u16 = u16::MAX;
const KIND_INT: u64 = 0;
const KIND_F32: u64 = 1;
const KIND_F64: u64 = 2;

fn varint_len(mut n: u64) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `pos`: (value, bytes read). Only this module writes
/// listpack buffers, so a well-formed varint is an invariant.
fn get_varint(buf: &[u8], pos: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        if shift < 64 {
            n |= u64::from(b & 0x7f) << shift;
        }
        i += 1;
        if b & 0x80 == 0 {
            return (n, i - pos);
        }
        shift += 7;
    }
}

/// How a score is stored: the smallest exact form.
enum ScoreCode {
    Int(u64),
    F32(f32),
    F64,
}

impl ScoreCode {
    fn of(score: f64) -> ScoreCode {
        let mut best = (8, ScoreCode::F64);
        let as_f32 = score as f32;
        if f64::from(as_f32).to_bits() == score.to_bits() {
            best = (4, ScoreCode::F32(as_f32));
        }
        // Redis's `double2ll` range. `-0.0` passes too and becomes 0, as in
        // Redis 7.0's listpack.
        let bound = (i64::MAX / 2) as f64;
        if score.fract() == 0.0 && (-bound..=bound).contains(&score) {
            let i = score as i64;
            let zigzag = ((i << 1) ^ (i >> 63)) as u64;
            if varint_len(zigzag) <= best.0 {
                best = (varint_len(zigzag), ScoreCode::Int(zigzag));
            }
        }
        best.1
    }
}

fn encode_entry(out: &mut Vec<u8>, member: &[u8], score: f64) {
    let len = member.len() as u64;
    match ScoreCode::of(score) {
        ScoreCode::Int(zigzag) => {
            put_varint(out, len << 2 | KIND_INT);
            out.extend_from_slice(member);
            put_varint(out, zigzag);
        }
        ScoreCode::F32(f) => {
            put_varint(out, len << 2 | KIND_F32);
            out.extend_from_slice(member);
            out.extend_from_slice(&f.to_le_bytes());
        }
        ScoreCode::F64 => {
            put_varint(out, len << 2 | KIND_F64);
            out.extend_from_slice(member);
            out.extend_from_slice(&score.to_le_bytes());
        }
    }
}

/// One decoded listpack entry and the bytes it spans.
#[derive(Clone, Copy)]
struct LpEntry<'a> {
    member: &'a [u8],
    score: f64,
    start: usize,
    end: usize,
}

#[derive(Clone)]
struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn lp_iter(buf: &[u8]) -> LpIter<'_> {
    LpIter {
        buf,
        pos: HEADER.min(buf.len()),
    }
}

impl<'a> Iterator for LpIter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        let buf = self.buf;
        if self.pos >= buf.len() {
            return None;
        }
        let start = self.pos;
        let (head, n) = get_varint(buf, start);
        let member_start = start + n;
        let member_end = member_start + (head >> 2) as usize;
        let member = &buf[member_start..member_end];
        let (score, end) = match head & 3 {
            KIND_INT => {
                let (z, n) = get_varint(buf, member_end);
                (((z >> 1) as i64 ^ -((z & 1) as i64)) as f64, member_end + n)
            }
            KIND_F32 => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&buf[member_end..member_end + 4]);
                (f64::from(f32::from_le_bytes(b)), member_end + 4)
            }
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[member_end..member_end + 8]);
                (f64::from_le_bytes(b), member_end + 8)
            }
        };
        self.pos = end;
        Some(LpEntry {
            member,
            score,
            start,
            end,
        })
    }
}

fn set_count(buf: &mut Vec<u8>, count: usize) {
    if count == 0 {
        buf.clear();
        return;
    }
    if buf.len() < HEADER {
        buf.splice(0..0, [0, 0]);
    }
    // 65535 and above read as "unknown": the count is then found by scanning.
    let stored = u16::try_from(count).unwrap_or(COUNT_UNKNOWN);
    buf[..HEADER].copy_from_slice(&stored.to_le_bytes());
}

/// Where an entry for (score, member) goes: before the first greater one.
fn insert_position(buf: &[u8], member: &[u8], score: f64) -> usize {
    lp_iter(buf)
        .find(|e| cmp_entry(e.score, e.member, score, member) == Ordering::Greater)
        .map_or(buf.len().max(HEADER), |e| e.start)
}

/// The small encoding: one buffer, reallocated to its exact size on every
/// change (as Redis's listpack is), so an idle set wastes nothing.
#[derive(Clone, Default)]
struct Listpack {
    buf: Box<[u8]>,
}

impl Listpack {
    fn len(&self) -> usize {
        if self.buf.len() < HEADER {
            return 0;
        }
        let count = u16::from_le_bytes([self.buf[0], self.buf[1]]);
        if count == COUNT_UNKNOWN {
            lp_iter(&self.buf).count()
        } else {
            usize::from(count)
        }
    }

    fn iter(&self) -> LpIter<'_> {
        lp_iter(&self.buf)
    }

    fn find(&self, member: &[u8]) -> Option<LpEntry<'_>> {
        self.iter().find(|e| e.member == member)
    }

    /// Edits the buffer as a `Vec`, then stores it back at its exact size.
    fn edit(&mut self, count: usize, f: impl FnOnce(&mut Vec<u8>)) {
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        f(&mut buf);
        set_count(&mut buf, count);
        self.buf = buf.into_boxed_slice();
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let count = self.len() + 1;
        self.edit(count, |buf| {
            if buf.is_empty() {
                buf.extend_from_slice(&[0, 0]);
            }
            let mut entry = Vec::with_capacity(member.len() + 11);
            encode_entry(&mut entry, member, score);
            let pos = insert_position(buf, member, score);
            buf.reserve_exact(entry.len());
            buf.splice(pos..pos, entry);
        });
    }

    /// Moves the entry at `span` to its place for `score`.
    fn rescore(&mut self, span: (usize, usize), member: &[u8], score: f64) {
        let count = self.len();
        self.edit(count, |buf| {
            buf.drain(span.0..span.1);
            let mut entry = Vec::with_capacity(member.len() + 11);
            encode_entry(&mut entry, member, score);
            let pos = insert_position(buf, member, score);
            buf.reserve_exact(entry.len());
            buf.splice(pos..pos, entry);
        });
    }

    /// Removes the entries of ranks `[lo, hi)`; returns them if asked.
    fn remove_ranks(&mut self, lo: usize, hi: usize, keep: bool) -> Vec<(Box<[u8]>, f64)> {
        let mut taken = Vec::new();
        let mut span = None;
        for e in self.iter().skip(lo).take(hi - lo) {
            if keep {
                taken.push((Box::from(e.member), e.score));
            }
            let start = span.map_or(e.start, |(s, _)| s);
            span = Some((start, e.end));
        }
        if let Some((start, end)) = span {
            let count = self.len() - (hi - lo);
            self.edit(count, |buf| {
                buf.drain(start..end);
            });
        }
        taken
    }
}

// ---------------------------------------------------------------------------
// skiplist encoding: an order-statistics treap with a member index

const NIL: u32 = u32::MAX;
const EMPTY: u64 = u64::MAX;

#[derive(Clone)]
struct Node {
    score: f64,
    member: Box<[u8]>,
    left: u32,
    right: u32,
    /// Nodes in this subtree, this one included.
    size: u32,
    /// Max-heap key: the low half of the member's keyed hash.
    prio: u32,
}

#[derive(Clone)]
struct Tree {
    /// The arena. Free slots have an empty member and chain through `left`.
    nodes: Vec<Node>,
    root: u32,
    free: u32,
    len: u32,
    member_bytes: usize,
    /// Open addressing, linear probing: `hash >> 32 << 32 | node`, or EMPTY.
    /// The hash's high half picks the home slot.
    slots: Vec<u64>,
    hasher: RandomState,
}

/// Index slots for `n` members: a power of two at most three quarters full.
fn index_capacity(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n * 4 / 3 + 1).next_power_of_two().max(8)
    }
}

struct TreeIter<'a> {
    tree: &'a Tree,
    stack: Vec<u32>,
    reverse: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        let nodes = &self.tree.nodes;
        let t = self.stack.pop()?;
        let node = &nodes[t as usize];
        if self.reverse {
            let mut u = node.left;
            while u != NIL {
                self.stack.push(u);
                u = nodes[u as usize].right;
            }
        } else {
            let mut u = node.right;
            while u != NIL {
                self.stack.push(u);
                u = nodes[u as usize].left;
            }
        }
        Some((&node.member, node.score))
    }
}

impl Tree {
    /// A tree of entries already in order, built in O(n).
    fn from_sorted(items: Vec<(Box<[u8]>, f64)>, hasher: RandomState) -> Tree {
        let mut tree = Tree {
            nodes: Vec::with_capacity(items.len()),
            root: NIL,
            free: NIL,
            len: 0,
            member_bytes: 0,
            slots: vec![EMPTY; index_capacity(items.len())],
            hasher,
        };
        for (member, score) in items {
            let h = tree.hash(&member);
            tree.member_bytes += member.len();
            let x = tree.push(Node {
                score,
                member,
                left: NIL,
                right: NIL,
                size: 1,
                prio: h as u32,
            });
            tree.index_insert(x, h);
            tree.len += 1;
        }
        tree.root = tree.build_heap_order();
        tree
    }

    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size
        }
    }

    fn node(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    fn node_mut(&mut self, t: u32) -> &mut Node {
        &mut self.nodes[t as usize]
    }

    /// Whether node `a` sorts before node `b`.
    fn less(&self, a: u32, b: u32) -> bool {
        let (a, b) = (self.node(a), self.node(b));
        cmp_entry(a.score, &a.member, b.score, &b.member) == Ordering::Less
    }

    fn push(&mut self, node: Node) -> u32 {
        let x = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&x| x != NIL)
            .expect("a sorted set holds fewer than 2^32 - 1 members: memory runs out first");
        self.nodes.push(node);
        x
    }

    /// Links the nodes, already in order, into a treap (a Cartesian tree on
    /// priority), then fills in the subtree sizes.
    fn build_heap_order(&mut self) -> u32 {
        let mut spine: Vec<u32> = Vec::new();
        for i in 0..self.nodes.len() as u32 {
            let prio = self.node(i).prio;
            let mut last = NIL;
            while let Some(&top) = spine.last() {
                if self.node(top).prio >= prio {
                    break;
                }
                last = top;
                spine.pop();
            }
            self.node_mut(i).left = last;
            if let Some(&top) = spine.last() {
                self.node_mut(top).right = i;
            }
            spine.push(i);
        }
        let root = spine.first().copied().unwrap_or(NIL);
        // Reversed pre-order visits children before their parent.
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            if t != NIL {
                order.push(t);
                stack.push(self.node(t).left);
                stack.push(self.node(t).right);
            }
        }
        for &t in order.iter().rev() {
            let size = 1 + self.size(self.node(t).left) + self.size(self.node(t).right);
            self.node_mut(t).size = size;
        }
        root
    }

    // -- member index -------------------------------------------------------

    fn find(&self, member: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = self.hash(member) >> 32;
        let mask = self.slots.len() - 1;
        let mut i = tag as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                return None;
            }
            let x = slot as u32;
            if slot >> 32 == tag && *self.node(x).member == *member {
                return Some(x);
            }
            i = (i + 1) & mask;
        }
    }

    fn index_insert(&mut self, x: u32, h: u64) {
        if (self.len as usize + 1) * 4 > self.slots.len() * 3 {
            let bigger = (self.slots.len() * 2).max(8);
            let old = std::mem::replace(&mut self.slots, vec![EMPTY; bigger]);
            for slot in old.into_iter().filter(|&s| s != EMPTY) {
                self.place(slot);
            }
        }
        self.place(h >> 32 << 32 | u64::from(x));
    }

    fn place(&mut self, slot: u64) {
        let mask = self.slots.len() - 1;
        let mut i = (slot >> 32) as usize & mask;
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    /// Unindexes node `x`, shifting later entries of its probe run back so
    /// that no tombstones are needed.
    fn index_remove(&mut self, x: u32) {
        let mask = self.slots.len() - 1;
        let mut i = (self.hash(&self.node(x).member) >> 32) as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                debug_assert!(false, "node {x} is not indexed");
                return;
            }
            if slot as u32 == x {
                break;
            }
            i = (i + 1) & mask;
        }
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let slot = self.slots[j];
            if slot == EMPTY {
                break;
            }
            let home = (slot >> 32) as usize & mask;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = slot;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
    }

    // -- treap ---------------------------------------------------------------

    fn set_child(&mut self, parent: u32, left: bool, child: u32) {
        if parent == NIL {
            self.root = child;
        } else if left {
            self.node_mut(parent).left = child;
        } else {
            self.node_mut(parent).right = child;
        }
    }

    /// Splits subtree `t` into its first `k` nodes and the rest, fixing
    /// sizes on the way down (the left part has exactly `k` at each step).
    fn split_at(&mut self, mut t: u32, mut k: u32) -> (u32, u32) {
        if k == 0 {
            return (NIL, t);
        }
        if k >= self.size(t) {
            return (t, NIL);
        }
        let (mut l_root, mut r_root, mut l_last, mut r_last) = (NIL, NIL, NIL, NIL);
        while t != NIL {
            let left_size = self.size(self.node(t).left);
            if k > left_size {
                self.node_mut(t).size = k;
                if l_last == NIL {
                    l_root = t;
                } else {
                    self.node_mut(l_last).right = t;
                }
                l_last = t;
                k -= left_size + 1;
                t = self.node(t).right;
            } else {
                self.node_mut(t).size -= k;
                if r_last == NIL {
                    r_root = t;
                } else {
                    self.node_mut(r_last).left = t;
                }
                r_last = t;
                t = self.node(t).left;
            }
        }
        if l_last != NIL {
            self.node_mut(l_last).right = NIL;
        }
        if r_last != NIL {
            self.node_mut(r_last).left = NIL;
        }
        (l_root, r_root)
    }

    /// Joins two subtrees, every node of `a` before every node of `b`.
    fn merge(&mut self, mut a: u32, mut b: u32) -> u32 {
        let (mut root, mut parent, mut parent_left) = (NIL, NIL, false);
        loop {
            if a == NIL || b == NIL {
                let rest = if a == NIL { b } else { a };
                if parent == NIL {
                    root = rest;
                } else if parent_left {
                    self.node_mut(parent).left = rest;
                } else {
                    self.node_mut(parent).right = rest;
                }
                return root;
            }
            let total = self.size(a) + self.size(b);
            let (top, top_left) = if self.node(a).prio > self.node(b).prio {
                (a, false)
            } else {
                (b, true)
            };
            self.node_mut(top).size = total;
            if parent == NIL {
                root = top;
            } else if parent_left {
                self.node_mut(parent).left = top;
            } else {
                self.node_mut(parent).right = top;
            }
            parent = top;
            parent_left = top_left;
            if top_left {
                b = self.node(b).left;
            } else {
                a = self.node(a).right;
            }
        }
    }

    /// Nodes of subtree `t` that sort before node `x`.
    fn count_less(&self, mut t: u32, x: u32) -> u32 {
        let mut count = 0;
        while t != NIL {
            if self.less(t, x) {
                count += self.size(self.node(t).left) + 1;
                t = self.node(t).right;
            } else {
                t = self.node(t).left;
            }
        }
        count
    }

    /// Links the detached node `x` into the tree at its place.
    fn attach(&mut self, x: u32) {
        let prio = self.node(x).prio;
        let (mut parent, mut left, mut t) = (NIL, false, self.root);
        while t != NIL && self.node(t).prio >= prio {
            self.node_mut(t).size += 1;
            parent = t;
            left = self.less(x, t);
            t = if left {
                self.node(t).left
            } else {
                self.node(t).right
            };
        }
        let k = self.count_less(t, x);
        let (l, r) = self.split_at(t, k);
        let size = self.size(l) + self.size(r) + 1;
        let node = self.node_mut(x);
        node.left = l;
        node.right = r;
        node.size = size;
        self.set_child(parent, left, x);
    }

    /// Unlinks node `x` (which must be in the tree), leaving it detached.
    fn detach(&mut self, x: u32) {
        let (mut parent, mut left, mut t) = (NIL, false, self.root);
        while t != x {
            debug_assert_ne!(t, NIL, "node {x} is not in the tree");
            self.node_mut(t).size -= 1;
            parent = t;
            left = self.less(x, t);
            t = if left {
                self.node(t).left
            } else {
                self.node(t).right
            };
        }
        let (l, r) = (self.node(x).left, self.node(x).right);
        let joined = self.merge(l, r);
        self.set_child(parent, left, joined);
        let node = self.node_mut(x);
        node.left = NIL;
        node.right = NIL;
        node.size = 1;
    }

    /// Unindexes and frees the detached node `x`; returns its member.
    fn release(&mut self, x: u32) -> Box<[u8]> {
        self.index_remove(x);
        let free = self.free;
        let node = self.node_mut(x);
        let member = std::mem::take(&mut node.member);
        node.left = free;
        self.free = x;
        self.len -= 1;
        self.member_bytes -= member.len();
        member
    }

    /// After removals: rebuild compactly once three quarters of the arena is
    /// free, so memory follows the set down (amortized O(1) per removal).
    fn maybe_compact(&mut self) {
        if self.nodes.len() < 64 || (self.len as usize) * 4 >= self.nodes.len() {
            return;
        }
        let order: Vec<u32> = self.rank_iter(0, false).map(|(_, _, x)| x).collect();
        let items = order
            .into_iter()
            .map(|x| {
                let node = self.node_mut(x);
                (std::mem::take(&mut node.member), node.score)
            })
            .collect();
        *self = Tree::from_sorted(items, self.hasher.clone());
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let h = self.hash(member);
        let node = Node {
            score,
            member: member.into(),
            left: NIL,
            right: NIL,
            size: 1,
            prio: h as u32,
        };
        let x = if self.free != NIL {
            let x = self.free;
            self.free = self.node(x).left;
            self.nodes[x as usize] = node;
            x
        } else {
            self.push(node)
        };
        self.index_insert(x, h);
        self.len += 1;
        self.member_bytes += member.len();
        self.attach(x);
    }

    fn rescore(&mut self, x: u32, score: f64) {
        self.detach(x);
        self.node_mut(x).score = score;
        self.attach(x);
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some(x) => {
                self.detach(x);
                self.release(x);
                self.maybe_compact();
                true
            }
            None => false,
        }
    }

    fn rank_of(&self, x: u32) -> usize {
        let (mut rank, mut t) = (0usize, self.root);
        while t != NIL {
            let left_size = self.size(self.node(t).left) as usize;
            if t == x {
                return rank + left_size;
            }
            if self.less(x, t) {
                t = self.node(t).left;
            } else {
                rank += left_size + 1;
                t = self.node(t).right;
            }
        }
        rank
    }

    /// How many leading nodes satisfy `pred` (which must hold on a prefix).
    fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let (mut count, mut t) = (0usize, self.root);
        while t != NIL {
            let node = self.node(t);
            if pred(node.score, &node.member) {
                count += self.size(node.left) as usize + 1;
                t = node.right;
            } else {
                t = node.left;
            }
        }
        count
    }

    fn select(&self, mut k: u32) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let left_size = self.size(self.node(t).left);
            match k.cmp(&left_size) {
                Ordering::Less => t = self.node(t).left,
                Ordering::Equal => return Some(t),
                Ordering::Greater => {
                    k -= left_size + 1;
                    t = self.node(t).right;
                }
            }
        }
        None
    }

    /// In-order walk starting at rank `k`, upward or downward.
    fn iter_from(&self, k: usize, reverse: bool) -> TreeIter<'_> {
        let mut stack = Vec::new();
        if k < self.len as usize {
            let mut k = k as u32;
            let mut t = self.root;
            while t != NIL {
                let left_size = self.size(self.node(t).left);
                match k.cmp(&left_size) {
                    Ordering::Less => {
                        // `t` comes after the start: pending when walking up.
                        if !reverse {
                            stack.push(t);
                        }
                        t = self.node(t).left;
                    }
                    Ordering::Equal => {
                        stack.push(t);
                        break;
                    }
                    Ordering::Greater => {
                        // `t` comes before the start: pending when walking down.
                        if reverse {
                            stack.push(t);
                        }
                        k -= left_size + 1;
                        t = self.node(t).right;
                    }
                }
            }
        }
        TreeIter {
            tree: self,
            stack,
            reverse,
        }
    }

    /// Like [`Tree::iter_from`], also yielding node indices.
    fn rank_iter(&self, k: usize, reverse: bool) -> impl Iterator<Item = (&[u8], f64, u32)> + '_ {
        let mut walk = self.iter_from(k, reverse);
        std::iter::from_fn(move || {
            let x = *walk.stack.last()?;
            let (member, score) = walk.next()?;
            Some((member, score, x))
        })
    }

    /// Removes ranks `[lo, hi)` in O(log n + k); returns them in order if asked.
    fn remove_ranks(&mut self, lo: usize, hi: usize, keep: bool) -> Vec<(Box<[u8]>, f64)> {
        let mut taken = Vec::new();
        let (before, rest) = self.split_at(self.root, lo as u32);
        let (middle, after) = self.split_at(rest, (hi - lo) as u32);
        self.root = self.merge(before, after);
        let mut stack = Vec::new();
        let mut t = middle;
        loop {
            while t != NIL {
                stack.push(t);
                t = self.node(t).left;
            }
            let Some(x) = stack.pop() else { break };
            t = self.node(x).right;
            let score = self.node(x).score;
            let member = self.release(x);
            if keep {
                taken.push((member, score));
            }
        }
        self.maybe_compact();
        taken
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Tree>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.slots.capacity() * std::mem::size_of::<u64>()
            + self.member_bytes
    }
}

// ---------------------------------------------------------------------------
// the value

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    Skiplist(Box<Tree>),
}

/// A sorted set. See the module documentation for encodings and costs.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

/// Members with their scores, in order (or reverse order).
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Listpack(LpIter<'a>),
    Collected(std::vec::IntoIter<(&'a [u8], f64)>),
    Tree(TreeIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        match &mut self.inner {
            IterInner::Listpack(it) => it.next().map(|e| (e.member, e.score)),
            IterInner::Collected(it) => it.next(),
            IterInner::Tree(it) => it.next(),
        }
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl ZSet {
    /// An empty listpack (what ZRANGESTORE starts from). Allocates nothing.
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// An empty skiplist, as Redis builds the destination of ZUNIONSTORE
    /// and friends before [`ZSet::convert_to_listpack_if_needed`].
    pub fn new_skiplist() -> ZSet {
        ZSet {
            repr: Repr::Skiplist(Box::new(Tree::from_sorted(Vec::new(), RandomState::new()))),
        }
    }

    /// The empty set ZADD creates for a missing key whose first member is
    /// `member` (Redis 7.0's `zaddGenericCommand`): a skiplist if listpacks
    /// are disabled or that member is already too long.
    pub fn for_first(member: &[u8], limits: ZSetLimits) -> ZSet {
        if limits.max_listpack_entries == 0 || member.len() > limits.max_listpack_value {
            ZSet::new_skiplist()
        } else {
            ZSet::new()
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Skiplist(t) => t.len as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes owned (not counting the `ZSet` itself), for MEMORY USAGE
    /// and `used_memory`. O(1).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.buf.len(),
            Repr::Skiplist(t) => t.heap_bytes(),
        }
    }

    /// ZSCORE: O(1) for a skiplist, a scan for a listpack.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(member).map(|e| e.score),
            Repr::Skiplist(t) => t.find(member).map(|x| t.node(x).score),
        }
    }

    /// One member of ZADD/ZINCRBY (`zsetAdd`): NX, XX, GT, LT and INCR as
    /// Redis applies them. A listpack that this member would push past a
    /// threshold becomes a skiplist first. A NaN score, or an INCR that
    /// yields NaN (`+inf` plus `-inf`), is an error and changes nothing.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: ZSetLimits,
    ) -> Result<AddResult, ZSetError> {
        if score.is_nan() {
            return Err(ZSetError::NotANumber);
        }
        if let Repr::Listpack(lp) = &mut self.repr {
            match lp.find(member).map(|e| (e.score, e.start, e.end)) {
                Some((current, start, end)) => {
                    return Ok(match update_existing(current, score, flags)? {
                        Update::Skip => AddResult::Skipped,
                        Update::Same(s) => AddResult::Unchanged(s),
                        Update::Change(s) => {
                            lp.rescore((start, end), member, s);
                            AddResult::Updated(s)
                        }
                    });
                }
                None if flags.xx => return Ok(AddResult::Skipped),
                None => {
                    let fits = lp.len() < limits.max_listpack_entries
                        && member.len() <= limits.max_listpack_value
                        && lp.buf.len() + member.len() <= LISTPACK_SAFETY_SIZE;
                    if fits {
                        lp.insert(member, score);
                        return Ok(AddResult::Added(score));
                    }
                }
            }
            self.convert_to_skiplist();
        }
        let Repr::Skiplist(tree) = &mut self.repr else {
            unreachable!("a listpack returned or converted just above")
        };
        match tree.find(member) {
            Some(x) => Ok(match update_existing(tree.node(x).score, score, flags)? {
                Update::Skip => AddResult::Skipped,
                Update::Same(s) => AddResult::Unchanged(s),
                Update::Change(s) => {
                    tree.rescore(x, s);
                    AddResult::Updated(s)
                }
            }),
            None if flags.xx => Ok(AddResult::Skipped),
            None => {
                tree.insert(member, score);
                Ok(AddResult::Added(score))
            }
        }
    }

    /// ZREM of one member.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => match lp.iter().position(|e| e.member == member) {
                Some(rank) => {
                    lp.remove_ranks(rank, rank + 1, false);
                    true
                }
                None => false,
            },
            Repr::Skiplist(t) => t.remove(member),
        }
    }

    /// ZRANK / ZREVRANK (0-based).
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let rank = match &self.repr {
            Repr::Listpack(lp) => lp.iter().position(|e| e.member == member)?,
            Repr::Skiplist(t) => t.rank_of(t.find(member)?),
        };
        Some(if reverse { self.len() - 1 - rank } else { rank })
    }

    /// Ascending.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// Descending.
    pub fn iter_rev(&self) -> Iter<'_> {
        match self.len() {
            0 => self.iter_from(0, true),
            n => self.iter_from(n - 1, true),
        }
    }

    /// The member at a rank (ascending, 0-based).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().nth(rank).map(|e| (e.member, e.score)),
            Repr::Skiplist(t) => {
                let x = t.select(u32::try_from(rank).ok()?)?;
                Some((&t.node(x).member, t.node(x).score))
            }
        }
    }

    /// ZRANGE by index (and ZREVRANGE with `reverse`): negative indexes count
    /// from the end, out-of-range ones are clamped, as Redis does.
    pub fn range_by_rank(&self, start: i64, stop: i64, reverse: bool) -> Vec<(&[u8], f64)> {
        let n = self.len();
        match rank_window(n, start, stop) {
            Some((lo, hi)) if reverse => self.collect(n - hi, n - lo, true),
            Some((lo, hi)) => self.collect(lo, hi, false),
            None => Vec::new(),
        }
    }

    /// ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGE … BYSCORE [REV] [LIMIT].
    pub fn range_by_score(
        &self,
        range: &ScoreRange,
        limit: Limit,
        reverse: bool,
    ) -> Vec<(&[u8], f64)> {
        let (a, b) = self.score_span(range);
        match limit_window(a, b, limit, reverse) {
            Some((lo, hi)) => self.collect(lo, hi, reverse),
            None => Vec::new(),
        }
    }

    /// ZRANGEBYLEX / ZREVRANGEBYLEX / ZRANGE … BYLEX [REV] [LIMIT].
    pub fn range_by_lex(
        &self,
        range: &LexRange<'_>,
        limit: Limit,
        reverse: bool,
    ) -> Vec<(&[u8], f64)> {
        let (a, b) = self.lex_span(range);
        match limit_window(a, b, limit, reverse) {
            Some((lo, hi)) => self.collect(lo, hi, reverse),
            None => Vec::new(),
        }
    }

    /// ZCOUNT: O(log n) for a skiplist.
    pub fn count_by_score(&self, range: &ScoreRange) -> usize {
        let (a, b) = self.score_span(range);
        b.saturating_sub(a)
    }

    /// ZLEXCOUNT: O(log n) for a skiplist.
    pub fn count_by_lex(&self, range: &LexRange<'_>) -> usize {
        let (a, b) = self.lex_span(range);
        b.saturating_sub(a)
    }

    /// ZREMRANGEBYRANK; returns how many were removed.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> usize {
        match rank_window(self.len(), start, stop) {
            Some((lo, hi)) => self.remove_ranks(lo, hi),
            None => 0,
        }
    }

    /// ZREMRANGEBYSCORE; returns how many were removed.
    pub fn remove_range_by_score(&mut self, range: &ScoreRange) -> usize {
        let (a, b) = self.score_span(range);
        if b > a {
            self.remove_ranks(a, b)
        } else {
            0
        }
    }

    /// ZREMRANGEBYLEX; returns how many were removed.
    pub fn remove_range_by_lex(&mut self, range: &LexRange<'_>) -> usize {
        let (a, b) = self.lex_span(range);
        if b > a {
            self.remove_ranks(a, b)
        } else {
            0
        }
    }

    /// ZPOPMIN: up to `count` lowest members, lowest first.
    pub fn pop_min(&mut self, count: usize) -> Vec<(Box<[u8]>, f64)> {
        let k = count.min(self.len());
        self.take_ranks(0, k)
    }

    /// ZPOPMAX: up to `count` highest members, highest first.
    pub fn pop_max(&mut self, count: usize) -> Vec<(Box<[u8]>, f64)> {
        let n = self.len();
        let k = count.min(n);
        let mut popped = self.take_ranks(n - k, n);
        popped.reverse();
        popped
    }

    /// ZRANDMEMBER without a count: one uniformly random member.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], f64)> {
        match self.len() {
            0 => None,
            n => self.get_by_rank((rand() % n as u64) as usize),
        }
    }

    /// ZRANDMEMBER with a negative count: `count` independent picks, streamed
    /// (the caller may write them out in batches; Redis does 1000 at a time).
    pub fn random_with_replacement<'a>(
        &'a self,
        count: usize,
        mut rand: impl FnMut() -> u64 + 'a,
    ) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        let n = self.len() as u64;
        let count = if n == 0 { 0 } else { count };
        // A listpack is decoded once (at most a few hundred entries) rather
        // than scanned per pick.
        let decoded: Vec<(&[u8], f64)> = match &self.repr {
            Repr::Listpack(_) if count > 0 => self.iter().collect(),
            _ => Vec::new(),
        };
        (0..count).filter_map(move |_| {
            let rank = (rand() % n) as usize;
            match decoded.get(rank) {
                Some(&pick) => Some(pick),
                None => self.get_by_rank(rank),
            }
        })
    }

    /// ZRANDMEMBER with a positive count: `count` distinct members, in
    /// ascending order. A count of at least the size returns the whole set
    /// in order, as Redis does.
    pub fn random_distinct(
        &self,
        count: usize,
        mut rand: impl FnMut() -> u64,
    ) -> Vec<(&[u8], f64)> {
        let n = self.len();
        if count >= n {
            return self.iter().collect();
        }
        // Floyd's sampling: `count` distinct ranks with `count` draws.
        let mut chosen = HashSet::with_capacity(count);
        for j in n - count..n {
            let t = (rand() % (j as u64 + 1)) as usize;
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        let mut ranks: Vec<usize> = chosen.into_iter().collect();
        ranks.sort_unstable();
        match &self.repr {
            Repr::Listpack(lp) => {
                let mut want = ranks.into_iter().peekable();
                lp.iter()
                    .enumerate()
                    .filter(|(i, _)| want.next_if_eq(i).is_some())
                    .map(|(_, e)| (e.member, e.score))
                    .collect()
            }
            Repr::Skiplist(_) => ranks
                .into_iter()
                .filter_map(|r| self.get_by_rank(r))
                .collect(),
        }
    }

    /// Redis's `zsetConvertToListpackIfNeeded`, for a destination built as a
    /// skiplist: back to a listpack if it is small enough.
    pub fn convert_to_listpack_if_needed(&mut self, limits: ZSetLimits) {
        let Repr::Skiplist(tree) = &self.repr else {
            return;
        };
        let fits = (tree.len as usize) <= limits.max_listpack_entries
            && tree.member_bytes <= LISTPACK_SAFETY_SIZE
            && self
                .iter()
                .all(|(m, _)| m.len() <= limits.max_listpack_value);
        if !fits {
            return;
        }
        let mut buf = Vec::new();
        if tree.len > 0 {
            buf.extend_from_slice(&[0, 0]);
        }
        for (member, score) in self.iter() {
            encode_entry(&mut buf, member, score);
        }
        set_count(&mut buf, tree.len as usize);
        self.repr = Repr::Listpack(Listpack {
            buf: buf.into_boxed_slice(),
        });
    }

    // -- shared machinery ---------------------------------------------------

    fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let items = lp.iter().map(|e| (Box::from(e.member), e.score)).collect();
            self.repr = Repr::Skiplist(Box::new(Tree::from_sorted(items, RandomState::new())));
        }
    }

    fn iter_from(&self, rank: usize, reverse: bool) -> Iter<'_> {
        let inner = match &self.repr {
            Repr::Listpack(lp) if reverse => {
                let mut upto: Vec<(&[u8], f64)> = lp
                    .iter()
                    .take(rank.saturating_add(1))
                    .map(|e| (e.member, e.score))
                    .collect();
                upto.reverse();
                IterInner::Collected(upto.into_iter())
            }
            Repr::Listpack(lp) => {
                let mut it = lp.iter();
                if rank > 0 {
                    it.nth(rank - 1);
                }
                IterInner::Listpack(it)
            }
            Repr::Skiplist(t) => IterInner::Tree(t.iter_from(rank, reverse)),
        };
        Iter { inner }
    }

    /// Ranks `[lo, hi)`, upward or (from `hi - 1`) downward.
    fn collect(&self, lo: usize, hi: usize, reverse: bool) -> Vec<(&[u8], f64)> {
        if lo >= hi {
            return Vec::new();
        }
        let from = if reverse { hi - 1 } else { lo };
        self.iter_from(from, reverse).take(hi - lo).collect()
    }

    /// How many leading members satisfy `pred`, true on a prefix.
    fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().take_while(|e| pred(e.score, e.member)).count(),
            Repr::Skiplist(t) => t.partition_point(pred),
        }
    }

    /// The ranks `[a, b)` of the members in a score range (`b <= a`: none).
    fn score_span(&self, range: &ScoreRange) -> (usize, usize) {
        (
            self.partition_point(|s, _| !range.gte_min(s)),
            self.partition_point(|s, _| range.lte_max(s)),
        )
    }

    fn lex_span(&self, range: &LexRange<'_>) -> (usize, usize) {
        (
            self.partition_point(|_, m| !range.gte_min(m)),
            self.partition_point(|_, m| range.lte_max(m)),
        )
    }

    fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                lp.remove_ranks(lo, hi, false);
            }
            Repr::Skiplist(t) => {
                t.remove_ranks(lo, hi, false);
            }
        }
        hi - lo
    }

    fn take_ranks(&mut self, lo: usize, hi: usize) -> Vec<(Box<[u8]>, f64)> {
        if lo >= hi {
            return Vec::new();
        }
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove_ranks(lo, hi, true),
            Repr::Skiplist(t) => t.remove_ranks(lo, hi, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Listpacks that never convert, for running one scenario on both encodings.
    const UNLIMITED: ZSetLimits = ZSetLimits {
        max_listpack_entries: usize::MAX,
        max_listpack_value: usize::MAX,
    };
    const ADD: AddFlags = AddFlags {
        nx: false,
        xx: false,
        gt: false,
        lt: false,
        incr: false,
    };

    fn both(pairs: &[(&str, f64)]) -> [ZSet; 2] {
        let mut small = ZSet::new();
        let mut big = ZSet::new_skiplist();
        for &(m, s) in pairs {
            small.add(m.as_bytes(), s, ADD, UNLIMITED).expect("not NaN");
            big.add(m.as_bytes(), s, ADD, UNLIMITED).expect("not NaN");
        }
        assert_eq!((small.encoding(), big.encoding()), ("listpack", "skiplist"));
        [small, big]
    }

    fn owned(items: Vec<(&[u8], f64)>) -> Vec<(String, f64)> {
        items
            .into_iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))
            .collect()
    }

    fn names(items: Vec<(&[u8], f64)>) -> Vec<String> {
        owned(items).into_iter().map(|(m, _)| m).collect()
    }

    fn score_range(min: &str, max: &str) -> ScoreRange {
        ScoreRange::parse(min.as_bytes(), max.as_bytes()).expect("valid score range")
    }

    fn lex_range<'a>(min: &'a str, max: &'a str) -> LexRange<'a> {
        LexRange::parse(min.as_bytes(), max.as_bytes()).expect("valid lex range")
    }

    /// Structure checks for the skiplist encoding: order, sizes, heap order,
    /// index and free list all agree.
    fn check_tree(z: &ZSet) {
        let Repr::Skiplist(t) = &z.repr else { return };
        let mut stack = vec![t.root];
        let mut live = 0;
        while let Some(x) = stack.pop() {
            if x == NIL {
                continue;
            }
            live += 1;
            let n = t.node(x);
            assert_eq!(n.size, 1 + t.size(n.left) + t.size(n.right), "size of {x}");
            for c in [n.left, n.right] {
                if c != NIL {
                    assert!(t.node(c).prio <= n.prio, "heap order at {x}");
                }
            }
            stack.push(n.left);
            stack.push(n.right);
        }
        assert_eq!(live, t.len as usize);
        let all: Vec<_> = z.iter().collect();
        assert!(all
            .windows(2)
            .all(|w| cmp_entry(w[0].1, w[0].0, w[1].1, w[1].0) == Ordering::Less));
        for (rank, (m, s)) in all.iter().enumerate() {
            let x = t.find(m).expect("indexed");
            assert_eq!(t.node(x).score.to_bits(), s.to_bits());
            assert_eq!(t.rank_of(x), rank);
        }
        assert_eq!(
            t.slots.iter().filter(|&&s| s != EMPTY).count(),
            t.len as usize
        );
        assert_eq!(
            t.member_bytes,
            all.iter().map(|(m, _)| m.len()).sum::<usize>()
        );
    }

    #[test]
    fn ties_order_by_member_bytes_shorter_prefix_first() {
        for z in both(&[
            ("b", 1.0),
            ("ab", 1.0),
            ("a", 1.0),
            ("", 1.0),
            ("c", 0.5),
            ("\u{ff}", 1.0),
        ]) {
            assert_eq!(
                names(z.iter().collect()),
                ["c", "", "a", "ab", "b", "\u{ff}"]
            );
            assert_eq!(
                names(z.iter_rev().collect()),
                ["\u{ff}", "b", "ab", "a", "", "c"]
            );
        }
        // -0 and 0 compare equal: the member decides.
        for z in both(&[("y", 0.0), ("x", -0.0), ("w", 0.0)]) {
            assert_eq!(names(z.iter().collect()), ["w", "x", "y"]);
        }
    }

    #[test]
    fn negative_zero_loses_its_sign_in_listpack_only() {
        // Redis 7.0 stores integral listpack scores as integers (double2ll),
        // so "-0" reads back as 0 there; the skiplist keeps the double.
        let [small, big] = both(&[("m", -0.0)]);
        assert_eq!(small.score(b"m").map(f64::to_bits), Some(0.0f64.to_bits()));
        assert_eq!(big.score(b"m").map(f64::to_bits), Some((-0.0f64).to_bits()));
        // The reply of ZADD INCR is the computed score either way.
        let mut z = ZSet::new();
        let r = z.add(b"n", -0.0, AddFlags { incr: true, ..ADD }, UNLIMITED);
        assert_eq!(
            r.map(|r| r.new_score().map(f64::to_bits)),
            Ok(Some((-0.0f64).to_bits()))
        );
    }

    #[test]
    fn add_follows_zsetadd_for_every_flag() {
        let nx = AddFlags { nx: true, ..ADD };
        let xx = AddFlags { xx: true, ..ADD };
        let gt = AddFlags { gt: true, ..ADD };
        let lt = AddFlags { lt: true, ..ADD };
        let incr = AddFlags { incr: true, ..ADD };
        for mut z in both(&[]) {
            let l = UNLIMITED;
            assert_eq!(z.add(b"a", 1.0, ADD, l), Ok(AddResult::Added(1.0)));
            assert_eq!(z.add(b"a", 1.0, ADD, l), Ok(AddResult::Unchanged(1.0)));
            assert_eq!(z.add(b"a", 2.0, ADD, l), Ok(AddResult::Updated(2.0)));
            assert_eq!(z.add(b"a", 5.0, nx, l), Ok(AddResult::Skipped));
            assert_eq!(z.add(b"b", 5.0, xx, l), Ok(AddResult::Skipped));
            assert_eq!(z.score(b"b"), None);
            assert_eq!(z.add(b"b", 5.0, nx, l), Ok(AddResult::Added(5.0)));
            assert_eq!(z.add(b"a", 1.0, gt, l), Ok(AddResult::Skipped));
            assert_eq!(z.add(b"a", 2.0, gt, l), Ok(AddResult::Skipped));
            assert_eq!(z.add(b"a", 3.0, gt, l), Ok(AddResult::Updated(3.0)));
            assert_eq!(z.add(b"a", 4.0, lt, l), Ok(AddResult::Skipped));
            assert_eq!(z.add(b"a", 0.5, lt, l), Ok(AddResult::Updated(0.5)));
            // GT/LT never stop a new member.
            assert_eq!(z.add(b"c", -7.0, gt, l), Ok(AddResult::Added(-7.0)));
            assert_eq!(z.add(b"a", 2.0, incr, l), Ok(AddResult::Updated(2.5)));
            assert_eq!(z.add(b"a", 0.0, incr, l), Ok(AddResult::Unchanged(2.5)));
            assert_eq!(
                z.add(b"a", -1.0, AddFlags { gt: true, ..incr }, l),
                Ok(AddResult::Skipped)
            );
            assert_eq!(z.add(b"d", 4.0, incr, l), Ok(AddResult::Added(4.0)));
            assert_eq!(
                z.add(b"e", 4.0, AddFlags { xx: true, ..incr }, l),
                Ok(AddResult::Skipped)
            );
            assert_eq!(
                z.add(b"a", f64::INFINITY, ADD, l),
                Ok(AddResult::Updated(f64::INFINITY))
            );
            assert_eq!(
                z.add(b"a", f64::NEG_INFINITY, incr, l),
                Err(ZSetError::NotANumber)
            );
            assert_eq!(z.score(b"a"), Some(f64::INFINITY));
            assert_eq!(z.add(b"z", f64::NAN, ADD, l), Err(ZSetError::NotANumber));
            assert_eq!(
                owned(z.iter().collect()),
                [
                    ("c".into(), -7.0),
                    ("d".into(), 4.0),
                    ("b".into(), 5.0),
                    ("a".into(), f64::INFINITY)
                ]
            );
            check_tree(&z);
        }
        assert!(AddResult::Added(1.0).changed(false));
        assert!(!AddResult::Updated(1.0).changed(false));
        assert!(AddResult::Updated(1.0).changed(true));
        assert!(!AddResult::Unchanged(1.0).changed(true));
        assert_eq!(AddResult::Skipped.new_score(), None);
        assert_eq!(
            ZSetError::NotANumber.reply(),
            "ERR resulting score is not a number (NaN)"
        );
    }

    const FIVE: &[(&str, f64)] = &[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)];

    #[test]
    fn range_by_rank_counts_from_the_end_and_clamps() {
        for z in both(FIVE) {
            assert_eq!(
                names(z.range_by_rank(0, -1, false)),
                ["a", "b", "c", "d", "e"]
            );
            assert_eq!(names(z.range_by_rank(1, 2, false)), ["b", "c"]);
            assert_eq!(names(z.range_by_rank(-2, -1, false)), ["d", "e"]);
            assert_eq!(names(z.range_by_rank(-100, 1, false)), ["a", "b"]);
            assert_eq!(names(z.range_by_rank(3, 100, false)), ["d", "e"]);
            assert!(z.range_by_rank(5, 10, false).is_empty());
            assert!(z.range_by_rank(3, 2, false).is_empty());
            assert!(z.range_by_rank(0, -6, false).is_empty());
            assert!(z.range_by_rank(i64::MIN, i64::MIN, false).is_empty());
            assert_eq!(z.range_by_rank(i64::MIN, i64::MAX, false).len(), 5);
            // ZREVRANGE: indexes count from the highest.
            assert_eq!(names(z.range_by_rank(0, 1, true)), ["e", "d"]);
            assert_eq!(names(z.range_by_rank(-2, -1, true)), ["b", "a"]);
            assert_eq!(
                names(z.range_by_rank(0, -1, true)),
                ["e", "d", "c", "b", "a"]
            );
            assert_eq!(
                owned(z.range_by_rank(2, 2, false)),
                [("c".to_string(), 3.0)]
            );
        }
    }

    #[test]
    fn score_ranges_with_exclusive_bounds_and_infinities() {
        let pairs = [
            ("lo", f64::NEG_INFINITY),
            ("a", 1.0),
            ("b", 2.0),
            ("b2", 2.0),
            ("c", 3.0),
            ("hi", f64::INFINITY),
        ];
        for z in both(&pairs) {
            let r = |min, max| names(z.range_by_score(&score_range(min, max), Limit::ALL, false));
            assert_eq!(r("-inf", "+inf"), ["lo", "a", "b", "b2", "c", "hi"]);
            assert_eq!(r("(-inf", "(+inf"), ["a", "b", "b2", "c"]);
            assert_eq!(r("1", "2"), ["a", "b", "b2"]);
            assert_eq!(r("(1", "2"), ["b", "b2"]);
            assert_eq!(r("1", "(2"), ["a"]);
            assert_eq!(r("(1", "(3"), ["b", "b2"]);
            assert_eq!(r("2", "2"), ["b", "b2"]);
            assert!(r("(2", "2").is_empty());
            assert!(r("3", "1").is_empty());
            assert_eq!(r("inf", "inf"), ["hi"]);
            assert_eq!(r("-inf", "-inf"), ["lo"]);
            assert_eq!(r("2.5", "+inf"), ["c", "hi"]);
            assert_eq!(z.count_by_score(&score_range("(1", "+inf")), 4);
            assert_eq!(z.count_by_score(&score_range("-inf", "+inf")), 6);
            assert_eq!(z.count_by_score(&score_range("5", "4")), 0);
            assert_eq!(z.count_by_score(&ScoreRange::ALL), 6);
        }
    }

    #[test]
    fn limit_offset_past_the_end_is_empty_and_negative_count_means_all() {
        for z in both(FIVE) {
            let all = score_range("-inf", "+inf");
            let r =
                |offset, count, rev| names(z.range_by_score(&all, Limit { offset, count }, rev));
            assert_eq!(r(1, 2, false), ["b", "c"]);
            assert_eq!(r(1, -1, false), ["b", "c", "d", "e"]);
            assert_eq!(r(3, -5, false), ["d", "e"]);
            assert_eq!(r(3, 100, false), ["d", "e"]);
            assert!(r(5, 1, false).is_empty());
            assert!(r(i64::MAX, -1, false).is_empty());
            assert!(r(0, 0, false).is_empty());
            // Redis skips forever on a negative offset: nothing matches.
            assert!(r(-1, 2, false).is_empty());
            assert_eq!(r(1, 2, true), ["d", "c"]);
            assert_eq!(r(0, -1, true), ["e", "d", "c", "b", "a"]);
            assert_eq!(r(4, 10, true), ["a"]);
            let some = score_range("(1", "4");
            assert_eq!(
                names(z.range_by_score(
                    &some,
                    Limit {
                        offset: 1,
                        count: 1
                    },
                    false
                )),
                ["c"]
            );
            assert_eq!(
                names(z.range_by_score(
                    &some,
                    Limit {
                        offset: 1,
                        count: 5
                    },
                    true
                )),
                ["c", "b"]
            );
            assert!(z
                .range_by_score(
                    &some,
                    Limit {
                        offset: 3,
                        count: 5
                    },
                    true
                )
                .is_empty());
        }
    }

    #[test]
    fn rev_score_range_takes_max_then_min_from_the_caller() {
        // ZRANGE z 4 (2 BYSCORE REV: the caller parses the arguments swapped.
        let range = ScoreRange::parse(b"(2", b"4").expect("valid");
        for z in both(FIVE) {
            assert_eq!(
                owned(z.range_by_score(&range, Limit::ALL, true)),
                [("d".to_string(), 4.0), ("c".to_string(), 3.0)]
            );
            // Given in the forward order by mistake, the range is simply empty.
            let swapped = ScoreRange::parse(b"4", b"(2").expect("valid");
            assert!(z.range_by_score(&swapped, Limit::ALL, true).is_empty());
        }
    }

    #[test]
    fn lex_ranges_with_every_bound_kind() {
        let pairs = [
            ("", 0.0),
            ("a", 0.0),
            ("aa", 0.0),
            ("ab", 0.0),
            ("b", 0.0),
            ("c", 0.0),
        ];
        for z in both(&pairs) {
            let r = |min, max| names(z.range_by_lex(&lex_range(min, max), Limit::ALL, false));
            assert_eq!(r("-", "+"), ["", "a", "aa", "ab", "b", "c"]);
            assert_eq!(r("[a", "[b"), ["a", "aa", "ab", "b"]);
            assert_eq!(r("(a", "(b"), ["aa", "ab"]);
            assert_eq!(r("[", "(a"), [""]);
            assert_eq!(r("(", "[a"), ["a"]);
            assert_eq!(r("[aa", "+"), ["aa", "ab", "b", "c"]);
            assert!(r("+", "-").is_empty());
            assert!(r("+", "+").is_empty());
            assert!(r("-", "-").is_empty());
            assert!(r("[b", "[a").is_empty());
            assert!(r("(a", "[a").is_empty());
            assert_eq!(
                names(z.range_by_lex(
                    &lex_range("[aa", "+"),
                    Limit {
                        offset: 1,
                        count: 2
                    },
                    false
                )),
                ["ab", "b"]
            );
            // ZREVRANGEBYLEX z + [aa: arguments swapped by the caller.
            assert_eq!(
                names(z.range_by_lex(&lex_range("[aa", "+"), Limit::ALL, true)),
                ["c", "b", "ab", "aa"]
            );
            assert_eq!(
                names(z.range_by_lex(
                    &lex_range("-", "+"),
                    Limit {
                        offset: 1,
                        count: 2
                    },
                    true
                )),
                ["b", "ab"]
            );
            assert_eq!(z.count_by_lex(&lex_range("[a", "(b")), 3);
            assert_eq!(z.count_by_lex(&lex_range("-", "+")), 6);
            assert_eq!(z.count_by_lex(&lex_range("(c", "+")), 0);
        }
    }

    #[test]
    fn removing_ranges_returns_how_many_went() {
        for mut z in both(FIVE) {
            assert_eq!(z.remove_range_by_rank(1, 2), 2);
            assert_eq!(names(z.iter().collect()), ["a", "d", "e"]);
            assert_eq!(z.remove_range_by_rank(5, 9), 0);
            assert_eq!(z.remove_range_by_rank(-1, -1), 1);
            assert_eq!(z.remove_range_by_score(&score_range("(1", "+inf")), 1);
            assert_eq!(z.remove_range_by_score(&score_range("2", "1")), 0);
            assert_eq!(names(z.iter().collect()), ["a"]);
            assert_eq!(z.remove_range_by_lex(&lex_range("-", "+")), 1);
            assert!(z.is_empty());
            assert_eq!(z.heap_bytes() == 0, z.encoding() == "listpack");
            check_tree(&z);
        }
        for mut z in both(&[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)]) {
            assert_eq!(z.remove_range_by_lex(&lex_range("(a", "[c")), 2);
            assert_eq!(names(z.iter().collect()), ["a", "d"]);
            assert_eq!(z.remove_range_by_rank(0, -1), 2);
            assert_eq!(z.len(), 0);
        }
    }

    #[test]
    fn pops_take_from_the_right_end_in_reply_order() {
        for mut z in both(FIVE) {
            let popped: Vec<(String, f64)> = z
                .pop_max(2)
                .into_iter()
                .map(|(m, s)| (String::from_utf8_lossy(&m).into_owned(), s))
                .collect();
            assert_eq!(popped, [("e".to_string(), 5.0), ("d".to_string(), 4.0)]);
            let popped: Vec<Box<[u8]>> = z.pop_min(2).into_iter().map(|(m, _)| m).collect();
            assert_eq!(popped, [Box::from(&b"a"[..]), Box::from(&b"b"[..])]);
            assert!(z.pop_min(0).is_empty());
            assert_eq!(z.pop_max(10).len(), 1);
            assert!(z.pop_max(1).is_empty());
            assert!(z.is_empty());
        }
    }

    #[test]
    fn rank_follows_deletes_and_rescoring() {
        for mut z in both(FIVE) {
            assert_eq!(z.rank(b"c", false), Some(2));
            assert_eq!(z.rank(b"c", true), Some(2));
            assert_eq!(z.rank(b"e", true), Some(0));
            assert!(z.remove(b"a"));
            assert!(!z.remove(b"a"));
            assert_eq!(z.rank(b"c", false), Some(1));
            assert_eq!(z.rank(b"a", false), None);
            z.add(b"b", 10.0, ADD, UNLIMITED).expect("not NaN");
            assert_eq!(z.rank(b"b", false), Some(3));
            assert_eq!(z.rank(b"b", true), Some(0));
            assert_eq!(z.rank(b"c", false), Some(0));
            assert_eq!(z.get_by_rank(1), Some((&b"d"[..], 4.0)));
            assert_eq!(z.get_by_rank(4), None);
            check_tree(&z);
        }
    }

    #[test]
    fn listpack_becomes_skiplist_on_the_129th_member() {
        let limits = ZSetLimits::default();
        let mut z = ZSet::for_first(b"m0", limits);
        for i in 0..128 {
            let r = z.add(format!("m{i}").as_bytes(), f64::from(i), ADD, limits);
            assert_eq!(r, Ok(AddResult::Added(f64::from(i))));
        }
        assert_eq!((z.len(), z.encoding()), (128, "listpack"));
        // Updating or refusing members never converts.
        z.add(b"m5", 1000.0, ADD, limits).expect("not NaN");
        z.add(b"new", 1.0, AddFlags { xx: true, ..ADD }, limits)
            .expect("not NaN");
        assert_eq!(z.encoding(), "listpack");
        z.add(b"m128", 128.0, ADD, limits).expect("not NaN");
        assert_eq!((z.len(), z.encoding()), (129, "skiplist"));
        assert_eq!(z.score(b"m5"), Some(1000.0));
        assert_eq!(z.rank(b"m5", true), Some(0));
        check_tree(&z);
        // Never back, even when it shrinks.
        z.remove_range_by_rank(0, -3);
        assert_eq!((z.len(), z.encoding()), (2, "skiplist"));
    }

    #[test]
    fn listpack_becomes_skiplist_on_a_65_byte_member() {
        let limits = ZSetLimits::default();
        let mut z = ZSet::new();
        z.add(&[b'x'; 64], 1.0, ADD, limits).expect("not NaN");
        assert_eq!(z.encoding(), "listpack");
        z.add(&[b'y'; 65], 2.0, ADD, limits).expect("not NaN");
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.score(&[b'x'; 64]), Some(1.0));
        assert_eq!(z.score(&[b'y'; 65]), Some(2.0));
        // ZADD on a missing key looks at the first member only.
        assert_eq!(ZSet::for_first(&[b'y'; 65], limits).encoding(), "skiplist");
        assert_eq!(ZSet::for_first(&[b'y'; 64], limits).encoding(), "listpack");
        let none = ZSetLimits {
            max_listpack_entries: 0,
            ..limits
        };
        assert_eq!(ZSet::for_first(b"a", none).encoding(), "skiplist");
        let mut z = ZSet::new();
        z.add(b"a", 1.0, ADD, none).expect("not NaN");
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn store_destinations_shrink_back_to_listpack_when_small() {
        let limits = ZSetLimits::default();
        let mut z = ZSet::new_skiplist();
        for i in 0..128 {
            z.add(format!("m{i}").as_bytes(), -f64::from(i), ADD, limits)
                .expect("not NaN");
        }
        let before: Vec<(String, f64)> = owned(z.iter().collect());
        z.convert_to_listpack_if_needed(limits);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(owned(z.iter().collect()), before);
        assert_eq!(z.len(), 128);

        let mut z = ZSet::new_skiplist();
        for i in 0..129 {
            z.add(format!("m{i}").as_bytes(), 0.0, ADD, limits)
                .expect("not NaN");
        }
        z.convert_to_listpack_if_needed(limits);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::new_skiplist();
        z.add(&[b'x'; 65], 1.0, ADD, limits).expect("not NaN");
        z.convert_to_listpack_if_needed(limits);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn score_bounds_parse_as_strtod_does() {
        let ok = |arg: &[u8]| parse_score_bound(arg).map(|b| (b.value, b.exclusive));
        assert_eq!(ok(b"1.5"), Ok((1.5, false)));
        assert_eq!(ok(b"(1.5"), Ok((1.5, true)));
        assert_eq!(ok(b"-inf"), Ok((f64::NEG_INFINITY, false)));
        assert_eq!(ok(b"+inf"), Ok((f64::INFINITY, false)));
        assert_eq!(ok(b"inf"), Ok((f64::INFINITY, false)));
        assert_eq!(ok(b"(-Infinity"), Ok((f64::NEG_INFINITY, true)));
        assert_eq!(ok(b"1e3"), Ok((1000.0, false)));
        assert_eq!(ok(b".5"), Ok((0.5, false)));
        assert_eq!(ok(b"5."), Ok((5.0, false)));
        assert_eq!(ok(b"1e400"), Ok((f64::INFINITY, false)));
        assert_eq!(
            ok(b"-1e-400").map(|(v, _)| v.to_bits()),
            Ok((-0.0f64).to_bits())
        );
        assert_eq!(ok(b" \t\n\x0b\x0c\r42"), Ok((42.0, false)));
        assert_eq!(ok(b"0x10"), Ok((16.0, false)));
        assert_eq!(ok(b"-0X1.8p1"), Ok((-3.0, false)));
        assert_eq!(ok(b"(0x.8"), Ok((0.5, true)));
        // strtod of "" converts nothing and stops on the NUL: 0, accepted.
        assert_eq!(ok(b""), Ok((0.0, false)));
        assert_eq!(ok(b"("), Ok((0.0, true)));
        // The argument is a C string to strtod: it ends at a NUL byte.
        assert_eq!(ok(b"7\0junk"), Ok((7.0, false)));
        assert_eq!(ok(b"\0junk"), Ok((0.0, false)));
        for bad in [
            &b"nan"[..],
            b"(nan",
            b"-nan",
            b"1 ",
            b" ",
            b"abc",
            b"1.5x",
            b"--1",
            b"+-1",
            b"((1",
            b"1e",
            b"e1",
            b".",
            b"0x",
            b"0x1p",
            b"0xg",
            b"infinit",
            b"[1",
            b"1,5",
        ] {
            assert_eq!(
                parse_score_bound(bad),
                Err(ZSetError::MinMaxNotFloat),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            ScoreRange::parse(b"1", b"x"),
            Err(ZSetError::MinMaxNotFloat)
        );
        assert_eq!(
            ZSetError::MinMaxNotFloat.reply(),
            "ERR min or max is not a float"
        );
    }

    #[test]
    fn hex_floats_round_to_nearest_even() {
        let v = |s: &str| strtod_whole(s.as_bytes()).map(f64::to_bits);
        let bits = |f: f64| Some(f.to_bits());
        assert_eq!(v("0x1p-1074"), bits(f64::from_bits(1)));
        assert_eq!(v("0x1p-1075"), bits(0.0));
        assert_eq!(v("0x1.8p-1075"), bits(f64::from_bits(1)));
        assert_eq!(v("0x3p-1075"), bits(f64::from_bits(2)));
        assert_eq!(v("0x1.fffffffffffffp1023"), bits(f64::MAX));
        assert_eq!(v("0x1p1024"), bits(f64::INFINITY));
        assert_eq!(v("0x1.fffffffffffff8p1023"), bits(f64::INFINITY));
        assert_eq!(v("0x1.fffffffffffff8p0"), bits(2.0));
        assert_eq!(v("0x1.00000000000008p0"), bits(1.0));
        assert_eq!(
            v("0x1.000000000000080000000001p0"),
            bits(1.0 + f64::EPSILON)
        );
        assert_eq!(v("0x1.00000000000018p0"), bits(1.0 + 2.0 * f64::EPSILON));
        assert_eq!(v("0x0.0000000000001p-1022"), bits(f64::from_bits(1)));
        assert_eq!(
            v("0xffffffffffffffffffff"),
            bits(1208925819614629174706176.0)
        );
        assert_eq!(v("0x1p-99999999999999999999"), bits(0.0));
        assert_eq!(v("0x1p+99999999999999999999"), bits(f64::INFINITY));
        assert_eq!(v("0x0p99999"), bits(0.0));
    }

    #[test]
    fn lex_bounds_accept_only_redis_forms() {
        assert_eq!(parse_lex_bound(b"-"), Ok(LexBound::Min));
        assert_eq!(parse_lex_bound(b"+"), Ok(LexBound::Max));
        assert_eq!(parse_lex_bound(b"+\0x"), Ok(LexBound::Max));
        assert_eq!(parse_lex_bound(b"[a b"), Ok(LexBound::Inclusive(b"a b")));
        assert_eq!(parse_lex_bound(b"(\0z"), Ok(LexBound::Exclusive(b"\0z")));
        assert_eq!(parse_lex_bound(b"["), Ok(LexBound::Inclusive(b"")));
        for bad in [&b""[..], b"a", b"++", b"-a", b"1", b" [a"] {
            assert_eq!(parse_lex_bound(bad), Err(ZSetError::MinMaxNotStringRange));
        }
        assert_eq!(
            LexRange::parse(b"[a", b"b"),
            Err(ZSetError::MinMaxNotStringRange)
        );
        assert_eq!(
            ZSetError::MinMaxNotStringRange.reply(),
            "ERR min or max not valid string range item"
        );
    }

    #[test]
    fn random_picks_cover_the_set_without_inventing_members() {
        let mut seed = 1u64;
        let mut rand = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 11
        };
        for z in both(FIVE) {
            let one = z.random(&mut rand).expect("not empty");
            assert_eq!(z.score(one.0), Some(one.1));
            let picks: Vec<_> = z.random_with_replacement(200, &mut rand).collect();
            assert_eq!(picks.len(), 200);
            assert!(picks.iter().all(|(m, s)| z.score(m) == Some(*s)));
            assert_eq!(picks.iter().map(|p| p.0).collect::<HashSet<_>>().len(), 5);
            for count in 0..=4 {
                let some = z.random_distinct(count, &mut rand);
                assert_eq!(some.len(), count);
                assert!(
                    some.windows(2).all(|w| w[0].1 < w[1].1),
                    "distinct and ascending"
                );
            }
            assert_eq!(
                names(z.random_distinct(5, &mut rand)),
                ["a", "b", "c", "d", "e"]
            );
            assert_eq!(z.random_distinct(usize::MAX, &mut rand).len(), 5);
        }
        let empty = ZSet::new();
        assert_eq!(empty.random(&mut rand), None);
        assert_eq!(
            empty.random_with_replacement(usize::MAX, &mut rand).count(),
            0
        );
        assert!(empty.random_distinct(3, &mut rand).is_empty());
    }

    #[test]
    fn listpack_counts_past_u16_by_scanning() {
        let mut buf = vec![0, 0];
        for i in 0..65_536u32 {
            encode_entry(&mut buf, b"", f64::from(i));
        }
        set_count(&mut buf, 65_536);
        let mut z = ZSet {
            repr: Repr::Listpack(Listpack {
                buf: buf.into_boxed_slice(),
            }),
        };
        assert_eq!(z.len(), 65_536);
        assert_eq!(z.pop_min(1).len(), 1);
        assert_eq!(z.len(), 65_535);
        assert_eq!(z.pop_max(1)[0].1, 65_535.0);
        assert_eq!(z.len(), 65_534);
        assert_eq!(z.get_by_rank(0), Some((&b""[..], 1.0)));
    }

    #[test]
    fn clones_keep_encoding_and_contents() {
        for z in both(FIVE) {
            let mut copy = z.clone();
            assert_eq!(copy, z);
            assert_eq!(copy.encoding(), z.encoding());
            copy.remove(b"c");
            assert_ne!(copy, z);
            assert_eq!(z.score(b"c"), Some(3.0));
            assert_eq!(copy.score(b"c"), None);
            check_tree(&copy);
        }
    }

    #[test]
    fn skiplist_memory_follows_the_set_down() {
        let mut z = ZSet::new_skiplist();
        for i in 0..10_000 {
            z.add(
                format!("member:{i}").as_bytes(),
                f64::from(i % 97),
                ADD,
                UNLIMITED,
            )
            .expect("not NaN");
        }
        check_tree(&z);
        let full = z.heap_bytes();
        // Scores 0, 1 and 2 (i % 97) cover 3 * 104 members.
        assert_eq!(
            z.remove_range_by_score(&score_range("3", "+inf")),
            10_000 - 3 * 104
        );
        check_tree(&z);
        for i in 0..10_000 {
            z.remove(format!("member:{i}").as_bytes());
        }
        assert!(z.is_empty());
        assert!(
            z.heap_bytes() * 20 < full,
            "{} of {full} bytes kept",
            z.heap_bytes()
        );
        z.add(b"again", 1.0, ADD, UNLIMITED).expect("not NaN");
        assert_eq!(z.range_by_rank(0, -1, false), [(&b"again"[..], 1.0)]);
        check_tree(&z);
    }

    #[test]
    fn ten_member_sets_are_lean() {
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
        let mut ints = ZSet::new();
        let mut halves = ZSet::new();
        let mut floats = ZSet::new();
        let mut big = ZSet::new_skiplist();
        for i in 0..10 {
            let member = format!("member:{i}");
            let f = f64::from(i);
            ints.add(member.as_bytes(), f, ADD, UNLIMITED)
                .expect("not NaN");
            halves
                .add(member.as_bytes(), f + 0.5, ADD, UNLIMITED)
                .expect("not NaN");
            floats
                .add(member.as_bytes(), f / 3.0, ADD, UNLIMITED)
                .expect("not NaN");
            big.add(member.as_bytes(), f, ADD, UNLIMITED)
                .expect("not NaN");
        }
        // Redis 7.0: 7 bytes of listpack header/end + 10 * (1 + 8 + 1) for
        // members + 10 * 2 for small integer scores = 127 (jemalloc: 128);
        // "0.5"-style scores are 5-byte string entries (157 → 160); six of
        // the thirds are 19-character %.17g strings, 21-byte entries (241 →
        // 256). Here: 1 byte per integer score, 4 for an exact f32, else 8.
        assert_eq!(ints.heap_bytes(), 102);
        assert_eq!(halves.heap_bytes(), 132);
        assert_eq!(floats.heap_bytes(), 144);
        println!(
            "10-member sorted set heap bytes: integer scores {}, x.5 scores {}, thirds {}, skiplist {}; ZSet is {} bytes",
            ints.heap_bytes(),
            halves.heap_bytes(),
            floats.heap_bytes(),
            big.heap_bytes(),
            std::mem::size_of::<ZSet>()
        );
    }

    // -- randomized comparison against a sorted Vec -------------------------

    struct Model(Vec<(Vec<u8>, f64)>);

    impl Model {
        fn pos(&self, m: &[u8]) -> Option<usize> {
            self.0.iter().position(|(x, _)| x == m)
        }

        fn insert(&mut self, m: &[u8], s: f64) {
            let at = self
                .0
                .partition_point(|(x, y)| cmp_entry(*y, x, s, m) == Ordering::Less);
            self.0.insert(at, (m.to_vec(), s));
        }

        fn add(&mut self, m: &[u8], s: f64, f: AddFlags) -> Result<AddResult, ZSetError> {
            match self.pos(m) {
                Some(i) => {
                    let cur = self.0[i].1;
                    if f.nx {
                        return Ok(AddResult::Skipped);
                    }
                    let new = if f.incr { s + cur } else { s };
                    if new.is_nan() {
                        return Err(ZSetError::NotANumber);
                    }
                    if (f.lt && new >= cur) || (f.gt && new <= cur) {
                        return Ok(AddResult::Skipped);
                    }
                    if new == cur {
                        return Ok(AddResult::Unchanged(new));
                    }
                    self.0.remove(i);
                    self.insert(m, new);
                    Ok(AddResult::Updated(new))
                }
                None if f.xx => Ok(AddResult::Skipped),
                None => {
                    self.insert(m, s);
                    Ok(AddResult::Added(s))
                }
            }
        }

        fn rank_range(&self, start: i64, stop: i64, rev: bool) -> Vec<(Vec<u8>, f64)> {
            let n = self.0.len() as i64;
            let mut start = if start < 0 { n + start } else { start };
            let mut stop = if stop < 0 { n + stop } else { stop };
            start = start.max(0);
            if start > stop || start >= n {
                return Vec::new();
            }
            stop = stop.min(n - 1);
            let mut order = self.0.clone();
            if rev {
                order.reverse();
            }
            order[start as usize..=stop as usize].to_vec()
        }

        fn filtered(
            &self,
            keep: impl Fn(&[u8], f64) -> bool,
            limit: Limit,
            rev: bool,
        ) -> Vec<(Vec<u8>, f64)> {
            let mut hits: Vec<_> = self
                .0
                .iter()
                .filter(|(m, s)| keep(m, *s))
                .cloned()
                .collect();
            if rev {
                hits.reverse();
            }
            if limit.offset < 0 {
                return Vec::new();
            }
            let it = hits.into_iter().skip(limit.offset as usize);
            if limit.count < 0 {
                it.collect()
            } else {
                it.take(limit.count as usize).collect()
            }
        }
    }

    /// `-0` reads back as `0` from a listpack only (as in Redis), so the
    /// comparison ignores the sign of zero.
    fn unsigned_zero(s: f64) -> f64 {
        s + 0.0
    }

    fn to_owned(items: Vec<(&[u8], f64)>) -> Vec<(Vec<u8>, f64)> {
        items
            .into_iter()
            .map(|(m, s)| (m.to_vec(), unsigned_zero(s)))
            .collect()
    }

    fn popped(items: Vec<(Box<[u8]>, f64)>) -> Vec<(Vec<u8>, f64)> {
        items
            .into_iter()
            .map(|(m, s)| (m.into_vec(), unsigned_zero(s)))
            .collect()
    }

    fn unsigned_result(r: Result<AddResult, ZSetError>) -> Result<AddResult, ZSetError> {
        r.map(|r| match r {
            AddResult::Added(s) => AddResult::Added(unsigned_zero(s)),
            AddResult::Updated(s) => AddResult::Updated(unsigned_zero(s)),
            AddResult::Unchanged(s) => AddResult::Unchanged(unsigned_zero(s)),
            AddResult::Skipped => AddResult::Skipped,
        })
    }

    fn unsigned_model(items: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        items
            .iter()
            .map(|(m, s)| (m.clone(), unsigned_zero(*s)))
            .collect()
    }

    struct Rand(u64);

    impl Rand {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn int(&mut self, lo: i64, hi: i64) -> i64 {
            lo + self.below((hi - lo + 1) as u64) as i64
        }
    }

    const SCORES: &[f64] = &[
        f64::NEG_INFINITY,
        -1e10,
        -2.5,
        -1.0,
        -0.0,
        0.0,
        0.1,
        0.5,
        1.0,
        2.0,
        3.25,
        7.0,
        123_456_789_012.0,
        f64::INFINITY,
    ];

    fn member(r: &mut Rand) -> Vec<u8> {
        match r.below(10) {
            0..=5 => format!("m{}", r.below(400)).into_bytes(),
            6..=8 => (0..r.below(4))
                .map(|_| b"ab\0\xff"[r.below(4) as usize])
                .collect(),
            _ => vec![b'L'; 60 + r.below(10) as usize],
        }
    }

    fn bound(r: &mut Rand) -> String {
        let v = SCORES[r.below(SCORES.len() as u64) as usize];
        let text = if v.is_infinite() {
            if v > 0.0 {
                "+inf".to_string()
            } else {
                "-inf".to_string()
            }
        } else {
            format!("{v:?}")
        };
        if r.below(3) == 0 {
            format!("({text}")
        } else {
            text
        }
    }

    fn lex_bound(r: &mut Rand) -> Vec<u8> {
        match r.below(8) {
            0 => b"-".to_vec(),
            1 => b"+".to_vec(),
            n => {
                let mut b = vec![if n % 2 == 0 { b'[' } else { b'(' }];
                b.extend(member(r));
                b
            }
        }
    }

    /// Runs the same random operations on a listpack that never converts, a
    /// skiplist from the start, a set with the default thresholds and the
    /// model. With `lex`, every score is equal and the BYLEX family is tried.
    fn random_run(seed: u64, steps: usize, lex: bool) {
        let mut r = Rand(seed);
        let default = ZSetLimits::default();
        let mut sets = [ZSet::new(), ZSet::new_skiplist(), ZSet::new()];
        let limits = [UNLIMITED, UNLIMITED, default];
        let mut model = Model(Vec::new());
        let mut converted = false;
        let mut peak = 0;
        for step in 0..steps {
            let score = if lex {
                1.0
            } else {
                SCORES[r.below(SCORES.len() as u64) as usize]
            };
            let m = member(&mut r);
            // Weighted so that sets grow to a few hundred members.
            let op = match r.below(100) {
                0..=44 => 0,
                45..=49 => 4,
                50..=54 => 5,
                55..=61 => 6,
                62..=71 => 7,
                72..=74 => 9,
                75 => 10,
                76..=78 => 11,
                79..=84 => 12,
                85..=98 if lex => 13,
                99 if lex => 15,
                _ => 8,
            };
            let mut outputs: Vec<String> = Vec::new();
            let expected: String;
            match op {
                0..=3 => {
                    let flags = if lex {
                        AddFlags {
                            nx: r.below(4) == 0,
                            ..ADD
                        }
                    } else {
                        AddFlags {
                            nx: r.below(6) == 0,
                            xx: r.below(6) == 0,
                            gt: r.below(6) == 0,
                            lt: r.below(6) == 0,
                            incr: r.below(4) == 0,
                        }
                    };
                    expected = format!("{:?}", unsigned_result(model.add(&m, score, flags)));
                    for (z, l) in sets.iter_mut().zip(limits) {
                        outputs.push(format!("{:?}", unsigned_result(z.add(&m, score, flags, l))));
                    }
                }
                4 => {
                    let present = model.pos(&m);
                    if let Some(i) = present {
                        model.0.remove(i);
                    }
                    expected = format!("{}", present.is_some());
                    for z in sets.iter_mut() {
                        outputs.push(format!("{}", z.remove(&m)));
                    }
                }
                5 => {
                    let rev = r.below(2) == 0;
                    expected = format!(
                        "{:?} {:?}",
                        model.pos(&m).map(|i| unsigned_zero(model.0[i].1)),
                        model
                            .pos(&m)
                            .map(|i| if rev { model.0.len() - 1 - i } else { i })
                    );
                    for z in &sets {
                        outputs.push(format!(
                            "{:?} {:?}",
                            z.score(&m).map(unsigned_zero),
                            z.rank(&m, rev)
                        ));
                    }
                }
                6 => {
                    let n = model.0.len() as i64;
                    let (a, b, rev) = (r.int(-n - 3, n + 3), r.int(-n - 3, n + 3), r.below(2) == 0);
                    expected = format!("{:?}", unsigned_model(&model.rank_range(a, b, rev)));
                    for z in &sets {
                        outputs.push(format!("{:?}", to_owned(z.range_by_rank(a, b, rev))));
                    }
                }
                7 | 8 => {
                    let range = score_range(&bound(&mut r), &bound(&mut r));
                    let n = model.0.len() as i64;
                    let limit = if r.below(3) == 0 {
                        Limit::ALL
                    } else {
                        Limit {
                            offset: r.int(-1, n + 2),
                            count: r.int(-2, n + 2),
                        }
                    };
                    let rev = r.below(2) == 0;
                    let keep = |_: &[u8], s: f64| range.gte_min(s) && range.lte_max(s);
                    expected = format!(
                        "{:?} {}",
                        unsigned_model(&model.filtered(keep, limit, rev)),
                        model.filtered(keep, Limit::ALL, false).len()
                    );
                    for z in &sets {
                        outputs.push(format!(
                            "{:?} {}",
                            to_owned(z.range_by_score(&range, limit, rev)),
                            z.count_by_score(&range)
                        ));
                    }
                }
                9 => {
                    let n = model.0.len() as i64;
                    let (a, b) = (r.int(-n - 2, n + 2), r.int(-n - 2, n + 2));
                    // Keep the sets growing: remove narrow windows only.
                    let (a, b) = (a, a.saturating_add(b.rem_euclid(4)));
                    let gone = model.rank_range(a, b, false);
                    model.0.retain(|e| !gone.contains(e));
                    expected = format!("{}", gone.len());
                    for z in sets.iter_mut() {
                        outputs.push(format!("{}", z.remove_range_by_rank(a, b)));
                    }
                }
                10 => {
                    let v = SCORES[r.below(SCORES.len() as u64) as usize];
                    let range = ScoreRange {
                        min: v,
                        max: v,
                        min_exclusive: false,
                        max_exclusive: r.below(5) == 0,
                    };
                    let before = model.0.len();
                    model
                        .0
                        .retain(|(_, s)| !(range.gte_min(*s) && range.lte_max(*s)));
                    expected = format!("{}", before - model.0.len());
                    for z in sets.iter_mut() {
                        outputs.push(format!("{}", z.remove_range_by_score(&range)));
                    }
                }
                11 => {
                    let (count, max) = (r.below(4) as usize, r.below(2) == 0);
                    let k = count.min(model.0.len());
                    let gone: Vec<_> = if max {
                        model.0.drain(model.0.len() - k..).rev().collect()
                    } else {
                        model.0.drain(..k).collect()
                    };
                    expected = format!("{:?}", unsigned_model(&gone));
                    for z in sets.iter_mut() {
                        let p = if max {
                            z.pop_max(count)
                        } else {
                            z.pop_min(count)
                        };
                        outputs.push(format!("{:?}", popped(p)));
                    }
                }
                12 => {
                    let k = r.below(model.0.len() as u64 + 2) as usize;
                    expected = format!(
                        "{:?}",
                        model
                            .0
                            .get(k)
                            .map(|(m, s)| (m.as_slice(), unsigned_zero(*s)))
                    );
                    for z in &sets {
                        outputs.push(format!(
                            "{:?}",
                            z.get_by_rank(k).map(|(m, s)| (m, unsigned_zero(s)))
                        ));
                    }
                }
                _ => {
                    let (lo, hi) = (lex_bound(&mut r), lex_bound(&mut r));
                    let range = LexRange::parse(&lo, &hi).expect("generated valid");
                    let n = model.0.len() as i64;
                    let limit = Limit {
                        offset: r.int(-1, n + 1),
                        count: r.int(-2, n + 1),
                    };
                    let rev = r.below(2) == 0;
                    let keep = |m: &[u8], _: f64| range.gte_min(m) && range.lte_max(m);
                    if op == 15 {
                        let before = model.0.len();
                        model.0.retain(|(m, s)| !keep(m, *s));
                        expected = format!("{}", before - model.0.len());
                        for z in sets.iter_mut() {
                            outputs.push(format!("{}", z.remove_range_by_lex(&range)));
                        }
                    } else {
                        expected = format!(
                            "{:?} {}",
                            unsigned_model(&model.filtered(keep, limit, rev)),
                            model.filtered(keep, Limit::ALL, false).len()
                        );
                        for z in &sets {
                            outputs.push(format!(
                                "{:?} {}",
                                to_owned(z.range_by_lex(&range, limit, rev)),
                                z.count_by_lex(&range)
                            ));
                        }
                    }
                }
            }
            peak = peak.max(model.0.len());
            for (i, out) in outputs.iter().enumerate() {
                assert_eq!(out, &expected, "seed {seed} step {step} op {op} set {i}");
            }
            assert_eq!(sets[0].encoding(), "listpack");
            assert_eq!(sets[1].encoding(), "skiplist");
            let n = model.0.len();
            let fits = model
                .0
                .iter()
                .all(|(m, _)| m.len() <= default.max_listpack_value)
                && n <= 128;
            converted |= !fits && sets[2].encoding() == "skiplist";
            assert!(
                fits || sets[2].encoding() == "skiplist",
                "seed {seed} step {step}: should have converted"
            );
            if step % 97 == 0 || step + 1 == steps {
                for z in &sets {
                    assert_eq!(z.len(), n);
                    assert_eq!(
                        to_owned(z.iter().collect()),
                        unsigned_model(&model.0),
                        "seed {seed} step {step}"
                    );
                    let mut rev = unsigned_model(&model.0);
                    rev.reverse();
                    assert_eq!(to_owned(z.iter_rev().collect()), rev);
                    check_tree(z);
                }
            }
        }
        assert!(
            converted,
            "seed {seed}: the default-limit set never converted"
        );
        assert!(peak > 150, "seed {seed}: the sets stayed small ({peak})");
    }

    #[test]
    fn random_operations_agree_with_a_sorted_vec_on_both_encodings() {
        for seed in 1..=6 {
            random_run(seed, 3000, false);
        }
    }

    #[test]
    fn random_lex_operations_agree_with_a_sorted_vec_on_both_encodings() {
        for seed in 100..=103 {
            random_run(seed, 3000, true);
        }
    }
}
