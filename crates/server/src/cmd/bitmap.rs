//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO, with Redis 7.0's argument order, errors and quirks.
//!
//! A bitmap is an ordinary string value; bit 0 is the most significant bit
//! of the first byte. Writes grow the string with zero bytes, and every bit
//! offset a client names is checked against `proto-max-bulk-len` first, so
//! no request can make a string longer than the largest one a client could
//! send. Nothing here indexes a string without a bounds check.

use bytes::Bytes;
use shoal_proto::Reply;
use shoal_store::{Shard, Str, Value};

use super::string::as_str;
use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{c_string, CmdError, CmdResult};

const W: &[&str] = &["write", "denyoom"];
const RF: &[&str] = &["readonly", "fast"];
const R: &[&str] = &["readonly"];
const BIT_W: &[&str] = &["@write", "@bitmap", "@slow"];
const BIT_RF: &[&str] = &["@read", "@bitmap", "@fast"];
const BIT_R: &[&str] = &["@read", "@bitmap", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd("setbit", 4, W, (1, 1, 1), BIT_W, "bitmap", "2.2.0",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        "key offset value", setbit),
    cmd("getbit", 3, RF, (1, 1, 1), BIT_RF, "bitmap", "2.2.0", "Returns a bit value by offset.", "key offset", getbit),
    cmd("bitcount", -2, R, (1, 1, 1), BIT_R, "bitmap", "2.6.0",
        "Counts the number of set bits (population counting) in a string.", "key [start end [BYTE|BIT]]", bitcount),
    cmd("bitpos", -3, R, (1, 1, 1), BIT_R, "bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.",
        "key bit [start [end [BYTE|BIT]]]", bitpos),
    cmd("bitop", -4, W, (2, -1, 1), BIT_W, "bitmap", "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result.", "operation destkey key [key ...]", bitop),
    cmd("bitfield", -2, W, (1, 1, 1), BIT_W, "bitmap", "3.2.0",
        "Performs arbitrary bitfield integer operations on strings.",
        "key [GET encoding offset] [SET encoding offset value] [INCRBY encoding offset increment] [OVERFLOW WRAP|SAT|FAIL]",
        bitfield),
    cmd("bitfield_ro", -2, RF, (1, 1, 1), BIT_RF, "bitmap", "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings.", "key [GET encoding offset]", bitfield_ro),
];

fn offset_error() -> CmdError {
    CmdError::other("ERR bit offset is not an integer or out of range")
}

/// An option word as Redis's `strcasecmp` sees it: up to the first NUL.
fn is(arg: &[u8], word: &str) -> bool {
    eq(c_string(arg, usize::MAX), word)
}

/// A bit offset argument (Redis's `getBitOffsetFromArgument`). With
/// `field_bits`, `#N` means the N-th field of that width. The string the
/// offset needs (`offset / 8 + 1` bytes) must fit in `proto-max-bulk-len`:
/// the limit `check_size` applies to the string commands, reported with
/// Redis's bit-offset error (at the default 512 MB: offsets below 2^32).
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let (digits, multiplier) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    // Redis multiplies in a C `long long`; a wrapped product fails the checks below.
    let offset = shoal_proto::number::string2ll(digits)
        .ok_or_else(offset_error)?
        .wrapping_mul(multiplier);
    let offset = u64::try_from(offset).map_err(|_| offset_error())?;
    if (offset >> 3) >= ctx.node.config.read().proto_max_bulk_len {
        return Err(offset_error());
    }
    Ok(offset)
}

/// The string at `key` made writable and grown with zero bytes to hold bit
/// `max_bit`, created if absent (Redis's `lookupStringForBitCommand`).
/// `max_bit` comes from [`bit_offset`] plus at most 63, so the string stays
/// within `proto-max-bulk-len` plus 8 bytes.
fn bits_for_write<'s>(
    ctx: &mut Ctx<'_>,
    shard: &'s mut Shard,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'s mut Vec<u8>, bool), CmdError> {
    let need = usize::try_from(max_bit >> 3)
        .ok()
        .and_then(|n| n.checked_add(1))
        .ok_or_else(offset_error)?;
    let existed = shard.lookup(key, ctx.now).is_some();
    if !existed {
        shard.insert(key, ctx.entry(Value::Str(Str::Raw(vec![0; need]))));
    }
    let entry = shard
        .lookup(key, ctx.now)
        .expect("the key was just found or inserted under the shard lock");
    if existed {
        ctx.touch(entry);
    }
    let bytes = as_str(entry)?.make_raw();
    let grown = !existed || bytes.len() < need;
    if bytes.len() < need {
        bytes.resize(need, 0);
    }
    Ok((bytes, grown))
}

/// Bit `offset` of `bytes`, 0 past the end.
fn bit_at(bytes: &[u8], offset: u64) -> u8 {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get(i))
        .map_or(0, |b| (b >> (7 - (offset & 7))) & 1)
}

/// Sets bit `offset` of `bytes` to `bit`; the caller has grown `bytes` to hold it.
fn set_bit_at(bytes: &mut [u8], offset: u64, bit: u8) {
    if let Some(b) = usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get_mut(i))
    {
        let shift = 7 - (offset & 7);
        *b = (*b & !(1 << shift)) | ((bit & 1) << shift);
    }
}

/// `SETBIT key offset value`
fn setbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &argv[2], None)?;
    let bit_error = || CmdError::other("ERR bit is not an integer or out of range");
    let on = shoal_proto::number::string2ll(&argv[3]).ok_or_else(bit_error)?;
    if on & !1 != 0 {
        return Err(bit_error());
    }
    let mut shard = ctx.db().lock(&argv[1]);
    let (bytes, grown) = bits_for_write(ctx, &mut shard, &argv[1], offset)?;
    let old = bit_at(bytes, offset);
    set_bit_at(bytes, offset, on as u8);
    drop(shard);
    // Redis 7.0 signals only a real change: a new bit value or a longer string.
    if grown || i64::from(old) != on {
        ctx.modified(&argv[1]);
    }
    ctx.out.int(i64::from(old));
    Ok(())
}

/// `GETBIT key offset`
fn getbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &argv[2], None)?;
    let mut shard = ctx.db().lock(&argv[1]);
    let Some(entry) = shard.lookup_read(&argv[1], ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    ctx.touch(entry);
    let bit = as_str(entry)?.with_bytes(|b| bit_at(b, offset));
    ctx.out.int(i64::from(bit));
    Ok(())
}

/// Set bits in `bytes`.
fn popcount(bytes: &[u8]) -> i64 {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut n: u64 = 0;
    for w in words {
        if let Ok(w) = <[u8; 8]>::try_from(w) {
            n += u64::from(u64::from_ne_bytes(w).count_ones());
        }
    }
    n += tail.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    n as i64
}

/// Position of the first `bit` in `bytes` (Redis's `redisBitpos`): for a
/// set bit, -1 if there is none; for a clear bit, the string counts as
/// padded with zeros, so `8 * len` if every bit is set.
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0 } else { u8::MAX };
    let mut at = 0;
    for w in bytes.chunks_exact(8) {
        if w.iter().any(|&b| b != skip) {
            break;
        }
        at += 8;
    }
    match bytes[at..].iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[at + i];
            let in_byte = if bit { b } else { !b }.leading_zeros();
            ((at + i) * 8) as i64 + i64::from(in_byte)
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// `BYTE` or `BIT`: true for bit indexes.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A byte range `start..=end` (possibly empty: start > end) of a string of
/// `len` bytes, and the masks of the bits outside a bit range in its first
/// and last bytes.
struct Range {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Resolves negative indexes and clamps `start`/`end` to the string, in
/// bytes or in bits, as BITCOUNT and BITPOS both do.
fn clamp_range(len: i64, mut start: i64, mut end: i64, is_bit: bool) -> Range {
    let total = if is_bit { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if is_bit && start <= end {
        first_mask = !(((1u32 << (8 - (start & 7))) - 1) as u8);
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range {
        start,
        end,
        first_mask,
        last_mask,
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`
fn bitcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis 7.0 looks the key up before it reads any argument.
    let mut shard = ctx.db().lock(&argv[1]);
    let Some(entry) = shard.lookup_read(&argv[1], ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    ctx.touch(entry);
    let count = as_str(entry)?.with_bytes(|p| -> Result<i64, CmdError> {
        let len = p.len() as i64;
        let range = match argv.len() {
            4 | 5 => {
                let start = arg_int(&argv[2])?;
                let end = arg_int(&argv[3])?;
                if start < 0 && end < 0 && start > end {
                    return Ok(0);
                }
                let is_bit = match argv.get(4) {
                    Some(unit) => unit_is_bit(unit)?,
                    None => false,
                };
                clamp_range(len, start, end, is_bit)
            }
            2 => clamp_range(len, 0, len - 1, false),
            _ => return Err(CmdError::Syntax),
        };
        if range.start > range.end {
            return Ok(0);
        }
        let Some(bytes) = p.get(range.start as usize..=range.end as usize) else {
            return Ok(0);
        };
        let first = bytes.first().map_or(0, |b| b & range.first_mask);
        let last = bytes.last().map_or(0, |b| b & range.last_mask);
        Ok(popcount(bytes) - popcount(&[first, last]))
    })?;
    ctx.out.int(count);
    Ok(())
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`
fn bitpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let bit = arg_int(&argv[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::other("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let mut shard = ctx.db().lock(&argv[1]);
    // A missing key is an endless run of zeros.
    let Some(entry) = shard.lookup_read(&argv[1], ctx.now) else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    ctx.touch(entry);
    let pos = as_str(entry)?.with_bytes(|p| -> Result<i64, CmdError> {
        let len = p.len() as i64;
        let mut end_given = false;
        let range = match argv.len() {
            4..=6 => {
                let start = arg_int(&argv[3])?;
                let is_bit = match argv.get(5) {
                    Some(unit) => unit_is_bit(unit)?,
                    None => false,
                };
                let end = match argv.get(4) {
                    Some(end) => {
                        end_given = true;
                        arg_int(end)?
                    }
                    None => len - 1,
                };
                clamp_range(len, start, end, is_bit)
            }
            3 => clamp_range(len, 0, len - 1, false),
            _ => return Err(CmdError::Syntax),
        };
        if range.start > range.end {
            return Ok(-1);
        }
        Ok(bitpos_in(p, &range, bit, end_given))
    })?;
    ctx.out.int(pos);
    Ok(())
}

/// BITPOS over a non-empty clamped range, searching the partial first
/// byte, the whole bytes and the partial last byte in turn as Redis does.
/// With an explicit end, a clear bit only found past the range is -1;
/// without one the string counts as padded with zeros.
fn bitpos_in(p: &[u8], range: &Range, bit: bool, end_given: bool) -> i64 {
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let byte = |i: usize| p.get(i).copied().unwrap_or(0);
    let mut start = range.start as usize;
    let end = range.end as usize;
    let mut bytes = end - start + 1;
    let pos = 'found: {
        if range.first_mask != 0 {
            let mut first = masked(byte(start), range.first_mask);
            if range.last_mask != 0 && bytes == 1 {
                first = masked(first, range.last_mask);
            }
            let pos = first_bit(&[first], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - usize::from(range.last_mask != 0);
        if whole > 0 {
            let pos = first_bit(p.get(start..start + whole).unwrap_or(&[]), bit);
            if bytes == whole || (pos != -1 && pos != whole as i64 * 8) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[masked(byte(end), range.last_mask)], bit)
    };
    if end_given && !bit && pos == bytes as i64 * 8 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + start as i64 * 8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`
fn bitop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let op = [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ]
    .into_iter()
    .find(|(name, _)| is(&argv[1], name))
    .map(|(_, op)| op)
    .ok_or(CmdError::Syntax)?;
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::other(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let (db, now, node) = (ctx.conn.db, ctx.now, ctx.node);
    let dest = &argv[2];
    let sources = &argv[3..];
    let mut locked = node.store.lock(argv[2..].iter().map(|k| (db, &k[..])));
    let mut max_len = 0;
    for key in sources {
        if let Some(entry) = locked.shard(db, key).lookup_read(key, now) {
            ctx.touch(entry);
            max_len = max_len.max(as_str(entry)?.len());
        }
    }
    // Folding one source at a time gives Redis's byte-by-byte result (a
    // missing byte is 0) without copying the sources.
    let mut result = vec![0u8; max_len];
    for (i, key) in sources.iter().enumerate() {
        let first = i == 0;
        match locked.shard(db, key).lookup(key, now) {
            Some(entry) => as_str(entry)?.with_bytes(|src| fold(&mut result, op, first, src)),
            None => fold(&mut result, op, first, &[]),
        }
    }
    let shard = locked.shard(db, dest);
    let modified = if max_len > 0 {
        let entry = ctx.entry(Value::Str(Str::Raw(result)));
        ctx.put(shard, dest, entry);
        true
    } else {
        shard.remove(dest).is_some()
    };
    drop(locked);
    if modified {
        ctx.modified(dest);
    }
    ctx.out.int(max_len as i64);
    Ok(())
}

/// Combines one BITOP source into `result`; the first source is copied
/// (and inverted for NOT). Bytes past the end of `src` count as 0.
fn fold(result: &mut [u8], op: BitOp, first: bool, src: &[u8]) {
    let n = src.len().min(result.len());
    let (head, tail) = result.split_at_mut(n);
    let pairs = head.iter_mut().zip(&src[..n]);
    match (op, first) {
        (BitOp::Not, _) => {
            pairs.for_each(|(r, s)| *r = !s);
            tail.fill(u8::MAX);
        }
        (_, true) => {
            pairs.for_each(|(r, s)| *r = *s);
            tail.fill(0);
        }
        (BitOp::And, false) => {
            pairs.for_each(|(r, s)| *r &= s);
            tail.fill(0);
        }
        (BitOp::Or, false) => pairs.for_each(|(r, s)| *r |= s),
        (BitOp::Xor, false) => pairs.for_each(|(r, s)| *r ^= s),
    }
}

/// What BITFIELD does when a SET or INCRBY leaves the field's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One BITFIELD subcommand, parsed.
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

/// A field type: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let invalid = || {
        CmdError::other(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let arg = c_string(arg, usize::MAX);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(invalid()),
    };
    let bits = shoal_proto::number::string2ll(&arg[1..]).ok_or_else(invalid)?;
    if bits < 1 || bits > if signed { 64 } else { 63 } {
        return Err(invalid());
    }
    Ok((signed, bits as u32))
}

/// Parses BITFIELD's subcommands as Redis does: all of them, in order,
/// before the key is looked at.
fn parse_fields(ctx: &Ctx<'_>, argv: &[Bytes]) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let rest = argv.len() - j - 1;
        let name = &argv[j];
        let op = if is(name, "get") && rest >= 2 {
            FieldOp::Get
        } else if is(name, "set") && rest >= 3 {
            FieldOp::Set
        } else if is(name, "incrby") && rest >= 3 {
            FieldOp::IncrBy
        } else if is(name, "overflow") && rest >= 1 {
            let kind = &argv[j + 1];
            overflow = if is(kind, "wrap") {
                Overflow::Wrap
            } else if is(kind, "sat") {
                Overflow::Sat
            } else if is(kind, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::other("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&argv[j + 1])?;
        let offset = bit_offset(ctx, &argv[j + 2], Some(bits))?;
        let value = if op == FieldOp::Get {
            0
        } else {
            arg_int(&argv[j + 3])?
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

/// The `bits`-wide unsigned field at bit `offset` (zeros past the end).
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |v, j| (v << 1) | u64::from(bit_at(p, offset + j)))
}

/// The `bits`-wide two's complement field at bit `offset`.
fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        v | (-1i64 << bits)
    } else {
        v
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`.
fn set_field(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let bit = (value >> (u64::from(bits) - 1 - j)) & 1;
        set_bit_at(p, offset + j, bit as u8);
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` if `value + incr` fits
/// in `bits` unsigned bits, else the value to store instead (meaningless
/// under FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(match overflow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if incr < 0 && incr < min_incr {
        Some(match overflow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat | Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, with its C arithmetic (two's
/// complement wrapping) kept so that out-of-range SET values saturate the
/// same way.
fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Some(match overflow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(match overflow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => min,
            Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// Runs one SET or INCRBY on `p` (already grown to hold it) and replies
/// with the old value (SET), the new one (INCRBY) or nil (FAIL overflow).
/// Returns whether the stored value differs, `None` if nothing was written.
fn write_field(out: &mut Reply, p: &mut [u8], f: &Field) -> Option<bool> {
    let incr = f.op == FieldOp::IncrBy;
    // SET checks its value alone; INCRBY checks old value plus increment.
    let done: Option<(u64, i64)> = if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (checked, by) = if incr { (old, f.value) } else { (f.value, 0) };
        let new = match signed_overflow(checked, by, f.bits, f.overflow) {
            Some(_) if f.overflow == Overflow::Fail => None,
            Some(limit) => Some(limit),
            None => Some(checked.wrapping_add(by)),
        };
        new.map(|n| (n as u64, if incr { n } else { old }))
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (checked, by) = if incr {
            (old, f.value)
        } else {
            (f.value as u64, 0)
        };
        let new = match unsigned_overflow(checked, by, f.bits, f.overflow) {
            Some(_) if f.overflow == Overflow::Fail => None,
            Some(limit) => Some(limit),
            None => Some(checked.wrapping_add(by as u64)),
        };
        new.map(|n| (n, if incr { n as i64 } else { old as i64 }))
    };
    match done {
        Some((stored, reply)) => {
            out.int(reply);
            let mask = u64::MAX >> (64 - f.bits);
            let differs = get_unsigned(p, f.offset, f.bits) != stored & mask;
            set_field(p, f.offset, f.bits, stored);
            Some(differs)
        }
        None => {
            out.null();
            None
        }
    }
}

/// Replies with a GET field read from `p` (zeros past its end).
fn read_field(out: &mut Reply, p: &[u8], f: &Field) {
    if f.signed {
        out.int(get_signed(p, f.offset, f.bits));
    } else {
        out.int(get_unsigned(p, f.offset, f.bits) as i64);
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], read_only_command: bool) -> CmdResult {
    let fields = parse_fields(ctx, argv)?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let writes = fields.iter().filter(|f| f.op != FieldOp::Get);
    let Some(max_bit) = writes.map(|f| f.offset + u64::from(f.bits) - 1).max() else {
        // Only GETs: the key is not created, and a missing one reads as zeros.
        match shard.lookup_read(key, ctx.now) {
            Some(entry) => {
                ctx.touch(entry);
                let s = as_str(entry)?;
                let out = &mut *ctx.out;
                out.array(fields.len());
                s.with_bytes(|p| fields.iter().for_each(|f| read_field(out, p, f)));
            }
            None => {
                ctx.out.array(fields.len());
                fields.iter().for_each(|f| read_field(ctx.out, &[], f));
            }
        }
        return Ok(());
    };
    if read_only_command {
        return Err(CmdError::other(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let (p, grown) = bits_for_write(ctx, &mut shard, key, max_bit)?;
    ctx.out.array(fields.len());
    let mut changed = false;
    for f in &fields {
        if f.op == FieldOp::Get {
            read_field(ctx.out, p, f);
        } else {
            // As Redis 7.0: a write counts if it was done (not refused by
            // OVERFLOW FAIL) and changed the value or the string's length.
            changed |= write_field(ctx.out, p, f).is_some_and(|differs| differs || grown);
        }
    }
    drop(shard);
    if changed {
        ctx.modified(key);
    }
    Ok(())
}

/// `BITFIELD key [GET encoding offset] [SET encoding offset value]
/// [INCRBY encoding offset increment] [OVERFLOW WRAP|SAT|FAIL] ...`
fn bitfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

/// `BITFIELD_RO key [GET encoding offset ...]`
fn bitfield_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}
