//! Redis's HyperLogLog, byte for byte (Redis 7.0 `hyperloglog.c`).
//!
//! A HyperLogLog is an ordinary string value, so `GET`, `DUMP`/`RESTORE`,
//! `APPEND` or `SET` expose or overwrite its bytes; this module reads and
//! writes exactly the bytes Redis does, and treats every value it is given as
//! untrusted: a malformed one is an [`HllError`], never a panic.
//!
//! | bytes      | meaning                                                          |
//! |------------|------------------------------------------------------------------|
//! | 0..4       | magic `HYLL`                                                     |
//! | 4          | encoding: 0 dense, 1 sparse                                      |
//! | 5..8       | unused (kept as found, copied on sparse → dense)                 |
//! | 8..16      | cached cardinality, little endian; bit 7 of byte 15 set = stale  |
//! | dense: 16.. | 16384 registers × 6 bits, LSB first (12288 bytes)               |
//! | sparse: 16.. | run-length opcodes: ZERO `00xxxxxx` (1–64 zero registers), XZERO `01xxxxxx yyyyyyyy` (1–16384 zero registers), VAL `1vvvvvxx` (1–4 registers of value 1–32) |
//!
//! An element is hashed with MurmurHash64A (seed `0xadc83b19`); the low 14
//! bits pick the register, the register takes the position of the lowest set
//! bit among the other 50 (1–51). Cardinality is Ertl's improved estimator
//! ("New cardinality estimation algorithms for HyperLogLog sketches",
//! arXiv:1702.01284), as Redis computes it in `f64`.
//!
//! Commands map onto the functions like this (the caller does the key lookup
//! and the generic `WRONGTYPE` check for non-string values; a missing key is
//! an empty HLL everywhere except where noted):
//!
//! | command                      | call                                               |
//! |------------------------------|----------------------------------------------------|
//! | `PFADD key` (key missing)    | [`create`]; reply `1`                              |
//! | `PFADD key ele…` (key exists)| [`add`] on the raw string; reply `1` if it returns `true` |
//! | `PFCOUNT key`                | [`count`] on the raw string; it may rewrite the cache |
//! | `PFCOUNT key key…`           | [`count_union`] over the keys that exist; values untouched |
//! | `PFMERGE dest src…`          | [`merge_into`] with dest's value (or [`new_sparse`]) |
//!
//! Checked against redis-server 7.0.15 by the ignored test
//! `matches_live_redis` (replies and `GET` bytes after every command, valid
//! and damaged values); the offline tests pin fixtures taken from it. One
//! deliberate difference: a sparse value whose last opcode is an XZERO cut
//! off by the end of the string is read as Redis reads it (missing byte 0),
//! but splitting that opcode is refused as [`HllError::Corrupted`], where
//! Redis writes past the string's end and then depends on that hidden byte.

use std::fmt;

/// Bytes before the registers: magic, encoding, 3 unused, cached cardinality.
pub const HEADER_LEN: usize = 16;
/// Number of registers (Redis's `HLL_REGISTERS`, P = 14).
pub const REGISTERS: usize = 1 << P;
/// Length of a dense HLL string: header plus 16384 six-bit registers.
pub const DENSE_LEN: usize = HEADER_LEN + REGISTERS * 6 / 8;
/// Default of Redis's `hll-sparse-max-bytes` setting.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;

const P: u32 = 14;
/// Hash bits left after the register index; patterns are 1..=Q+1 long.
const Q: usize = 64 - P as usize;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const HASH_SEED: u64 = 0xadc8_3b19;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const STALE_BIT: u8 = 0x80;
/// 0.5 / ln 2, the estimator's bias constant for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Why a value cannot be used as a HyperLogLog. [`HllError::reply`] is the
/// exact Redis error line (without the leading `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// The header is wrong: too short, bad magic, unknown encoding, or a
    /// dense value of the wrong length (Redis's `isHLLObjectOrReply`).
    NotHll,
    /// The header is fine but the sparse opcodes do not describe exactly
    /// 16384 registers.
    Corrupted,
}

impl HllError {
    pub fn reply(self) -> &'static str {
        match self {
            HllError::NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupted => "INVALIDOBJ Corrupted HLL object detected",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reply())
    }
}

impl std::error::Error for HllError {}

/// What single-key `PFCOUNT` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The cardinality. Redis replies with it cast to a signed 64-bit
    /// integer, so send `cardinality as i64` (garbage registers can give
    /// `i64::MIN`, as in Redis).
    pub cardinality: u64,
    /// The cached cardinality was stale and has been rewritten, so the
    /// string's bytes changed: Redis signals the key as modified and counts
    /// a dirty change (the command is still read-only).
    pub cache_written: bool,
}

/// The value `PFADD`/`PFMERGE` create for a missing key (`createHLLObject`):
/// sparse, one XZERO opcode covering all registers, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = Vec::with_capacity(HEADER_LEN + 2);
    hll.extend_from_slice(b"HYLL");
    hll.push(SPARSE);
    hll.extend_from_slice(&[0; 11]);
    push_xzero(&mut hll, REGISTERS);
    hll
}

/// Whether a string passes Redis's `isHLLObjectOrReply` checks: at least a
/// header, magic `HYLL`, encoding 0 or 1, and a dense value exactly
/// [`DENSE_LEN`] long. Sparse opcodes are not checked here (Redis checks
/// them lazily, so a corrupted sparse value is only reported when read).
pub fn is_valid(hll: &[u8]) -> bool {
    hll.len() >= HEADER_LEN
        && hll.starts_with(b"HYLL")
        && match hll[4] {
            DENSE => hll.len() == DENSE_LEN,
            SPARSE => true,
            _ => false,
        }
}

/// `PFADD key ele…` on a missing key: a new sparse HLL holding the elements,
/// its cache marked stale (Redis counts the creation as an update, so the
/// reply is always 1).
pub fn create<I>(elements: I, sparse_max_bytes: usize) -> Vec<u8>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut hll = new_sparse();
    // A fresh sparse value cannot be corrupted, so every add succeeds; the
    // fallback keeps this total rather than asserting it.
    if add(&mut hll, elements, sparse_max_bytes).is_err() {
        hll = new_sparse();
    }
    invalidate_cache(&mut hll);
    hll
}

/// `PFADD key ele…` on an existing string: adds each element in order and
/// returns whether any register changed (the reply is then 1, and the cache
/// is marked stale). A sparse value is promoted to dense when a register
/// needs a value above 32 or an update would make the string longer than
/// `sparse_max_bytes` (`hll-sparse-max-bytes`).
///
/// Errors: [`HllError::NotHll`] before anything is touched;
/// [`HllError::Corrupted`] when a sparse value's opcodes end before the
/// element's register (or promotion finds them invalid). As in Redis,
/// registers updated by earlier elements of the same call stay updated
/// (with the cache marked stale), and opcodes past the element's register
/// are not checked.
pub fn add<I>(hll: &mut Vec<u8>, elements: I, sparse_max_bytes: usize) -> Result<bool, HllError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    check(hll)?;
    let mut updated = false;
    for element in elements {
        let (index, count) = pattern(element.as_ref());
        let changed = match hll[4] {
            DENSE => dense_set(&mut hll[HEADER_LEN..], index, count),
            _ => sparse_set(hll, index, count, sparse_max_bytes)?,
        };
        updated |= changed;
    }
    if updated {
        invalidate_cache(hll);
    }
    Ok(updated)
}

/// `PFCOUNT key` with a single key: the cached cardinality if it is
/// current, otherwise a fresh estimate that is written back into the header
/// (see [`Count::cache_written`]). The length never changes. Redis makes the
/// string raw (`dbUnshareStringValue`) before looking, whatever it finds.
///
/// Errors: [`HllError::NotHll`]; [`HllError::Corrupted`] for a sparse value
/// with a stale cache whose opcodes do not cover exactly 16384 registers (a
/// current cache is returned without looking at the registers, as Redis
/// does).
pub fn count(hll: &mut [u8]) -> Result<Count, HllError> {
    check(hll)?;
    let mut cached = [0; 8];
    cached.copy_from_slice(&hll[8..HEADER_LEN]);
    if cached[7] & STALE_BIT == 0 {
        return Ok(Count {
            cardinality: u64::from_le_bytes(cached),
            cache_written: false,
        });
    }
    let mut histogram = [0u32; 64];
    let registers = &hll[HEADER_LEN..];
    if hll[4] == DENSE {
        for value in dense_registers(registers) {
            histogram[usize::from(value)] += 1;
        }
    } else {
        let mut nonzero = 0;
        for_each_val_run(registers, |_, len, value| {
            histogram[usize::from(value)] += len as u32;
            nonzero += len as u32;
        })?;
        histogram[0] = REGISTERS as u32 - nonzero;
    }
    let cardinality = estimate(&histogram);
    hll[8..HEADER_LEN].copy_from_slice(&cardinality.to_le_bytes());
    Ok(Count {
        cardinality,
        cache_written: true,
    })
}

/// `PFCOUNT key key…` with several keys: the cardinality of the union,
/// computed on a temporary register array; no value is modified and caches
/// are ignored. Pass the values of the keys that exist, in argument order
/// (missing keys count as empty). Each value is checked in turn, so the
/// first bad one decides the error.
pub fn count_union(hlls: &[&[u8]]) -> Result<u64, HllError> {
    let mut max = [0u8; REGISTERS];
    for hll in hlls {
        check(hll)?;
        merge_max(&mut max, hll)?;
    }
    let mut histogram = [0u32; 64];
    for &value in &max {
        histogram[usize::from(value)] += 1;
    }
    Ok(estimate(&histogram))
}

/// `PFMERGE dest src…`: sets `dest`'s registers to the maximum over `dest`
/// itself and the sources (Redis merges the destination too). Pass dest's
/// current value, or [`new_sparse`] when the key is missing, and the values
/// of the sources that exist, in argument order.
///
/// Redis 7.0 keeps the destination's encoding unless some input (dest
/// included) is dense, in which case it becomes dense first; a sparse
/// destination is updated register by register and may still be promoted
/// by the `sparse_max_bytes` / value-above-32 rules. The cache is always
/// marked stale. On error `dest` is unchanged.
pub fn merge_into(
    dest: &mut Vec<u8>,
    sources: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<(), HllError> {
    let mut max = [0u8; REGISTERS];
    let mut use_dense = false;
    for hll in std::iter::once(&dest[..]).chain(sources.iter().copied()) {
        check(hll)?;
        use_dense |= hll[4] == DENSE;
        merge_max(&mut max, hll)?;
    }
    if use_dense {
        to_dense(dest)?;
    }
    for (index, &value) in max.iter().enumerate() {
        if value == 0 {
            continue;
        }
        if dest[4] == DENSE {
            dense_set(&mut dest[HEADER_LEN..], index, value);
        } else {
            sparse_set(dest, index, value, sparse_max_bytes)?;
        }
    }
    invalidate_cache(dest);
    Ok(())
}

fn check(hll: &[u8]) -> Result<(), HllError> {
    if is_valid(hll) {
        Ok(())
    } else {
        Err(HllError::NotHll)
    }
}

fn invalidate_cache(hll: &mut [u8]) {
    hll[HEADER_LEN - 1] |= STALE_BIT;
}

/// MurmurHash2, 64-bit version (MurmurHash64A), reading words little endian
/// as Redis's endian-neutral copy does.
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let mut k = word
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `0…01` pattern
/// (Redis's `hllPatLen`), 1..=51.
fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- dense registers --------------------------------------------------------

/// Every register of a dense value, in order: each 3 bytes hold 4 registers.
fn dense_registers(registers: &[u8]) -> impl Iterator<Item = u8> + '_ {
    registers.chunks_exact(3).flat_map(|b| {
        [
            b[0] & 63,
            (b[0] >> 6 | b[1] << 2) & 63,
            (b[1] >> 4 | b[2] << 4) & 63,
            b[2] >> 2,
        ]
    })
}

fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers[byte]) >> shift;
    let high = registers
        .get(byte + 1)
        .map_or(0, |&b| u16::from(b) << (8 - shift));
    ((low | high) & 63) as u8
}

/// Raises register `index` to `value` if it is lower (`hllDenseSet`);
/// returns whether it changed. `registers` is the 12288 bytes after the
/// header and `index` < 16384, which [`is_valid`] and [`pattern`] ensure.
fn dense_set(registers: &mut [u8], index: usize, value: u8) -> bool {
    if value <= dense_get(registers, index) {
        return false;
    }
    let bit = index * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let bits = u16::from(value & 63) << shift;
    let mask = 63u16 << shift;
    registers[byte] = (registers[byte] & !(mask as u8)) | bits as u8;
    if shift > 2 {
        registers[byte + 1] = (registers[byte + 1] & !((mask >> 8) as u8)) | (bits >> 8) as u8;
    }
    true
}

// ---- sparse opcodes ---------------------------------------------------------

/// One decoded sparse opcode.
#[derive(Clone, Copy)]
struct Opcode {
    /// Register value, 0 for ZERO and XZERO.
    value: u8,
    /// Registers covered.
    span: usize,
    /// Bytes taken: 2 for XZERO, 1 otherwise.
    size: usize,
}

/// Decodes the opcode at `at`. A byte past the end reads as 0, as the NUL
/// after an sds string does in Redis (an XZERO cut off at the very end).
fn opcode(bytes: &[u8], at: usize) -> Opcode {
    let b = bytes[at];
    if b & 0xc0 == 0 {
        Opcode {
            value: 0,
            span: usize::from(b & 0x3f) + 1,
            size: 1,
        }
    } else if b & 0x80 != 0 {
        Opcode {
            value: ((b >> 2) & 0x1f) + 1,
            span: usize::from(b & 0x03) + 1,
            size: 1,
        }
    } else {
        let low = bytes.get(at + 1).copied().unwrap_or(0);
        Opcode {
            value: 0,
            span: (usize::from(b & 0x3f) << 8 | usize::from(low)) + 1,
            size: 2,
        }
    }
}

fn val_opcode(value: u8, len: usize) -> u8 {
    0x80 | (value - 1) << 2 | (len - 1) as u8
}

/// Appends a ZERO (up to 64) or XZERO opcode for `len` zero registers.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(seq, len);
    } else {
        seq.push((len - 1) as u8);
    }
}

fn push_xzero(seq: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    seq.push(0x40 | (l >> 8) as u8);
    seq.push((l & 0xff) as u8);
}

/// Calls `f(first, len, value)` for every VAL run of the opcodes `ops`, and
/// checks they describe exactly 16384 registers. A VAL run reaching past the
/// last register is an error at once (Redis 7.0's `hllMerge`; even right
/// after a complete set of runs), so `f` only ever sees in-range registers.
fn for_each_val_run(ops: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), HllError> {
    let mut index = 0usize;
    let mut at = 0;
    while at < ops.len() {
        let op = opcode(ops, at);
        if op.value != 0 {
            if index + op.span > REGISTERS {
                return Err(HllError::Corrupted);
            }
            f(index, op.span, op.value);
        }
        index += op.span;
        if index > REGISTERS {
            // Already too many; stopping also keeps `index` from growing
            // with the length of a huge garbage string.
            return Err(HllError::Corrupted);
        }
        at += op.size;
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupted)
    }
}

/// `max[i] = max(max[i], register i)` over a value that passed [`check`]
/// (`hllMerge`).
fn merge_max(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), HllError> {
    let registers = &hll[HEADER_LEN..];
    if hll[4] == DENSE {
        for (slot, value) in max.iter_mut().zip(dense_registers(registers)) {
            *slot = (*slot).max(value);
        }
        Ok(())
    } else {
        for_each_val_run(registers, |first, len, value| {
            for slot in &mut max[first..first + len] {
                *slot = (*slot).max(value);
            }
        })
    }
}

/// Rewrites a sparse value as dense (`hllSparseToDense`), keeping the other
/// header bytes (cache included). Dense values are left alone; on error the
/// value is unchanged.
fn to_dense(hll: &mut Vec<u8>) -> Result<(), HllError> {
    if hll[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&hll[..HEADER_LEN]);
    dense[4] = DENSE;
    let registers = &mut dense[HEADER_LEN..];
    for_each_val_run(&hll[HEADER_LEN..], |first, len, value| {
        for index in first..first + len {
            dense_set(registers, index, value);
        }
    })?;
    *hll = dense;
    Ok(())
}

/// Raises register `index` of a sparse value to `count` if it is lower
/// (`hllSparseSet`), editing the opcodes in place exactly as Redis does, so
/// the resulting bytes match: the opcode covering the register is split into
/// at most ZERO/XZERO–VAL–ZERO/XZERO (or VAL–VAL–VAL), then up to five
/// opcodes from the one before it are scanned to merge equal adjacent VALs.
/// Promotes to dense (without marking the cache stale; callers do) when
/// `count` > 32 or the split would grow the string past `max_bytes`.
fn sparse_set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, HllError> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }

    // Step 1: find the opcode covering `index`.
    let end = hll.len();
    let mut at = HEADER_LEN;
    let mut first = 0usize;
    let mut prev = None;
    let mut found = None;
    while at < end {
        let op = opcode(hll, at);
        if index < first + op.span {
            found = Some(op);
            break;
        }
        prev = Some(at);
        at += op.size;
        first += op.span;
    }
    let Some(op) = found else {
        return Err(HllError::Corrupted);
    };

    // Step 2: update in place when the opcode covers only this register,
    // otherwise build the replacement sequence.
    if op.value != 0 {
        if op.value >= count {
            return Ok(false);
        }
        if op.span == 1 {
            hll[at] = val_opcode(count, 1);
            merge_adjacent_vals(hll, prev.unwrap_or(HEADER_LEN));
            return Ok(true);
        }
    } else if op.size == 1 && op.span == 1 {
        hll[at] = val_opcode(count, 1);
        merge_adjacent_vals(hll, prev.unwrap_or(HEADER_LEN));
        return Ok(true);
    }
    let last = first + op.span - 1;
    let mut seq = Vec::with_capacity(5);
    if op.value == 0 {
        if index != first {
            push_zeros(&mut seq, index - first);
        }
        seq.push(val_opcode(count, 1));
        if index != last {
            push_zeros(&mut seq, last - index);
        }
    } else {
        if index != first {
            seq.push(val_opcode(op.value, index - first));
        }
        seq.push(val_opcode(count, 1));
        if index != last {
            seq.push(val_opcode(op.value, last - index));
        }
    }

    // Step 3: splice it in, or promote if that would grow past the limit.
    if seq.len() > op.size && end + seq.len() - op.size > max_bytes {
        return promote(hll, index, count);
    }
    if at + op.size > end {
        // An XZERO cut off by the end of the string. Redis reads the missing
        // byte as its NUL terminator but splitting it writes past the end,
        // and later reads depend on that hidden byte: refuse instead.
        return Err(HllError::Corrupted);
    }
    hll.splice(at..at + op.size, seq);

    // Step 4.
    merge_adjacent_vals(hll, prev.unwrap_or(HEADER_LEN));
    Ok(true)
}

/// Step 4 of `hllSparseSet`: from `start`, look at up to five opcodes and
/// fold a VAL into the next one when both hold the same value and the run
/// fits in one opcode. Marks the cache stale.
fn merge_adjacent_vals(hll: &mut Vec<u8>, start: usize) {
    let mut at = start;
    let mut scans = 5;
    while at < hll.len() && scans > 0 {
        scans -= 1;
        let op = opcode(hll, at);
        if op.value == 0 {
            at += op.size;
            continue;
        }
        if at + 1 < hll.len() {
            let next = opcode(hll, at + 1);
            if next.value == op.value && op.span + next.span <= SPARSE_VAL_MAX_LEN {
                hll[at + 1] = val_opcode(op.value, op.span + next.span);
                hll.remove(at);
                // Try the merged run against the one after it.
                continue;
            }
        }
        at += 1;
    }
    invalidate_cache(hll);
}

/// The `promote:` path of `hllSparseSet`: convert, then set the register
/// (which always changes it, since the sparse form could not hold it).
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    to_dense(hll)?;
    Ok(dense_set(&mut hll[HEADER_LEN..], index, count))
}

// ---- estimator --------------------------------------------------------------

/// Ertl's σ(x); Redis's `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prev = z;
        z += x * y;
        y += y;
        if z == z_prev {
            return z;
        }
    }
}

/// Ertl's τ(x); Redis's `hllTau`. `pow(1 - x, 2)` is a plain square (the
/// C compiler folds it to one multiplication, which is exact).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == z_prev {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a histogram of register values, evaluated
/// in the same order as Redis's `hllCount`. Values above Q+1 (only possible
/// in garbage) are ignored, as there. Redis rounds with `llroundl`, which
/// yields `i64::MIN` for anything out of range (all-zero denominators from
/// garbage registers); that is reproduced as `1 << 63`.
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
    for &n in histogram[1..=Q].iter().rev() {
        z += f64::from(n);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let e = (ALPHA_INF * m * m / z).round();
    if e.is_finite() && e < 9_223_372_036_854_775_808.0 {
        e as u64
    } else {
        1 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic test data without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            let len = self.below(max_len + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    fn elements(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}:{i}")).collect()
    }

    /// (elements, hll-sparse-max-bytes) of the offline fixtures; elements
    /// are `fx{size}:{i}`, added in one go to a missing key.
    const FIXTURES_SHAPES: &[(usize, usize)] = &[
        (0, 3000),
        (1, 3000),
        (3, 3000),
        (10, 3000),
        (100, 3000),
        (1000, 3000),
        (5000, 3000),
        (100_000, 3000),
        (1000, 500),
        (100, 0),
    ];

    fn header(encoding: u8) -> Vec<u8> {
        let mut h = b"HYLL".to_vec();
        h.push(encoding);
        h.extend_from_slice(&[0; 10]);
        h.push(STALE_BIT);
        h
    }

    /// Replays a fixture shape as the live run does: one PFADD per 1000
    /// elements, the first creating the key.
    fn fixture_value(size: usize, sparse_max: usize) -> Vec<u8> {
        let all = elements(&format!("fx{size}"), size);
        let mut value: Option<Vec<u8>> = None;
        if all.is_empty() {
            value = Some(create(&all, sparse_max));
        }
        for chunk in all.chunks(1000) {
            match value.as_mut() {
                None => value = Some(create(chunk, sparse_max)),
                Some(v) => {
                    add(v, chunk, sparse_max).expect("valid");
                }
            }
        }
        value.expect("at least one PFADD")
    }

    /// From redis-server 7.0.15 (`matches_live_redis` prints this table):
    /// (elements, hll-sparse-max-bytes, FNV-1a of GET after the PFADDs,
    /// its length, PFCOUNT, FNV-1a of GET after that PFCOUNT).
    const FIXTURES: &[(usize, usize, u64, usize, u64, u64)] = &[
        (0, 3000, 0x524bc36d036c0579, 18, 0, 0xfd8f436a8f6e62f9),
        (1, 3000, 0x02702a2b73dc7603, 21, 1, 0x996f2fcdd2028afc),
        (3, 3000, 0x86f326cb19cbeb96, 26, 3, 0xdca7e94a6522bebd),
        (10, 3000, 0x249edfa4400a492f, 48, 10, 0x953537a3a8f85d25),
        (100, 3000, 0xec84b5ca8c1c7c81, 280, 100, 0xe0254b74ed985c95),
        (
            1000,
            3000,
            0x53e53d8b17bf01f5,
            1884,
            997,
            0x356291be869ab1dd,
        ),
        (
            5000,
            3000,
            0xafe9e754a19a87f9,
            12304,
            5035,
            0xbf69ff578bd2d153,
        ),
        (
            100_000,
            3000,
            0xb6bb75fbc2a11f55,
            12304,
            99661,
            0x76e534dc857b4bd2,
        ),
        (
            1000,
            500,
            0xdc453ca84661844e,
            12304,
            997,
            0x6dd13cfe6396152e,
        ),
        (100, 0, 0x24de55cadf679c00, 12304, 100, 0x79d17bdab9de29e4),
    ];

    #[test]
    fn fixture_shapes_match_the_fixture_table() {
        let shapes: Vec<(usize, usize)> = FIXTURES.iter().map(|f| (f.0, f.1)).collect();
        assert_eq!(shapes, FIXTURES_SHAPES);
    }

    #[test]
    fn pfadd_and_pfcount_bytes_match_redis_fixtures() {
        for &(size, sparse_max, hash, len, card, hash_after) in FIXTURES {
            let mut v = fixture_value(size, sparse_max);
            assert_eq!((v.len(), fnv1a(&v)), (len, hash), "PFADD of {size}");
            let c = count(&mut v).expect("valid");
            assert_eq!(c.cardinality, card, "PFCOUNT of {size}");
            assert!(c.cache_written);
            assert_eq!(fnv1a(&v), hash_after, "cache written by PFCOUNT of {size}");
        }
    }

    #[test]
    fn pfmerge_and_union_match_redis_fixtures() {
        let values: Vec<Vec<u8>> = FIXTURES
            .iter()
            .map(|&(size, max, ..)| {
                let mut v = fixture_value(size, max);
                count(&mut v).expect("valid");
                v
            })
            .collect();
        let all: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        assert_eq!(count_union(&all), Ok(106_054));

        // Sparse sources only: the destination stays sparse.
        let mut merged = new_sparse();
        merge_into(&mut merged, &all[..5], DEFAULT_SPARSE_MAX_BYTES).expect("valid");
        assert_eq!((merged.len(), fnv1a(&merged)), (308, 0xc88f2fb73c4e8e39));

        // A dense source makes the destination dense.
        let mut merged = new_sparse();
        merge_into(&mut merged, &all, DEFAULT_SPARSE_MAX_BYTES).expect("valid");
        assert_eq!(
            (merged.len(), fnv1a(&merged)),
            (DENSE_LEN, 0x037b1c0e2c44e970)
        );
        assert_eq!(count(&mut merged).map(|c| c.cardinality), Ok(106_054));
    }

    #[test]
    fn new_key_is_one_xzero_and_pfadd_marks_its_cache_stale() {
        assert_eq!(new_sparse(), hex("48594c4c0100000000000000000000007fff"));
        let empty: [&[u8]; 0] = [];
        let mut v = create(empty, DEFAULT_SPARSE_MAX_BYTES);
        assert_eq!(v, hex("48594c4c0100000000000000000000807fff"));
        assert_eq!(
            count(&mut v),
            Ok(Count {
                cardinality: 0,
                cache_written: true
            })
        );
    }

    #[test]
    fn small_sparse_bytes_match_redis() {
        let cases: &[(usize, &str)] = &[
            (1, "48594c4c0100000000000000000000804d008472fd"),
            (3, "48594c4c01000000000000000000008047888c158443758074e7"),
            (
                10,
                "48594c4c01000000000000000000008040bd9051cf90425988484480488d80429080450780\
                 44a08c482f80456280406d",
            ),
        ];
        for &(size, expected) in cases {
            assert_eq!(fixture_value(size, 3000), hex(expected), "{size} elements");
        }
        let mut abc = create(["a", "b", "c"], 3000);
        assert_eq!(
            abc,
            hex("48594c4c01000000000000000000008060f38050b1844bfb80425a")
        );
        assert_eq!(count(&mut abc).map(|c| c.cardinality), Ok(3));
        assert_eq!(
            abc,
            hex("48594c4c01000000030000000000000060f38050b1844bfb80425a")
        );
    }

    #[test]
    fn pfcount_reuses_a_current_cache_and_pfadd_without_change_keeps_it() {
        let mut v = fixture_value(100, 3000);
        assert!(count(&mut v).expect("valid").cache_written);
        let after_count = v.clone();
        assert_eq!(
            count(&mut v),
            Ok(Count {
                cardinality: 100,
                cache_written: false
            })
        );
        assert_eq!(add(&mut v, ["fx100:7"], 3000), Ok(false));
        assert_eq!(v, after_count);
        assert_eq!(add(&mut v, ["new"], 3000), Ok(true));
        assert_eq!(v[15] & STALE_BIT, STALE_BIT);
    }

    #[test]
    fn pfcount_trusts_a_current_cache_over_the_registers() {
        let mut v = header(DENSE);
        v.resize(DENSE_LEN, 0xff);
        v[8..16].copy_from_slice(&42u64.to_le_bytes());
        assert_eq!(count(&mut v).map(|c| c.cardinality), Ok(42));
    }

    #[test]
    fn register_above_32_promotes_sparse_to_dense() {
        // "86f8de7b" hashes to register 15571 with a pattern of 36.
        assert_eq!(pattern(b"86f8de7b"), (15571, 36));
        let mut v = create(["a", "b", "c"], 3000);
        assert_eq!(add(&mut v, ["86f8de7b"], 3000), Ok(true));
        assert_eq!((v.len(), fnv1a(&v)), (DENSE_LEN, 0x57caabee5cb68912));
        assert_eq!(count(&mut v).map(|c| c.cardinality), Ok(4));
        assert_eq!(fnv1a(&v), 0xa06884ba301bf736);
    }

    #[test]
    fn sparse_and_dense_forms_hold_the_same_registers() {
        let els = elements("agree", 2500);
        let mut sparse = create(&els, usize::MAX);
        let mut dense = create(&els, 0);
        assert_eq!((sparse[4], dense[4]), (SPARSE, DENSE));
        let (a, b) = (count(&mut sparse), count(&mut dense));
        assert_eq!(a, b);
        to_dense(&mut sparse).expect("valid");
        assert_eq!(sparse, dense);
    }

    #[test]
    fn garbage_registers_count_as_redis_does() {
        // Every register 63: the estimator's denominator is 0 and Redis
        // replies i64::MIN, writing 1 << 63 (so the cache stays stale).
        let mut v = header(DENSE);
        v.resize(DENSE_LEN, 0xff);
        let c = count(&mut v).expect("valid header");
        assert_eq!(c.cardinality as i64, i64::MIN);
        assert_eq!(&v[8..16], &[0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert!(count(&mut v).expect("valid header").cache_written);
    }

    #[test]
    fn bad_headers_are_not_hll() {
        let mut dense_short = header(DENSE);
        dense_short.resize(DENSE_LEN - 1, 0);
        let mut dense_long = header(DENSE);
        dense_long.resize(DENSE_LEN + 1, 0);
        let mut bad_magic = new_sparse();
        bad_magic[0] = b'h';
        let mut encoding_2 = new_sparse();
        encoding_2[4] = 2;
        let cases = [
            Vec::new(),
            b"HYLL".to_vec(),
            new_sparse()[..HEADER_LEN - 1].to_vec(),
            dense_short,
            dense_long,
            bad_magic,
            encoding_2,
            b"12345678901234567890".to_vec(),
        ];
        for bad in cases {
            assert!(!is_valid(&bad));
            let mut v = bad.clone();
            assert_eq!(add(&mut v, ["x"], 3000), Err(HllError::NotHll));
            assert_eq!(count(&mut v), Err(HllError::NotHll));
            assert_eq!(v, bad, "errors leave the value alone");
            let good = new_sparse();
            assert_eq!(count_union(&[&good, &bad]), Err(HllError::NotHll));
            let mut dest = new_sparse();
            assert_eq!(merge_into(&mut dest, &[&bad], 3000), Err(HllError::NotHll));
            assert_eq!(dest, new_sparse());
            assert_eq!(merge_into(&mut v, &[&good], 3000), Err(HllError::NotHll));
        }
        assert_eq!(
            HllError::NotHll.to_string(),
            "WRONGTYPE Key is not a valid HyperLogLog string value."
        );
        assert_eq!(
            HllError::Corrupted.to_string(),
            "INVALIDOBJ Corrupted HLL object detected"
        );
    }

    fn sparse_from(ops: &[u8]) -> Vec<u8> {
        let mut v = header(SPARSE);
        v.extend_from_slice(ops);
        v
    }

    #[test]
    fn sparse_opcodes_not_covering_16384_registers_are_corrupted() {
        let cases = [
            sparse_from(&[]),
            sparse_from(&[0x7f, 0xfe]),       // 16383 registers
            sparse_from(&[0x7f, 0xff, 0x00]), // 16385
            sparse_from(&[0x7f, 0xff, 0x80]), // a VAL after all 16384 (Redis 7.0 rejects it)
            sparse_from(&[0x7f, 0xfe, 0x81]), // a VAL run past the last register
            sparse_from(&[0xff; 40]),
        ];
        for bad in cases {
            assert!(is_valid(&bad), "the header is fine");
            let mut v = bad.clone();
            assert_eq!(count(&mut v), Err(HllError::Corrupted));
            assert_eq!(count_union(&[&bad]), Err(HllError::Corrupted));
            let mut dest = new_sparse();
            assert_eq!(
                merge_into(&mut dest, &[&bad], 3000),
                Err(HllError::Corrupted)
            );
            assert_eq!(dest, new_sparse());
            let mut v = bad.clone();
            assert_eq!(to_dense(&mut v), Err(HllError::Corrupted));
            assert_eq!(v, bad);
        }
    }

    #[test]
    fn pfadd_keeps_updates_made_before_reaching_corruption() {
        // Only registers 0..8192 are described.
        let half = sparse_from(&[0x5f, 0xff]);
        let low = (0..)
            .map(|i| format!("low{i}"))
            .find(|e| pattern(e.as_bytes()).0 < 8192)
            .expect("some element");
        let high = (0..)
            .map(|i| format!("high{i}"))
            .find(|e| pattern(e.as_bytes()).0 >= 8192)
            .expect("some element");
        let mut v = half.clone();
        assert_eq!(add(&mut v, [&low, &high], 3000), Err(HllError::Corrupted));
        assert_ne!(v, half);
        assert_eq!(v[15] & STALE_BIT, STALE_BIT);
    }

    #[test]
    fn xzero_cut_off_at_the_end_reads_its_missing_byte_as_zero() {
        // XZERO 255, then 0x7f without its second byte: 255 + 16129 registers,
        // which Redis 7.0 counts (0) and merges.
        let mut v = sparse_from(&[0x40, 0xfe, 0x7f]);
        assert_eq!(count(&mut v).map(|c| c.cardinality), Ok(0));
        let mut dest = new_sparse();
        merge_into(&mut dest, &[&v], 3000).expect("valid as Redis reads it");
        assert_eq!(dest, hex("48594c4c0100000000000000000000807fff"));
        // Splitting it would write past the end in Redis: refused here.
        let inside = (0..)
            .map(|i| format!("cut{i}"))
            .find(|e| pattern(e.as_bytes()).0 >= 255)
            .expect("some element");
        let before = v.clone();
        assert_eq!(add(&mut v, [&inside], 3000), Err(HllError::Corrupted));
        assert_eq!(v, before);
    }

    /// Random damage to real values and random bytes: every call returns,
    /// and values that were HLLs stay HLLs.
    #[test]
    fn random_corruption_never_panics() {
        let mut rng = Rng(0x5eed);
        let seeds = [
            fixture_value(10, 3000),
            fixture_value(1000, 3000),
            fixture_value(5000, 3000),
            sparse_from(&[0x7f, 0xff]),
        ];
        let good = fixture_value(100, 3000);
        for round in 0..1000 {
            let mut v = match round % 5 {
                0 => rng.bytes(64),
                1 => {
                    let mut v = header(rng.below(3) as u8);
                    let tail = rng.bytes(80);
                    v.extend_from_slice(&tail);
                    v
                }
                _ => seeds[rng.below(seeds.len())].clone(),
            };
            for _ in 0..rng.below(6) {
                let len = v.len();
                match rng.below(4) {
                    0 if len > 0 => v[rng.below(len)] = rng.next() as u8,
                    1 if len > HEADER_LEN => v.truncate(HEADER_LEN + rng.below(len - HEADER_LEN)),
                    2 => {
                        let tail = rng.bytes(8);
                        v.extend_from_slice(&tail);
                    }
                    _ if len > HEADER_LEN => {
                        let at = HEADER_LEN + rng.below(len - HEADER_LEN);
                        v[at] = 0x80 | rng.next() as u8;
                    }
                    _ => {}
                }
            }
            let was_valid = is_valid(&v);
            let max = [0, 20, 3000][rng.below(3)];
            let _ = count_union(&[&v, &good]);
            let mut dest = good.clone();
            let merged = merge_into(&mut dest, &[&v], max);
            assert!(merged.is_err() || is_valid(&dest));
            let _ = merge_into(&mut v.clone(), &[&good], max);
            let n = rng.below(20);
            let els: Vec<Vec<u8>> = (0..n).map(|_| rng.bytes(12)).collect();
            let _ = add(&mut v, &els, max);
            let _ = count(&mut v);
            assert_eq!(is_valid(&v), was_valid);
        }
    }

    /// Differential run against a real redis-server 7.0 on loopback:
    /// `SHOAL_HLL_REDIS_PORT=17556 cargo test -p shoal-store hll -- --ignored --nocapture`
    /// (`SHOAL_HLL_SEED=n` varies the random part).
    /// Every command goes to Redis and to a model built on this module; the
    /// replies and the `GET` bytes of every touched key must be identical.
    #[test]
    #[ignore = "needs redis-server 7.0; set SHOAL_HLL_REDIS_PORT"]
    fn matches_live_redis() {
        let port: u16 = std::env::var("SHOAL_HLL_REDIS_PORT")
            .expect("SHOAL_HLL_REDIS_PORT")
            .parse()
            .expect("port");
        let mut d = live::Diff::connect(port);
        d.run_all();
        println!("{}", d.summary());
    }

    mod live {
        use super::*;
        use std::collections::HashMap;
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::TcpStream;

        #[derive(Debug, PartialEq)]
        pub enum Reply {
            Status(Vec<u8>),
            Error(Vec<u8>),
            Int(i64),
            Bulk(Option<Vec<u8>>),
        }

        pub struct Redis {
            out: TcpStream,
            input: BufReader<TcpStream>,
        }

        impl Redis {
            fn call(&mut self, args: &[&[u8]]) -> Reply {
                let mut req = format!("*{}\r\n", args.len()).into_bytes();
                for a in args {
                    req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    req.extend_from_slice(a);
                    req.extend_from_slice(b"\r\n");
                }
                self.out.write_all(&req).expect("write");
                let mut line = Vec::new();
                self.input.read_until(b'\n', &mut line).expect("read");
                let body = line[1..line.len() - 2].to_vec();
                match line[0] {
                    b'+' => Reply::Status(body),
                    b'-' => Reply::Error(body),
                    b':' => Reply::Int(String::from_utf8(body).unwrap().parse().unwrap()),
                    b'$' => {
                        let n: i64 = String::from_utf8(body).unwrap().parse().unwrap();
                        if n < 0 {
                            return Reply::Bulk(None);
                        }
                        let mut buf = vec![0; n as usize + 2];
                        self.input.read_exact(&mut buf).expect("read bulk");
                        buf.truncate(n as usize);
                        Reply::Bulk(Some(buf))
                    }
                    other => panic!("unexpected reply type {other}"),
                }
            }
        }

        /// The same commands as Redis runs, on this module.
        #[derive(Default)]
        struct Model {
            keys: HashMap<Vec<u8>, Vec<u8>>,
            sparse_max: usize,
        }

        fn err(e: HllError) -> Reply {
            Reply::Error(e.reply().as_bytes().to_vec())
        }

        impl Model {
            fn pfadd(&mut self, key: &[u8], elements: &[Vec<u8>]) -> Reply {
                match self.keys.get_mut(key) {
                    None => {
                        self.keys
                            .insert(key.to_vec(), create(elements, self.sparse_max));
                        Reply::Int(1)
                    }
                    Some(v) => match add(v, elements, self.sparse_max) {
                        Ok(changed) => Reply::Int(i64::from(changed)),
                        Err(e) => err(e),
                    },
                }
            }

            fn pfcount(&mut self, keys: &[Vec<u8>]) -> Reply {
                if keys.len() == 1 {
                    return match self.keys.get_mut(&keys[0]) {
                        None => Reply::Int(0),
                        Some(v) => match count(v) {
                            Ok(c) => Reply::Int(c.cardinality as i64),
                            Err(e) => err(e),
                        },
                    };
                }
                let values: Vec<&[u8]> = keys
                    .iter()
                    .filter_map(|k| self.keys.get(k).map(|v| &v[..]))
                    .collect();
                match count_union(&values) {
                    Ok(n) => Reply::Int(n as i64),
                    Err(e) => err(e),
                }
            }

            fn pfmerge(&mut self, dest: &[u8], sources: &[Vec<u8>]) -> Reply {
                let mut value = self.keys.get(dest).cloned().unwrap_or_else(new_sparse);
                let values: Vec<&[u8]> = sources
                    .iter()
                    .filter_map(|k| self.keys.get(k).map(|v| &v[..]))
                    .collect();
                match merge_into(&mut value, &values, self.sparse_max) {
                    Ok(()) => {
                        self.keys.insert(dest.to_vec(), value);
                        Reply::Status(b"OK".to_vec())
                    }
                    Err(e) => err(e),
                }
            }
        }

        pub struct Diff {
            redis: Redis,
            model: Model,
            rng: Rng,
            commands: usize,
            compared_values: usize,
            errors_seen: usize,
        }

        impl Diff {
            pub fn connect(port: u16) -> Diff {
                let out = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                let input = BufReader::new(out.try_clone().expect("clone"));
                let mut d = Diff {
                    redis: Redis { out, input },
                    model: Model::default(),
                    rng: Rng(std::env::var("SHOAL_HLL_SEED")
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0x9e37_79b9_7f4a_7c15)),
                    commands: 0,
                    compared_values: 0,
                    errors_seen: 0,
                };
                d.redis.call(&[b"FLUSHALL"]);
                d.set_sparse_max(DEFAULT_SPARSE_MAX_BYTES);
                d
            }

            pub fn summary(&self) -> String {
                format!(
                    "{} commands, {} values compared byte for byte, {} error replies, all identical",
                    self.commands, self.compared_values, self.errors_seen
                )
            }

            fn set_sparse_max(&mut self, n: usize) {
                let n_s = n.to_string();
                let r =
                    self.redis
                        .call(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", n_s.as_bytes()]);
                assert_eq!(r, Reply::Status(b"OK".to_vec()));
                self.model.sparse_max = n;
            }

            fn set(&mut self, key: &[u8], value: &[u8]) {
                self.redis.call(&[b"SET", key, value]);
                self.model.keys.insert(key.to_vec(), value.to_vec());
            }

            fn del(&mut self, key: &[u8]) {
                self.redis.call(&[b"DEL", key]);
                self.model.keys.remove(key);
            }

            fn compare_value(&mut self, key: &[u8], context: &str) {
                let theirs = match self.redis.call(&[b"GET", key]) {
                    Reply::Bulk(v) => v,
                    other => panic!("GET gave {other:?}"),
                };
                let ours = self.model.keys.get(key).cloned();
                if theirs != ours {
                    panic!(
                        "value of {} differs after {context}:\nredis {:?}\nshoal {:?}",
                        String::from_utf8_lossy(key),
                        theirs.as_deref().map(hexdump),
                        ours.as_deref().map(hexdump)
                    );
                }
                self.compared_values += 1;
            }

            fn check(&mut self, theirs: Reply, ours: Reply, context: &str) {
                assert_eq!(theirs, ours, "reply differs for {context}");
                if matches!(theirs, Reply::Error(_)) {
                    self.errors_seen += 1;
                }
                self.commands += 1;
            }

            pub fn pfadd(&mut self, key: &[u8], elements: &[Vec<u8>]) {
                let mut args: Vec<&[u8]> = vec![b"PFADD", key];
                args.extend(elements.iter().map(|e| &e[..]));
                let before = self.model.keys.get(key).map(|v| hexdump(v));
                let theirs = self.redis.call(&args);
                let ours = self.model.pfadd(key, elements);
                let context = format!(
                    "PFADD of {} elements, sparse max {}, to {before:?}",
                    elements.len(),
                    self.model.sparse_max
                );
                self.check(theirs, ours, &context);
                self.compare_value(key, "PFADD");
            }

            pub fn pfcount(&mut self, keys: &[Vec<u8>]) {
                let mut args: Vec<&[u8]> = vec![b"PFCOUNT"];
                args.extend(keys.iter().map(|e| &e[..]));
                let before: Vec<String> = keys
                    .iter()
                    .map(|k| self.model.keys.get(k).map_or("-".into(), |v| hexdump(v)))
                    .collect();
                let theirs = self.redis.call(&args);
                let ours = self.model.pfcount(keys);
                self.check(theirs, ours, &format!("PFCOUNT of {before:?}"));
                for k in keys {
                    self.compare_value(k, "PFCOUNT");
                }
            }

            pub fn pfmerge(&mut self, dest: &[u8], sources: &[Vec<u8>]) {
                let mut args: Vec<&[u8]> = vec![b"PFMERGE", dest];
                args.extend(sources.iter().map(|e| &e[..]));
                let theirs = self.redis.call(&args);
                let ours = self.model.pfmerge(dest, sources);
                self.check(theirs, ours, "PFMERGE");
                self.compare_value(dest, "PFMERGE");
            }

            fn random_elements(&mut self, n: usize) -> Vec<Vec<u8>> {
                (0..n)
                    .map(|_| {
                        if self.rng.below(2) == 0 {
                            format!("e{}", self.rng.next() % 1_000_000).into_bytes()
                        } else {
                            self.rng.bytes(40)
                        }
                    })
                    .collect()
            }

            /// Grows `key` to about `size` elements in random batches,
            /// counting along the way.
            fn grow(&mut self, key: &[u8], size: usize) {
                if size == 0 {
                    self.pfadd(key, &[]);
                }
                let mut added = 0;
                while added < size {
                    let batch =
                        (1 + self.rng.below(if size > 5000 { 500 } else { 40 })).min(size - added);
                    let elements = self.random_elements(batch);
                    self.pfadd(key, &elements);
                    added += batch;
                    if self.rng.below(8) == 0 {
                        self.pfcount(&[key.to_vec()]);
                    }
                }
                self.pfcount(&[key.to_vec()]);
                self.pfcount(&[key.to_vec()]);
                // Re-adding known elements changes nothing and keeps the cache.
                let again = vec![b"e1".to_vec(), b"e1".to_vec()];
                self.pfadd(key, &again);
                self.pfcount(&[key.to_vec()]);
            }

            pub fn run_all(&mut self) {
                self.fixtures();
                self.growth();
                self.merges_and_unions();
                self.garbage();
                self.set_sparse_max(DEFAULT_SPARSE_MAX_BYTES);
            }

            /// The scenarios `fixtures_match_redis` replays offline; prints
            /// the table from Redis's bytes.
            fn fixtures(&mut self) {
                for &(size, sparse_max) in FIXTURES_SHAPES {
                    self.set_sparse_max(sparse_max);
                    let key = format!("fx:{size}:{sparse_max}").into_bytes();
                    self.del(&key);
                    let all: Vec<Vec<u8>> = elements(&format!("fx{size}"), size)
                        .into_iter()
                        .map(String::into_bytes)
                        .collect();
                    if all.is_empty() {
                        self.pfadd(&key, &[]);
                    }
                    for chunk in all.chunks(1000) {
                        self.pfadd(&key, chunk);
                    }
                    let before = self.model.keys[&key].clone();
                    self.pfcount(std::slice::from_ref(&key));
                    let after = self.model.keys[&key].clone();
                    let n = u64::from_le_bytes(after[8..16].try_into().unwrap());
                    println!(
                        "({size}, {sparse_max}, {:#018x}, {}, {n}, {:#018x}),",
                        fnv1a(&before),
                        before.len(),
                        fnv1a(&after)
                    );
                    if before.len() <= 64 {
                        println!("    small {size}: {}", hexdump(&before));
                    }
                }
                let keys: Vec<Vec<u8>> = FIXTURES_SHAPES
                    .iter()
                    .map(|&(s, m)| format!("fx:{s}:{m}").into_bytes())
                    .collect();
                self.pfcount(&keys);
                self.set_sparse_max(DEFAULT_SPARSE_MAX_BYTES);
                self.pfmerge(b"fx:merged", &keys[..5]);
                let v = self.model.keys[&b"fx:merged"[..]].clone();
                println!("merged sparse: {:#018x} {}", fnv1a(&v), v.len());
                self.pfmerge(b"fx:merged-all", &keys);
                let v = self.model.keys[&b"fx:merged-all"[..]].clone();
                println!("merged all: {:#018x} {}", fnv1a(&v), v.len());
                if let Reply::Int(n) = self.model.pfcount(&keys) {
                    println!("union: {n}");
                }
            }

            fn growth(&mut self) {
                let sizes = [0, 1, 10, 100, 1000, 5000, 100_000];
                for sparse_max in [3000, 0, 100, 1000, 12000] {
                    self.set_sparse_max(sparse_max);
                    for &size in &sizes {
                        if size == 100_000 && sparse_max != 3000 && sparse_max != 12000 {
                            continue;
                        }
                        let key = format!("g:{size}:{sparse_max}").into_bytes();
                        self.del(&key);
                        self.grow(&key, size);
                    }
                }
            }

            fn existing_keys(&self) -> Vec<Vec<u8>> {
                let mut keys: Vec<Vec<u8>> = self
                    .model
                    .keys
                    .keys()
                    .filter(|k| k.starts_with(b"g:"))
                    .cloned()
                    .collect();
                keys.sort();
                keys
            }

            fn merges_and_unions(&mut self) {
                self.set_sparse_max(DEFAULT_SPARSE_MAX_BYTES);
                let keys = self.existing_keys();
                for round in 0..300 {
                    if round % 50 == 0 {
                        let m = [0, 50, 3000, 20000][self.rng.below(4)];
                        self.set_sparse_max(m);
                    }
                    let n = 1 + self.rng.below(4);
                    let mut sources: Vec<Vec<u8>> = (0..n)
                        .map(|_| keys[self.rng.below(keys.len())].clone())
                        .collect();
                    if self.rng.below(4) == 0 {
                        sources.push(b"missing".to_vec());
                    }
                    let dest = format!("m:{round}").into_bytes();
                    match self.rng.below(4) {
                        0 => {}
                        1 => {
                            let size = self.rng.below(300);
                            self.grow(&dest, size);
                        }
                        2 => {
                            let src = keys[self.rng.below(keys.len())].clone();
                            let v = self.model.keys[&src].clone();
                            self.set(&dest, &v);
                        }
                        _ => {
                            sources.push(dest.clone());
                        }
                    }
                    self.pfmerge(&dest, &sources);
                    self.pfcount(std::slice::from_ref(&dest));
                    sources.push(dest.clone());
                    self.pfcount(&sources);
                    let n = self.rng.below(50);
                    let more = self.random_elements(n);
                    self.pfadd(&dest, &more);
                    self.pfcount(std::slice::from_ref(&dest));
                }
            }

            fn garbage_value(&mut self, valid: &[Vec<u8>]) -> Vec<u8> {
                match self.rng.below(9) {
                    0 => self.rng.bytes(40),
                    1 => {
                        let mut v = header(self.rng.below(4) as u8);
                        v.truncate(self.rng.below(HEADER_LEN + 1));
                        v
                    }
                    2 => {
                        let mut v = header(DENSE);
                        let len = DENSE_LEN - HEADER_LEN + self.rng.below(3) - 1;
                        v.extend(std::iter::repeat_n(0xff, len));
                        v
                    }
                    3 => {
                        let mut v = header(SPARSE);
                        let tail = self.rng.bytes(60);
                        v.extend_from_slice(&tail);
                        v
                    }
                    4 if self.rng.below(2) == 0 => {
                        // A complete sparse value with one more VAL after it.
                        let mut v = valid[self.rng.below(valid.len())].clone();
                        if v[4] == SPARSE {
                            v.push(0x80 | self.rng.next() as u8);
                        }
                        v
                    }
                    4 => {
                        // Dense, random registers and cache.
                        let mut v = header(DENSE);
                        for _ in HEADER_LEN..DENSE_LEN {
                            v.push(self.rng.next() as u8);
                        }
                        if self.rng.below(2) == 0 {
                            v[15] &= 0x7f;
                        }
                        v
                    }
                    _ => {
                        // A real HLL, damaged a little.
                        let mut v = valid[self.rng.below(valid.len())].clone();
                        if v[4] == DENSE && self.rng.below(3) != 0 {
                            let at = HEADER_LEN + self.rng.below(DENSE_LEN - HEADER_LEN);
                            v[at] = self.rng.next() as u8;
                            return v;
                        }
                        for _ in 0..1 + self.rng.below(3) {
                            match self.rng.below(4) {
                                0 if v.len() > HEADER_LEN => {
                                    let at = HEADER_LEN + self.rng.below(v.len() - HEADER_LEN);
                                    v[at] = self.rng.next() as u8;
                                }
                                1 => {
                                    let to = HEADER_LEN + self.rng.below(v.len() - HEADER_LEN + 1);
                                    v.truncate(to);
                                }
                                2 => {
                                    let tail = self.rng.bytes(4);
                                    v.extend_from_slice(&tail);
                                }
                                _ => v[15] ^= 0x80,
                            }
                        }
                        v
                    }
                }
            }

            fn garbage(&mut self) {
                let valid: Vec<Vec<u8>> = self
                    .existing_keys()
                    .iter()
                    .map(|k| self.model.keys[k].clone())
                    .filter(|v| v.len() < 2000)
                    .collect();
                let good = self.existing_keys()[0].clone();
                for round in 0..3000 {
                    if round % 500 == 0 {
                        let m = [0, 40, 3000][self.rng.below(3)];
                        self.set_sparse_max(m);
                    }
                    let key = format!("bad:{round}").into_bytes();
                    let mut value = self.garbage_value(&valid);
                    while ends_in_cut_xzero(&value) {
                        value = self.garbage_value(&valid);
                    }
                    self.set(&key, &value);
                    match self.rng.below(5) {
                        0 => self.pfcount(std::slice::from_ref(&key)),
                        1 => self.pfcount(&[good.clone(), key.clone()]),
                        2 => {
                            let dest = format!("bad-dest:{round}").into_bytes();
                            self.pfmerge(&dest, &[good.clone(), key.clone()]);
                        }
                        3 => self.pfmerge(&key, std::slice::from_ref(&good)),
                        _ => {}
                    }
                    let n = self.rng.below(30);
                    let elements = self.random_elements(n);
                    self.pfadd(&key, &elements);
                    self.pfcount(std::slice::from_ref(&key));
                    self.del(&key);
                }
            }
        }

        /// Values where Redis's behaviour depends on bytes past the end of
        /// the string (see `sparse_set`), which this module refuses.
        fn ends_in_cut_xzero(v: &[u8]) -> bool {
            if !is_valid(v) || v[4] != SPARSE {
                return false;
            }
            let mut at = HEADER_LEN;
            while at < v.len() {
                let op = opcode(v, at);
                if at + op.size > v.len() {
                    return true;
                }
                at += op.size;
            }
            false
        }

        fn hexdump(b: &[u8]) -> String {
            b.iter().map(|x| format!("{x:02x}")).collect()
        }
    }
}
