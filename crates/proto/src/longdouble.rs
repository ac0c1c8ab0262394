//! C's `long double` on x86-64 — the x87 80-bit extended format — bit for bit.
//!
//! Redis computes `INCRBYFLOAT` and `HINCRBYFLOAT` in `long double`: it reads
//! numbers with glibc's `strtold` (through `string2ld`), adds them on the x87
//! FPU and prints the sum with `%.17Lf` minus trailing zeros
//! (`ld2string(LD_STR_HUMAN)`). Doing the same in `f64` gives different
//! replies (`0.1` + `0.2`, `1e308`, `1e400`, `0x10`), so this module owns the
//! three steps in software, exactly:
//!
//! | step      | Redis 7.0 / glibc                    | here                      |
//! |-----------|--------------------------------------|---------------------------|
//! | read      | `string2ld` → `strtold`              | [`LongDouble::parse`]     |
//! | add       | x87 `fadd`, round-to-nearest-even    | `impl Add`                |
//! | print     | `%.17Lf`, trim zeros, `-0` → `0`     | [`LongDouble::to_human`]  |
//!
//! Decimal and hexadecimal input is rounded correctly (half to even, down
//! into the subnormals) using a small private big integer, so results never
//! depend on the host's FPU. One glibc quirk is reproduced on purpose,
//! because Redis replies with it: hexadecimal input with more than 64
//! significant bits loses its 65th bit when the result is subnormal (see
//! `parse_hex`). Nothing here may panic, whatever the input.

use std::cmp::Ordering;
use std::ops::Add;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` copies into a buffer this
/// size with room for the terminating NUL, so inputs must be shorter.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Biased exponent of infinities and NaNs.
const EXP_SPECIAL: u16 = 0x7fff;
/// The explicit integer bit of the x87 significand.
const INTEGER_BIT: u64 = 1 << 63;
/// The x87 "real indefinite" quiet NaN, what `inf + -inf` produces.
const INDEFINITE_MANT: u64 = 0xc000_0000_0000_0000;
/// A normal value is `mant · 2^(exp - EXP_OFFSET)`; subnormals use `exp = 1`.
const EXP_OFFSET: i32 = 16383 + 63;

/// A binary floating-point format to round into.
#[derive(Clone, Copy)]
struct Format {
    /// Significand bits, counting the leading one.
    precision: u32,
    /// Weight (power of two) of the last significand bit of a subnormal.
    min_lsb: i64,
    /// Weight of the last significand bit of the largest finite values.
    max_lsb: i64,
}

const X87: Format = Format {
    precision: 64,
    min_lsb: 1 - EXP_OFFSET as i64,
    max_lsb: 0x7ffe - EXP_OFFSET as i64,
};

const BINARY64: Format = Format {
    precision: 53,
    min_lsb: -1074,
    max_lsb: 971,
};

/// The outcome of rounding an exact value into a [`Format`].
enum Rounded {
    Zero,
    /// `mant · 2^lsb`, `mant < 2^precision`; subnormal when the top bit is clear.
    Finite {
        mant: u64,
        lsb: i64,
    },
    Overflow,
}

/// Rounds `m · 2^k` to nearest, ties to even. With `sticky`, the value being
/// rounded lies strictly between `m · 2^k` and `(m + 1) · 2^k`; the caller
/// then guarantees `2^(precision + 2) <= m < 2^127`, so at least two bits
/// separate the rounding position from the jammed sticky bit.
fn round(m: u128, k: i64, sticky: bool, format: Format) -> Rounded {
    let (m, k) = if sticky {
        ((m << 1) | 1, k - 1)
    } else {
        (m, k)
    };
    if m == 0 {
        return Rounded::Zero;
    }
    let precision = i64::from(format.precision);
    let len = i64::from(128 - m.leading_zeros());
    let shift = (len - precision).max(format.min_lsb - k);
    let (mut q, mut lsb) = if shift <= 0 {
        // Exact: `len - shift <= precision`, so the shift stays below 64.
        (m << shift.unsigned_abs(), k + shift)
    } else if shift > 128 {
        // `m < 2^128 <= 2^(shift - 1)`: below half of the last place.
        (0, k + shift)
    } else {
        let shift = shift.unsigned_abs() as u32;
        let q = m.checked_shr(shift).unwrap_or(0);
        let rest = m & (u128::MAX >> (128 - shift));
        let half = 1u128 << (shift - 1);
        let up = rest > half || (rest == half && q & 1 == 1);
        (q + u128::from(up), k + i64::from(shift))
    };
    if q >> format.precision != 0 {
        q >>= 1;
        lsb += 1;
    }
    if q == 0 {
        Rounded::Zero
    } else if lsb > format.max_lsb {
        Rounded::Overflow
    } else {
        Rounded::Finite {
            mant: q as u64,
            lsb,
        }
    }
}

/// An x87 extended-precision number: sign, 15-bit biased exponent and a
/// 64-bit significand with an explicit integer bit, as `long double` holds it
/// on x86-64. Values built here are always canonical encodings.
#[derive(Clone, Copy, Debug)]
pub struct LongDouble {
    negative: bool,
    exp: u16,
    mant: u64,
}

impl LongDouble {
    const fn zero(negative: bool) -> Self {
        LongDouble {
            negative,
            exp: 0,
            mant: 0,
        }
    }

    const fn infinity(negative: bool) -> Self {
        LongDouble {
            negative,
            exp: EXP_SPECIAL,
            mant: INTEGER_BIT,
        }
    }

    fn from_rounded(negative: bool, rounded: Rounded) -> Self {
        match rounded {
            Rounded::Zero => Self::zero(negative),
            Rounded::Overflow => Self::infinity(negative),
            Rounded::Finite { mant, lsb } => {
                let exp = if mant & INTEGER_BIT != 0 {
                    // `round` keeps `lsb` within `X87`, so this fits in 15 bits.
                    (lsb + i64::from(EXP_OFFSET)) as u16
                } else {
                    0
                };
                LongDouble {
                    negative,
                    exp,
                    mant,
                }
            }
        }
    }

    /// Redis 7.0's `string2ld`: the whole input must be one `strtold` number
    /// (optional sign; decimal with optional exponent; `0x` hexadecimal with
    /// optional `p` exponent; `inf`/`infinity`, any case), 1 to 5119 bytes,
    /// not starting with a space. NaN, and finite input that overflows to
    /// infinity or underflows to zero, are refused. Correctly rounded.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        let first = *s.first()?;
        if s.len() >= MAX_LONG_DOUBLE_CHARS || is_c_space(first) {
            return None;
        }
        let (negative, body) = match first {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Self::infinity(negative));
        }
        let rounded = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex)?,
            _ => parse_decimal(body)?,
        };
        match rounded {
            // Zero was written as zero; an underflow is `Rounded::Zero`.
            None => Some(Self::zero(negative)),
            // ERANGE with ±HUGE_VALL or with zero: `string2ld` refuses both.
            Some(Rounded::Zero | Rounded::Overflow) => None,
            Some(finite) => Some(Self::from_rounded(negative, finite)),
        }
    }

    /// Exact conversion, as C's `(long double)` cast of a `long long`.
    pub fn from_i64(v: i64) -> LongDouble {
        let magnitude = v.unsigned_abs();
        if magnitude == 0 {
            return Self::zero(false);
        }
        let lz = magnitude.leading_zeros();
        LongDouble {
            negative: v < 0,
            exp: (EXP_OFFSET - lz as i32) as u16,
            mant: magnitude << lz,
        }
    }

    /// Nearest `f64`, ties to even, as C's `(double)` cast.
    pub fn to_f64(&self) -> f64 {
        let sign = u64::from(self.negative) << 63;
        if self.is_nan() {
            return f64::NAN;
        }
        if !self.is_finite() {
            return f64::from_bits(sign | 0x7ff0_0000_0000_0000);
        }
        let bits = match round(u128::from(self.mant), self.lsb(), false, BINARY64) {
            Rounded::Zero => 0,
            Rounded::Overflow => 0x7ff0_0000_0000_0000,
            Rounded::Finite { mant, lsb } if mant >> 52 != 0 => {
                ((lsb + 1075) as u64) << 52 | (mant & ((1 << 52) - 1))
            }
            Rounded::Finite { mant, .. } => mant,
        };
        f64::from_bits(sign | bits)
    }

    /// The 80-bit encoding: sign in bit 79, biased exponent in bits 64..79,
    /// significand (with its explicit integer bit) in bits 0..64.
    pub fn to_bits(&self) -> u128 {
        u128::from(self.negative) << 79 | u128::from(self.exp) << 64 | u128::from(self.mant)
    }

    /// NaN, which only `inf + -inf` (or a NaN operand) produces here.
    pub fn is_nan(&self) -> bool {
        self.exp == EXP_SPECIAL && self.mant != INTEGER_BIT
    }

    /// Neither infinite nor NaN; `INCRBYFLOAT` refuses to store anything else.
    pub fn is_finite(&self) -> bool {
        self.exp != EXP_SPECIAL
    }

    fn is_zero(&self) -> bool {
        self.exp == 0 && self.mant == 0
    }

    /// Power of two weighing the significand's last bit (finite values).
    fn lsb(&self) -> i64 {
        i64::from(self.exp.max(1)) - i64::from(EXP_OFFSET)
    }

    /// The reply `INCRBYFLOAT` gives: `%.17Lf` (the exact value rounded half
    /// to even at the 17th decimal, as glibc does), trailing zeros and a
    /// trailing `.` removed, and `-0` printed as `0` (Redis 7.0's
    /// `ld2string(LD_STR_HUMAN)`). Infinities print as `inf`/`-inf`, NaN as
    /// `nan`.
    pub fn to_human(&self) -> String {
        if self.is_nan() {
            return "nan".into();
        }
        if !self.is_finite() {
            return if self.negative { "-inf" } else { "inf" }.into();
        }
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let lsb = self.lsb();
        if lsb >= 0 {
            // An integer: every decimal is zero and trimmed away.
            let mut n = Big::from_u64(self.mant);
            n.shl(lsb.unsigned_abs());
            out.push_str(&n.to_decimal());
        } else {
            const SCALE: u128 = 100_000_000_000_000_000; // 10^17
            let n = u128::from(self.mant) * SCALE; // < 2^121
            let shift = lsb.unsigned_abs();
            let q = if shift >= 128 {
                // n < 2^121 is below half of 2^shift.
                0
            } else {
                let shift = shift as u32;
                let q = n >> shift;
                let rest = n & (u128::MAX >> (128 - shift));
                let half = 1u128 << (shift - 1);
                q + u128::from(rest > half || (rest == half && q & 1 == 1))
            };
            out.push_str(&(q / SCALE).to_string());
            let fraction = format!("{:017}", q % SCALE);
            let fraction = fraction.trim_end_matches('0');
            if !fraction.is_empty() {
                out.push('.');
                out.push_str(fraction);
            }
        }
        if out == "-0" {
            out.remove(0);
        }
        out
    }
}

impl Add for LongDouble {
    type Output = LongDouble;

    /// x87 addition: exact sum rounded to 64 significand bits, ties to even,
    /// subnormals kept; `inf + -inf` is the x87 "real indefinite" NaN and a
    /// NaN operand comes back quieted.
    fn add(self, other: LongDouble) -> LongDouble {
        if self.is_nan() || other.is_nan() {
            let nan = if self.is_nan() { self } else { other };
            return LongDouble {
                mant: nan.mant | INDEFINITE_MANT,
                ..nan
            };
        }
        match (self.is_finite(), other.is_finite()) {
            (false, false) if self.negative != other.negative => {
                return LongDouble {
                    negative: true,
                    exp: EXP_SPECIAL,
                    mant: INDEFINITE_MANT,
                };
            }
            (false, _) => return self,
            (_, false) => return other,
            _ => {}
        }
        if self.is_zero() && other.is_zero() {
            return Self::zero(self.negative && other.negative);
        }
        if other.is_zero() {
            return self;
        }
        if self.is_zero() {
            return other;
        }
        let (big, small) = if (self.lsb(), self.mant) >= (other.lsb(), other.mant) {
            (self, other)
        } else {
            (other, self)
        };
        // Align on 62 extra bits below `big`'s significand; what falls off
        // `small` only matters as a sticky bit, and only when `big` is normal
        // and far larger, which leaves `round` the margin it needs.
        let gap = (big.lsb() - small.lsb()).unsigned_abs();
        let a = u128::from(big.mant) << 62;
        let (b, sticky) = match gap {
            0..=62 => (u128::from(small.mant) << (62 - gap), false),
            63..=125 => {
                let lost = (gap - 62) as u32;
                let kept = small.mant >> lost;
                (u128::from(kept), small.mant != kept << lost)
            }
            _ => (0, true),
        };
        let k = big.lsb() - 62;
        let rounded = if big.negative == small.negative {
            round(a + b, k, sticky, X87)
        } else if sticky {
            // The exact difference lies strictly between a - b - 1 and a - b.
            round(a - b - 1, k, true, X87)
        } else if a == b {
            return Self::zero(false);
        } else {
            round(a - b, k, false, X87)
        };
        Self::from_rounded(big.negative, rounded)
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// An optionally signed decimal exponent that must run to the end of the
/// input; saturates far beyond any exponent that could matter.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = (v * 10 + i64::from(c - b'0')).min(1 << 40);
    }
    Some(if negative { -v } else { v })
}

/// Digits of a mantissa in base 10 or 16, as read by [`scan_mantissa`].
struct Mantissa {
    /// The digits as an integer, leading zeros dropped.
    value: Big,
    /// Digits in `value`.
    significant: i64,
    /// Digits after the point, leading zeros included.
    fraction: i64,
}

/// Reads `digits [. digits]` or `. digits` in `radix` (10 or 16) and returns
/// the mantissa and the unread rest; `None` if there is no digit at all.
fn scan_mantissa(s: &[u8], radix: u32) -> Option<(Mantissa, &[u8])> {
    let per_chunk = if radix == 16 { 7 } else { 9 };
    let mut m = Mantissa {
        value: Big::default(),
        significant: 0,
        fraction: 0,
    };
    let (mut chunk, mut chunk_len) = (0u32, 0u32);
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = char::from(c).to_digit(radix) {
            seen_digit = true;
            if seen_point {
                m.fraction += 1;
            }
            if d != 0 || m.significant > 0 {
                m.significant += 1;
                chunk = chunk * radix + d;
                chunk_len += 1;
                if chunk_len == per_chunk {
                    m.value.mul_add(radix.pow(chunk_len), chunk);
                    (chunk, chunk_len) = (0, 0);
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if chunk_len > 0 {
        m.value.mul_add(radix.pow(chunk_len), chunk);
    }
    Some((m, &s[i..]))
}

/// The unsigned body of a decimal number. `Some(None)` for an exact zero.
fn parse_decimal(s: &[u8]) -> Option<Option<Rounded>> {
    let (m, rest) = scan_mantissa(s, 10)?;
    let exponent = match rest {
        [] => 0,
        [b'e' | b'E', exp @ ..] => parse_exponent(exp)?,
        _ => return None,
    };
    if m.significant == 0 {
        return Some(None);
    }
    // value = digits · 10^q, and 10^(significant - 1 + q) <= value < 10^(significant + q).
    let q = exponent - m.fraction;
    if m.significant - 1 + q >= 4933 {
        // >= 10^4933, beyond the largest long double (~1.19e4932).
        return Some(Some(Rounded::Overflow));
    }
    if m.significant + q <= -4951 {
        // < 10^-4951, below half the smallest subnormal (~3.65e-4951).
        return Some(Some(Rounded::Zero));
    }
    let mut n = m.value;
    if q >= 0 {
        n.mul_pow10(q.unsigned_abs());
        let (top, k, sticky) = n.top_bits();
        return Some(Some(round(top, k, sticky, X87)));
    }
    // Divide by 10^-q, scaled so the quotient has 125 or 126 bits.
    let mut d = Big::from_u64(1);
    d.mul_pow10(q.unsigned_abs());
    let s = 125 - (n.bit_len() - d.bit_len());
    if s >= 0 {
        n.shl(s.unsigned_abs());
    } else {
        d.shl(s.unsigned_abs());
    }
    let (quotient, inexact) = n.div_bits(&d, 126);
    Some(Some(round(quotient, -s, inexact, X87)))
}

/// The unsigned body of a hexadecimal number after `0x`. `Some(None)` for an
/// exact zero.
fn parse_hex(s: &[u8]) -> Option<Option<Rounded>> {
    // No hex digit after "0x": strtold reads "0" and stops at the 'x'.
    let (m, rest) = scan_mantissa(s, 16)?;
    let exponent = match rest {
        [] => 0,
        [b'p' | b'P', exp @ ..] => parse_exponent(exp)?,
        _ => return None,
    };
    if m.significant == 0 {
        return Some(None);
    }
    // value = digits · 2^k, and 2^top <= value < 2^(top + 1).
    let k = exponent - 4 * m.fraction;
    let top = m.value.bit_len() - 1 + k;
    if top >= 16384 {
        return Some(Some(Rounded::Overflow));
    }
    if top < X87.min_lsb - 1 {
        return Some(Some(Rounded::Zero));
    }
    let mut digits = m.value;
    let len = digits.bit_len();
    if top < X87.min_lsb + 63 && len > 64 {
        // glibc quirk, kept because Redis replies with it: for a subnormal
        // result `round_and_return` drops the first bit beyond the 64 it
        // read (only the bits below it count as sticky), so
        // 0x1.0000000000000001p-16446 reads as 0, not as the least subnormal.
        digits.clear_bit((len - 65).unsigned_abs());
    }
    let (bits, shift, sticky) = digits.top_bits();
    Some(Some(round(bits, k + shift, sticky, X87)))
}

/// An unsigned big integer, little-endian 32-bit limbs, no zero limb on top.
#[derive(Clone, Default)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> i64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => 32 * self.limbs.len() as i64 - i64::from(top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = self.limbs.get((i / 32) as usize).copied().unwrap_or(0);
        limb >> (i % 32) & 1 == 1
    }

    fn clear_bit(&mut self, i: u64) {
        if let Some(limb) = self.limbs.get_mut((i / 32) as usize) {
            *limb &= !(1 << (i % 32));
        }
        self.trim();
    }

    /// `self = self · mul + add`.
    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n > 0 {
            let step = n.min(9) as u32;
            self.mul_add(10u32.pow(step), 0);
            n -= u64::from(step);
        }
    }

    fn shl(&mut self, bits: u64) {
        if self.is_zero() {
            return;
        }
        let (limbs, bits) = ((bits / 32) as usize, (bits % 32) as u32);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.limbs {
                let v = *limb;
                *limb = v << bits | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.limbs.iter_mut().rev() {
            let v = *limb;
            *limb = v >> 1 | carry;
            carry = v << 31;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// `self -= other`, for `self >= other`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let o = other.limbs.get(i).copied().unwrap_or(0);
            if o == 0 && !borrow && i >= other.limbs.len() {
                break;
            }
            let (v, b1) = limb.overflowing_sub(o);
            let (v, b2) = v.overflowing_sub(u32::from(borrow));
            *limb = v;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// Returns the top 126 bits (or all, if fewer) as `(bits, shift,
    /// sticky)`: `self = bits · 2^shift + rest`, `sticky` when `rest != 0`.
    fn top_bits(&self) -> (u128, i64, bool) {
        let shift = (self.bit_len() - 126).max(0);
        let mut bits = 0u128;
        for i in (0..126).rev() {
            bits = bits << 1 | u128::from(self.bit(shift.unsigned_abs() + i));
        }
        let sticky = (0..shift.unsigned_abs()).any(|i| self.bit(i));
        (bits, shift, sticky)
    }

    /// Binary long division yielding `bits` quotient bits: returns
    /// `(self / divisor, self % divisor != 0)`, for `self < divisor · 2^bits`.
    fn div_bits(mut self, divisor: &Big, bits: u32) -> (u128, bool) {
        let mut d = divisor.clone();
        d.shl(u64::from(bits - 1));
        let mut q = 0u128;
        for _ in 0..bits {
            q <<= 1;
            if self.cmp(&d) != Ordering::Less {
                self.sub(&d);
                q |= 1;
            }
            d.shr1();
        }
        (q, !self.is_zero())
    }

    /// `self /= divisor`, returning the remainder.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let v = rem << 32 | u64::from(*limb);
            *limb = (v / u64::from(divisor)) as u32;
            rem = v % u64::from(divisor);
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut out = match chunks.pop() {
            Some(top) => top.to_string(),
            None => return "0".into(),
        };
        for chunk in chunks.iter().rev() {
            out.push_str(&format!("{chunk:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(s: &str) -> LongDouble {
        match LongDouble::parse(s.as_bytes()) {
            Some(v) => v,
            None => panic!("{s:?} should parse"),
        }
    }

    fn describe(v: LongDouble) -> String {
        format!(
            "{:020x} {:016x} {}",
            v.to_bits(),
            v.to_f64().to_bits(),
            v.to_human()
        )
    }

    #[test]
    fn parse_matches_glibc_strtold_bit_for_bit() {
        for (input, expected) in PARSED {
            let got = LongDouble::parse(input.as_bytes()).map_or("ERR".to_string(), describe);
            assert_eq!(&got, expected, "input {input:?}");
        }
    }

    #[test]
    fn string2ld_refuses_what_redis_refuses() {
        for input in REFUSED {
            assert!(
                LongDouble::parse(input).is_none(),
                "{:?} should be refused",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn add_matches_the_x87_fpu_bit_for_bit() {
        for (a, b, expected) in SUMS {
            let sum = ld(a) + ld(b);
            let got = format!("{:020x} {}", sum.to_bits(), sum.to_human());
            assert_eq!(&got, expected, "{a} + {b}");
            let swapped = ld(b) + ld(a);
            assert_eq!(swapped.to_bits(), sum.to_bits(), "{b} + {a}");
        }
    }

    #[test]
    fn point_one_plus_point_two_replies_point_three() {
        assert_eq!((ld("0.1") + ld("0.2")).to_human(), "0.3");
        assert_eq!((ld("10.5") + ld("0.1")).to_human(), "10.6");
    }

    #[test]
    fn negative_zero_and_tiny_negatives_reply_zero() {
        assert_eq!(ld("-0").to_bits(), 1 << 79);
        assert_eq!(ld("-0").to_human(), "0");
        assert_eq!((ld("-0.000000000000000001") + ld("0")).to_human(), "0");
        assert_eq!((ld("-0") + ld("-0")).to_bits(), 1 << 79);
    }

    #[test]
    fn hex_and_beyond_double_range_input_is_accepted() {
        assert_eq!(ld("0x10").to_human(), "16");
        assert_eq!(ld("0x1.8p3").to_human(), "12");
        assert!(ld("1e400")
            .to_human()
            .starts_with("10000000000000000000281880683947586"));
        assert_eq!(ld("1e400").to_f64(), f64::INFINITY);
        assert!(ld("1e-4950").is_finite());
    }

    #[test]
    fn overflow_and_underflow_are_refused_but_written_infinity_is_not() {
        for refused in ["1e5000", "-1e5000", "1e-5000", "0x1p16384", "0x1p-16447"] {
            assert!(LongDouble::parse(refused.as_bytes()).is_none(), "{refused}");
        }
        assert_eq!(ld("inf").to_human(), "inf");
        assert_eq!(ld("-Infinity").to_human(), "-inf");
        // Zero written as zero is not an underflow.
        assert_eq!(ld("0e-99999999999999999999").to_human(), "0");
    }

    #[test]
    fn inputs_of_5119_bytes_are_read_and_5120_refused() {
        let mut zero = b"0.".to_vec();
        zero.resize(5119, b'0');
        assert_eq!(
            LongDouble::parse(&zero).map(|v| v.to_human()),
            Some("0".into())
        );
        zero.push(b'0');
        assert!(LongDouble::parse(&zero).is_none());
    }

    #[test]
    fn every_digit_of_a_5119_byte_input_decides_a_tie() {
        // 1 + 2^-64 is exactly half way between two long doubles: ties to even
        // (1), unless a 1 in the last of 5119 bytes tips it up.
        let half_way = b"1.0000000000000000000542101086242752217003726400434970855712890625";
        let mut input = half_way.to_vec();
        input.resize(5119, b'0');
        assert_eq!(
            LongDouble::parse(&input).map(|v| v.to_bits()),
            Some(0x3fff_8000_0000_0000_0000)
        );
        input[5118] = b'1';
        assert_eq!(
            LongDouble::parse(&input).map(|v| v.to_bits()),
            Some(0x3fff_8000_0000_0000_0001)
        );
        // The largest and the least long doubles, from inputs of the maximum length.
        let mut big = b"1.".to_vec();
        big.resize(5100, b'1');
        big.extend_from_slice(b"e4932");
        assert!(LongDouble::parse(&big).is_some_and(|v| v.is_finite()));
        let mut tiny = b"3.".to_vec();
        tiny.resize(5100, b'6');
        tiny.extend_from_slice(b"e-4951");
        assert_eq!(LongDouble::parse(&tiny).map(|v| v.to_bits()), Some(1));
    }

    #[test]
    fn subnormal_hex_input_keeps_glibc_dropping_the_65th_bit() {
        // Exactly above half the least subnormal, yet glibc returns 0 (ERANGE).
        assert!(LongDouble::parse(b"0x1.0000000000000001p-16446").is_none());
        assert_eq!(ld("0x1.00000000000000000001p-16446").to_bits(), 1);
        assert_eq!(ld("0x1.4000000000000001p-16444").to_bits(), 2);
        // Decimal input is rounded correctly, as glibc does.
        assert_eq!(ld("1.9e-4951").to_bits(), 1);
    }

    #[test]
    fn infinities_add_per_ieee_and_opposite_ones_give_nan() {
        let nan = ld("inf") + ld("-inf");
        assert!(nan.is_nan() && !nan.is_finite());
        assert_eq!(nan.to_bits(), 0xffff_c000_0000_0000_0000);
        assert_eq!(nan.to_human(), "nan");
        assert_eq!((ld("inf") + ld("1e4000")).to_human(), "inf");
        assert_eq!((nan + ld("1")).to_bits(), nan.to_bits());
        let huge = ld("1e4932");
        assert_eq!((huge + huge).to_human(), "inf");
    }

    #[test]
    fn from_i64_is_exact() {
        for (v, bits) in [
            (i64::MIN, 0xc03e_8000_0000_0000_0000),
            (i64::MAX, 0x403d_ffff_ffff_ffff_fffe),
            (0, 0),
            (-1, 0xbfff_8000_0000_0000_0000),
            (1, 0x3fff_8000_0000_0000_0000),
            (1000, 0x4008_fa00_0000_0000_0000),
        ] {
            assert_eq!(LongDouble::from_i64(v).to_bits(), bits, "{v}");
        }
        assert_eq!(
            (LongDouble::from_i64(i64::MAX) + ld("0.5")).to_human(),
            "9223372036854775807.5"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        const ALPHABET: &[u8] = b"0123456789abcdefxXpPeE+-. infINFnaN\0\t\xa0";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut previous = LongDouble::from_i64(0);
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            if let Some(v) = LongDouble::parse(&input) {
                let _ = v.to_human();
                let _ = v.to_f64();
                previous = previous + v;
                let _ = previous.to_human();
            }
        }
    }

    /// `(input, expected)`: expected is the x87 encoding, the nearest `f64`
    /// and the `INCRBYFLOAT` reply, or `ERR` where `string2ld` refuses.
    /// Generated with glibc 2.36 `strtold` and Redis 7.0's `string2ld`/`ld2string`.
    const PARSED: &[(&str, &str)] = &[
        ("0.1", "3ffbcccccccccccccccd 3fb999999999999a 0.1"),
        ("0.2", "3ffccccccccccccccccd 3fc999999999999a 0.2"),
        ("0.3", "3ffd999999999999999a 3fd3333333333333 0.3"),
        ("-0.1", "bffbcccccccccccccccd bfb999999999999a -0.1"),
        ("1", "3fff8000000000000000 3ff0000000000000 1"),
        ("+1", "3fff8000000000000000 3ff0000000000000 1"),
        ("-1", "bfff8000000000000000 bff0000000000000 -1"),
        (".5", "3ffe8000000000000000 3fe0000000000000 0.5"),
        ("5.", "4001a000000000000000 4014000000000000 5"),
        ("-.5e-1", "bffacccccccccccccccd bfa999999999999a -0.05"),
        ("1e308", "43fe8e679c2f5e44ff8f 7fe1ccf385ebc8a0 99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048"),
        ("1e400", "452fda763fc8cb9ff9e6 7ff0000000000000 10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"),
        ("-1e400", "c52fda763fc8cb9ff9e6 fff0000000000000 -10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"),
        ("1e-4950", "00000000000000000003 0000000000000000 0"),
        ("1e-4951", "ERR"),
        ("3.6e-4951", "00000000000000000001 0000000000000000 0"),
        ("1.9e-4951", "00000000000000000001 0000000000000000 0"),
        ("1.8e-4951", "ERR"),
        ("0x10", "40038000000000000000 4030000000000000 16"),
        ("0X1P-2", "3ffd8000000000000000 3fd0000000000000 0.25"),
        ("0x1.8p3", "4002c000000000000000 4028000000000000 12"),
        ("0x.8", "3ffe8000000000000000 3fe0000000000000 0.5"),
        ("0x1p-16445", "00000000000000000001 0000000000000000 0"),
        ("0x1.00000000000000000001p-16446", "00000000000000000001 0000000000000000 0"),
        ("0x1.4000000000000001p-16444", "00000000000000000002 0000000000000000 0"),
        ("inf", "7fff8000000000000000 7ff0000000000000 inf"),
        ("-inf", "ffff8000000000000000 fff0000000000000 -inf"),
        ("+inf", "7fff8000000000000000 7ff0000000000000 inf"),
        ("Infinity", "7fff8000000000000000 7ff0000000000000 inf"),
        ("-INFINITY", "ffff8000000000000000 fff0000000000000 -inf"),
        ("iNf", "7fff8000000000000000 7ff0000000000000 inf"),
        ("0", "00000000000000000000 0000000000000000 0"),
        ("-0", "80000000000000000000 8000000000000000 0"),
        ("0.0", "00000000000000000000 0000000000000000 0"),
        ("-0.000", "80000000000000000000 8000000000000000 0"),
        ("0e99999999999999999999", "00000000000000000000 0000000000000000 0"),
        ("0x0p99999", "00000000000000000000 0000000000000000 0"),
        ("00000.00000e-5", "00000000000000000000 0000000000000000 0"),
        ("9223372036854775394.5", "403dfffffffffffffcc5 43e0000000000000 9223372036854775394.5"),
        ("9223372036854775807", "403dfffffffffffffffe 43e0000000000000 9223372036854775807"),
        ("-9223372036854775808", "c03e8000000000000000 c3e0000000000000 -9223372036854775808"),
        ("18446744073709551615", "403effffffffffffffff 43f0000000000000 18446744073709551615"),
        ("18446744073709551617", "403f8000000000000000 43f0000000000000 18446744073709551616"),
        ("123456789012345678901234567890", "405fc77487fb61b9f077 45f8ee90ff6c373e 123456789012345678899921813504"),
        ("0.000003814697265625", "3fed8000000000000000 3ed0000000000000 0.00000381469726562"),
        ("0.000011444091796875", "3feec000000000000000 3ee8000000000000 0.00001144409179688"),
        ("2.5e-17", "3fc7e69594bec44de15b 3c7cd2b297d889bc 0.00000000000000002"),
        ("1.5e-17", "3fc78a59bfa5a8fb8737 3c714b37f4b51f71 0.00000000000000002"),
        ("0.99999999999999999999", "3fff8000000000000000 3ff0000000000000 1"),
        ("0.999999999999999995", "3ffeffffffffffffffa4 3ff0000000000000 1"),
        ("1.18973149535723176502e+4932", "7ffeffffffffffffffff 7ff0000000000000 1189731495357231765021263853030970205169063322294624200440323733891737005522970722616410290336528882853545697807495577314427443153670288434198125573853743678673593200706973263201915918282961524365529510646791086614311790632169778838896134786560600399148753433211454911160088679845154866512852340149773037600009125479393966223151383622417838542743917838138717805889487540575168226347659235576974805113725649020884855222494791399377585026011773549180099796226026859508558883608159846900235645132346594476384939859276456284579661772930407806609229102715046085388087959327781622986827547830768080040150694942303411728957777100335714010559775242124057347007386251660110828379119623008469277200965153500208474470792443848545912886723000619085126472111951361467527633519562927597957250278002980795904193139603021470997035276467445530922022679656280991498232083329641241038509239184734786121921697210543484287048353408113042573002216421348917347174234800714880751002064390517234247656004721768096486107994943415703476320643558624207443504424380566136017608837478165389027809576975977286860071487028287955567141404632615832623602762896316173978484254486860609948270867968048078702511858930838546584223040908805996294594586201903766048446790926002225410530775901065760671347200125846406957030257138960983757998926954553052368560758683179223113639519468850880771872104705203957587480013143131444254943919940175753169339392366881856189129931729104252921236835159922322050998001677102784035360140829296398115122877768135706045789343535451696539561254048846447169786893211671087229088082778350518228857646062218739702851655083720992349483334435228984751232753726636066213902281264706234075352071724058665079518217303463782631353393706774901950197841690441824738063162828586857741432581165364040218402724913393320949219498422442730427019873044536620350262386957804682003601447291997123095530057206141866974852846856186514832715974481203121946751686379343096189615107330065552421485195201762858595091051839472502863871632494167613804996319791441870254302706758495192008837915169401581740046711477877201459644461175204059453504764721807975761111720846273639279600339670470037613374509553184150073796412605047923251661354841291884211340823015473304754067072818763503617332908005951896325207071673904547777129682265206225651439919376804400292380903112437912614776255964694221981375146967079446870358004392507659451618379811859392049544036114915310782251072691486979809240946772142727012404377187409216756613634938900451232351668146089322400697993176017805338191849981933008410985993938760292601390911414526003720284872132411955424282101831204216104467404621635336900583664606591156298764745525068145003932941404131495400677602951005962253022823003631473824681059648442441324864573137437595096416168048024129351876204668135636877532814675538798871771836512893947195335061885003267607354388673368002074387849657014576090349857571243045102038730494854256702479339322809110526041538528994849203991091946129912491633289917998094380337879522093131466946149705939664152375949285890960489916121944989986384837022486672249148924678410206183364627416969576307632480235587975245253737035433882960862753427740016333434055083537048507374544819754722228975281083020898682633020285259923084168054539687911418297629988964576482765287504562854924265165217750799516259669229114977788962356670956627138482018191348321687995863652637620978285070099337294396784639879024914514222742527006363942327998483976739987154418554201562244154926653014515504685489258620276085761837129763358761215382565129633538141663949516556000264159186554850057052611431952919918807954522394649627635630178580896692226406235382898535867595990647008385687123810329591926494846250768992258419305480763620215089022149220528069842018350840586938493815498909445461977893029113576516775406232278298314033473276603952231603422824717528181818844304880921321933550869873395861276073670866652375555675803171490108477320096424318780070008797346032906278943553743564448851907191616455141155761939399690767415156402826543664026760095087523945507341556135867933066031744720924446513532366647649735400851967040771103640538150073486891798364049570606189535005089840913826869535090066783324472578712196604415284924840041850932811908963634175739897166596000759487800619164094854338758520657116541072260996288150123144377944008749301944744330784388995701842710004808305012177123560622895076269042856800047718893158089358515593863176652948089031267747029662545110861548958395087796755464137944895960527975209874813839762578592105756284401759349324162148339565350189196811389091843795734703269406342890087805846940352453479398080674273236297887100867175802531561302356064878709259865288416350972529537091114317204887747405539054009425375424119317944175137064689643861517718849867010341532542385911089624710885385808688837777258648564145934262121086647588489260031762345960769508849149662444156604419552086811989770240"),
        ("3.14159265358979323846264338327950288419716939937510", "4000c90fdaa22168c235 400921fb54442d18 3.14159265358979324"),
        ("1e-17", "3fc6b877aa3236a4b449 3c670ef54646d497 0.00000000000000001"),
        ("5e-18", "3fc5b877aa3236a4b449 3c570ef54646d497 0"),
        ("4.9999999999999999e-18", "3fc5b877aa3236a4b33f 3c570ef54646d496 0"),
        ("1e18", "403ade0b6b3a76400000 43abc16d674ec800 1000000000000000000"),
        ("1e19", "403e8ac7230489e80000 43e158e460913d00 10000000000000000000"),
        ("1e20", "4041ad78ebc5ac620000 4415af1d78b58c40 100000000000000000000"),
        ("1e-1", "3ffbcccccccccccccccd 3fb999999999999a 0.1"),
        ("12345.6789e-3", "4002c587e69926ad12f3 4028b0fcd324d5a2 12.3456789"),
        ("0.1e1", "3fff8000000000000000 3ff0000000000000 1"),
        ("1E+2", "4005c800000000000000 4059000000000000 100"),
        ("1e-0", "3fff8000000000000000 3ff0000000000000 1"),
        ("7e22", "404aed2b525841adfc00 44ada56a4b0835c0 70000000000000000000000"),
        ("1.7976931348623157e308", "43fefffffffffffff7ac 7fefffffffffffff 179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384"),
        ("2.2250738585072014e-308", "3c018000000000000046 0010000000000000 0"),
        ("4.9406564584124654e-324", "3bccffffffffffffff64 0000000000000001 0"),
        ("1e-400", "3ace95fe7e07c91efafa 0000000000000000 0"),
        ("7789059.23579246955", "4015edb40678b9ca62b8 415db680cf17394c 7789059.23579246954977862"),
        ("0x2b79060dc79e8e9p16374", "ERR"),
        ("0x8d75p-8", "40068d75000000000000 4061aea000000000 141.45703125"),
        ("-7737057.4786631444294817336e-2", "c00f971d49929bbc1d9a c0f2e3a932537784 -77370.57478663144429731"),
        ("+20633616764017064995.8e+5", "404fda7787c208546462 44fb4ef0f8410a8d 2063361676401706499571712"),
        ("-0x1e3d83p29", "c030f1ec180000000000 c30e3d8300000000 -1063985268916224"),
        ("556673385416536556.1828501402019939337E-3897", "0da8a868a13a1fb864fc 0000000000000000 0"),
        ("-0x6673bc7p-13", "c00ccce778e000000000 c0c99cef1c000000 -13113.8680419921875"),
        ("8504138.0397878065085", "401681c34a0a2f889fbc 416038694145f114 8504138.0397878065086843"),
        ("0x1aa859cc5p-16376", "0027d542ce6280000000 0000000000000000 0"),
        ("3314.4472576795e40", "408fbe3d6ce3541c0b1b 48f7c7ad9c6a8381 33144472576794999999366393851149305409175552"),
        ("-0x1863c21cb481c395p-114", "bfc9c31e10e5a40e1ca8 bc9863c21cb481c4 -0.00000000000000008"),
        ("597308.161946823081368967", "401291d3c297558d4d36 41223a7852eab1aa 597308.16194682308139363"),
        ("39835760746727531.571664588335367944", "40368d8669d0aa886b92 4361b0cd3a15510d 39835760746727531.5703125"),
        ("76135360918498.4e-8", "4012b9e099bf38c0f7e9 41273c1337e7181f 761353.60918498400002363"),
        ("-72809767765517674.7944386", "c03781560c8bebd2b566 c3702ac1917d7a57 -72809767765517674.796875"),
        ("0x1758a231ceb1c919p32", "405bbac5118e758e48c8 45b758a231ceb1c9 7225306640171614994239062016"),
        ("-0x67cbp36", "c031cf96000000000000 c319f2c000000000 -1825945216352256"),
        ("-0x10865a06fp-16397", "80128432d03780000000 8000000000000000 0"),
        ("+9305279.11942691393242", "40168dfcbf1e92c3219a 4161bf97e3d25864 9305279.11942691393232963"),
        ("1.294284382683e+16", "4034b7edcaa2b9eac000 4346fdb954573d58 12942843826830000"),
        ("7393920034348.7E-30", "3fc68864ccd672da8fce 3c610c999ace5b52 0.00000000000000001"),
        ("0x235b7a1e82d272dp-16458", "0000000011adbd0f4169 0000000000000000 0"),
        ("+64621967831385825636.21884327759e-5", "403092eeef97db609068 43025dddf2fb6c12 646219678313858.25634765625"),
        ("98014406619895984111.4749038734545029", "4041aa0723f095330dfe 441540e47e12a662 98014406619895984112"),
        ("-4943147427.09553247802E+3", "c0298fdd517ca2f10a0f c291fbaa2f945e21 -4943147427095.53247785568237305"),
        ("5952", "400bba00000000000000 40b7400000000000 5952"),
        ("-0x1ff6a943p36", "c03fffb54a1800000000 c3fff6a943000000 -36851429834791845888"),
        ("-0x1ff3837ec6a4c9p7", "c03aff9c1bf635264800 c3aff3837ec6a4c9 -1151164207519130752"),
        ("-0x6a4a21e09p8", "c029d49443c120000000 c29a928878240000 -7304164280576"),
        ("0x1c78ba5a1p-110", "3fb1e3c5d2d080000000 3b1c78ba5a100000 0"),
        ("368.09886793", "4007b80ca7b44efc9262 40770194f689df92 368.09886792999999999"),
        ("74158477253", "40238a21847e28000000 423144308fc50000 74158477253"),
        ("0x6450610148bf659p-62", "3ffbc8a0c202917ecb20 3fb9141840522fd9 0.09796287126863436"),
        ("242409.699168684235327e-15", "3fdf854421d8c65aa40e 3df0a8843b18cb55 0.0000000002424097"),
        ("+50535.791484925151e+33", "407c98135b8de101dda3 47c3026b71bc203c 50535791484925151001258796445232791552"),
        ("+621.6799677595983239608", "40089b6b84977e73c9cb 40836d7092efce79 621.67996775959832395"),
        ("798019460.94339", "401cbe433e13c6080735 41c7c867c278c101 798019460.94338999997125939"),
        ("+11590360279.84509373476812", "4020acb5b735f6160408 420596b6e6bec2c1 11590360279.845093734562397"),
        ("-67423791.1231880973", "c0198099c5e3f1282a25 c1901338bc7e2505 -67423791.12318809729913482"),
        ("10981.62854557", "400cab9683a1732cc860 40c572d0742e6599 10981.62854557"),
        ("+72413487706775.0", "402d83b8286c652e0000 42d077050d8ca5c0 72413487706775"),
        ("1.231211501839987373E-2595", "1e52ee4e5feee5281fb8 0000000000000000 0"),
        ("+57198384035.37214123958362532e1", "4026852ce4c461b8ae7c 4260a59c988c3716 571983840353.72141242027282715"),
        ("694697399555560304.7563004E-13", "400f87aedeb6dd18d27b 40f0f5dbd6dba31a 69469.73995555603047336"),
        ("0x1a371p-16380", "0013d1b8800000000000 0000000000000000 0"),
        ("1.26520625913342407566e31", "40669fb104e2655bb545 4663f6209c4cab77 12652062591334240756933494571008"),
        ("0x6fp12", "4011de00000000000000 411bc00000000000 454656"),
        ("581206746438242824", "403a810dc74de8312080 43a021b8e9bd0624 581206746438242824"),
        ("500.0944699080813961015110", "4007fa0c179706d53664 407f4182f2e0daa7 500.0944699080813961"),
        ("-0x39p-16412", "80000000007200000000 8000000000000000 0"),
        ("797910.279233048460", "4012c2cd6477bd12b192 412859ac8ef7a256 797910.27923304846001429"),
        ("569612725899091108.0", "4039fcf57833583b9480 439f9eaf066b0773 569612725899091108"),
        ("-0x84dcd30b99p-65", "bfe584dcd30b99000000 be509b9a61732000 -0.00000001546724179"),
        ("4956823235488930485.733700e+27", "4096de458a474241645e 496bc8b148e8482d 4956823235488930485871909759160503015519027200"),
        ("-8549560634604.4070299975917", "c029f8d330c99d8d0664 c29f1a661933b1a1 -8549560634604.40703010559082031"),
        ("6.1585646914", "4001c512f6427ba06b62 4018a25ec84f740d 6.1585646914"),
        ("-1621293438746.756010795", "c027bcbe4f4b8d60c4f6 c27797c9e971ac19 -1621293438746.75601077079772949"),
        ("11.5", "4002b800000000000000 4027000000000000 11.5"),
        ("-4333242541912491.001", "c032f650fa66fb1ab004 c32eca1f4cdf6356 -4333242541912491.0009765625"),
        ("-0.944067", "bffef1ae5ffa3b9ae0c1 bfee35cbff47735c -0.944067"),
        ("+810530412326928.37617107170e22", "4079c320cb1875cef24a 47986419630eb9de 8105304123269283761796294335428296704"),
        ("+0.06055645376202", "3ffaf80a0b478387f152 3faf014168f070fe 0.06055645376202"),
        ("-2653852.86E+4", "c021c5ba39eb00000000 c218b7473d600000 -26538528600"),
        ("-6085896497778.69965214137058895762", "c029b11f765d4e56638d c29623eecba9cacc -6085896497778.69965219497680664"),
        ("-0x9d3a1ff120ede9p-16415", "80179d3a1ff120ede900 8000000000000000 0"),
        ("-29166035930.9273E0", "c021d94dcc7b5dac710d c21b29b98f6bb58e -29166035930.92730000056326389"),
        ("30908632493.5507787602307e-22", "3fd8d9800ad4f8d4b3c0 3d8b30015a9f1a96 0.00000000000309086"),
        ("976094245819836.019111557715426690e+21", "4076bbfd297206bcced9 47677fa52e40d79a 976094245819836019105884996812931072"),
        ("5687737.4101910412087973815032e-24", "3fc5d1d7293882274f1e 3c5a3ae5271044ea 0.00000000000000001"),
        ("-68e+18", "c040ebec21ee1da40000 c40d7d843dc3b480 -68000000000000000000"),
        ("99396726961615724.2697788728154038136586", "4037b09065f53119b623 4376120cbea62337 99396726961615724.2734375"),
        ("836768279676.57238439", "4026c2d346ac7c9287c9 42685a68d58f9251 836768279676.57238441705703735"),
        ("+34951006422994574881.1308236241754153376", "403ff2857594e87e6f11 43fe50aeb29d0fce 34951006422994574882"),
        ("957.619E-20", "3fc6b0a64758337916fd 3c6614c8eb066f23 0.00000000000000001"),
        ("-49026773322811633.226053440743400", "c036ae2d973063c8f13a c365c5b2e60c791e -49026773322811633.2265625"),
        ("176.00261", "4006b000ab0c88a47ed0 4066001561911490 176.00261"),
        ("-0x110158394dp16365", "ERR"),
        ("90233920.697E35", "408dcf2abb6565748520 48d9e5576cacae91 9023392069699999999807419133289297233313792"),
        ("+14098615068022.238007e-10", "4009b03b9176b69aa601 409607722ed6d355 1409.86150680222380072"),
        ("8921739715771402436.29281e+30", "40a1c35814a58fb0a19a 4a186b0294b1f614 8921739715771402436281007343335292487786588798976"),
        ("+84678348.6988713852691948903807", "4019a182d9965d2785fb 4194305b32cba4f1 84678348.69887138526974013"),
        ("74371009562470446.2446245e+6", "404afbfa916fa92164ba 44af7f522df5242d 74371009562470446243840"),
        ("0x90e1b1p-19", "400390e1b10000000000 40321c3620000000 18.11020088195800781"),
        ("2272528099951.49341890506274", "402884474eba9bdf942d 428088e9d7537bf3 2272528099951.49341893196105957"),
        ("-746.3877294517691293669e21", "c04e9e0dc2881cb5b628 c4e3c1b8510396b7 -746387729451769129336832"),
        ("767755578595218.431370876047153382", "4030ae9141a255e49b9c 4305d228344abc93 767755578595218.431396484375"),
        ("+10.27430561E+18", "403e8e95aa8445da6400 43e1d2b55088bb4c 10274305610000000000"),
        ("-0x4b93e178f48c2c06bp-16452", "800009727c2f1e918581 8000000000000000 0"),
        ("+152.78748341298898208324", "400698c9988350ee1da2 40631933106a1dc4 152.78748341298898208"),
        ("859302423040108.1e-12", "4008d6d35ae62ab48e4f 408ada6b5cc55692 859.30242304010810001"),
        ("177.93486519733", "4006b1ef535358b37093 40663dea6a6b166e 177.93486519732999999"),
        ("-0xbp-94", "bfa4b000000000000000 ba46000000000000 0"),
        ("+49.726002538556051E-4319", "07f995f72a56c689f4d7 0000000000000000 0"),
        ("167464432737069976.48463880604084682", "403894bd00ea738ae61f 438297a01d4e715d 167464432737069976.484375"),
        ("-0x24c2b28f14aae3p16367", "ERR"),
        ("-398474776501618398.1991096E-2312", "a2398ff569e38a39b11c 8000000000000000 0"),
        ("+46516998242430704.67611417578221469E+9", "405499e96e1c427d5ced 45433d2dc3884fac 46516998242430704676765696"),
        ("13935668778756.86544131708614757", "402acaca6965704dd8d9 42a9594d2cae09bb 13935668778756.86544132232666016"),
        ("3377278247451165305.993997393081", "403cbb7a02b09bec09e8 43c76f4056137d81 3377278247451165306"),
        ("725791850366.6799378815271841693517E24", "40768bc84d0eac4e4354 47617909a1d589c8 725791850366679937847424993151942656"),
        ("0x3d9209dp23", "402ff648274000000000 42fec904e8000000 541579513167872"),
        ("0x33ad87723c30b51p-16433", "0007ceb61dc8f0c2d440 0000000000000000 0"),
        ("84576579251.728259e29", "4083c6d6ad53736459d9 4838dad5aa6e6c8b 8457657925172825900011496720089563004928"),
        ("85224931362604.696999342838792", "402d9b05f3850e5964dd 42d360be70a1cb2d 85224931362604.69699859619140625"),
        ("-0x11cceb19p46", "c0498e6758c800000000 c491cceb19000000 -21015076642823511998464"),
        ("-0x670d09ba8d803p32", "c051ce1a13751b006000 c519c3426ea3600c -7786308102988886261628928"),
        ("-71210296915677541.79795", "c036fcfd6344025165cc c36f9fac68804a2d -71210296915677541.796875"),
        ("-5.33164486835999497219", "c001aa9cd5b2efc1c51c c015539ab65df839 -5.33164486835999497"),
        ("-0x59b0d10feca39f8dbp16383", "ERR"),
        ("98826932907125150.04512093522E-15", "4005c5a763c0002d6d57 4058b4ec780005ae 98.82693290712515004"),
        ("+3229413942.5025776", "401ec07cf23680a8ecf4 41e80f9e46d0151e 3229413942.50257760006934404"),
        ("+4130767318216471.735333735217631", "4032eace936a6ef17bc4 432d59d26d4dde2f 4130767318216471.7353515625"),
        ("8470.105058", "400c84586b945308bb90 40c08b0d728a6117 8470.10505799999999965"),
        ("0x3bafp49", "403deebc000000000000 43ddd78000000000 8601312338324226048"),
        ("8263177813813.97", "4029f07d78e7e6bf0a3d 429e0faf1cfcd7e1 8263177813813.96999979019165039"),
        ("0x41bad1p-87", "3fbe8375a20000000000 3be06eb440000000 0"),
        ("-278.723e+13", "c0329e6f88e0eac00000 c323cdf11c1d5800 -2787230000000000"),
        ("78175228748.384", "4023919cda9a63126e98 4232339b534c624e 78175228748.38400000333786011"),
        ("0x17ccb38084e378bp38", "405dbe659c04271bc580 45d7ccb38084e379 29462495069806503854621065216"),
        ("-474.39893580851", "c007ed3310541d607b7c c07da6620a83ac0f -474.39893580850999999"),
        ("16453777334.0856614521353126286844e34", "4091ec19a1d83fdba021 491d83343b07fb74 164537773340856614522279460099542691216359424"),
        ("-20476087218395456.88705699126904", "c035917dc92215b281c6 c3522fb92442b650 -20476087218395456.88671875"),
        ("25647894632.80233115963858033018E2", "4028954a575a3c0eeb5f 4282a94aeb4781dd 2564789463280.23311591148376465"),
        ("13.626815105", "4002da076f4689d22653 402b40ede8d13a45 13.626815105"),
        ("965.28644581", "4008f1525520ce81adc0 408e2a4aa419d036 965.28644581000000002"),
        ("+1337647972.3884383447323133023", "401d9f75c6c8c6e16406 41d3eeb8d918dc2d 1337647972.38843834470026195"),
        ("98991356580.667746285450642360", "4023b862c1d525578b5d 42370c583aa4aaf1 98991356580.66774628311395645"),
        ("37749132351196291304.93444500498377002E14", "406eba1e1a82292948eb 46e743c350452529 3774913235119629130453642417012736"),
        ("+68189858914769.1", "402cf812c14587446666 42cf025828b0e88d 68189858914769.09999847412109375"),
        ("+4451386947153385.23e-4765", "025dff41ad99cc95859c 0000000000000000 0"),
        ("4030949791.317E+2", "4025bbb4aa8477666666 42577695508eeccd 403094979131.69999998807907104"),
        ("0x1p-16460", "ERR"),
        ("9010936899", "40208645ff10c0000000 4200c8bfe2180000 9010936899"),
        ("+73374.80915491976399082e-3694", "101ff91b14adfad76aa8 0000000000000000 0"),
        ("0x1dac1226dcc7adp-91", "3fd8ed609136e63d6800 3d8dac1226dcc7ad 0.00000000000337333"),
        ("567.72274135", "40088dee4164ef6de185 4081bdc82c9dedbc 567.72274135"),
        ("+4.481", "40018f645a1cac083127 4011ec8b43958106 4.481"),
        ("-0x21317cdp-81", "bfc784c5f34000000000 bc7098be68000000 -0.00000000000000001"),
        ("2410939512381693521.5518", "403c85d582d9e9db7946 43c0bab05b3d3b6f 2410939512381693521.5"),
        ("-0xffed4e1fd95p38", "c050ffed4e1fd9500000 c50ffda9c3fb2a00 -4834323843736902200983552"),
        ("8545413.30351251E25", "406986d2a6437e6cb6c4 4690da54c86fcd97 85454133035125100000558912110592"),
        ("0.74209", "3ffebdf99c38b04ab607 3fe7bf3387160957 0.74209"),
        ("-5563.3509186975447837", "c00baddaceae764c13fe c0b5bb59d5cec982 -5563.35091869754478378"),
        ("808537574868479902.93266834110065118614", "403ab3880a3f9976f9ef 43a6710147f32edf 808537574868479902.9375"),
        ("+8543613614015.3433464554718257547145e+7", "40419435442519f845af 441286a884a33f09 85436136140153433464"),
        ("+71358010251.68927837671192786E-2979", "197b82bd8d97caa8db7f 0000000000000000 0"),
        ("+0.98713e-4283", "086b8f56a3023d33cfa5 0000000000000000 0"),
        ("-946221973296260.602335809823083046162", "c030d7255e263521268d c30ae4abc4c6a425 -946221973296260.60235595703125"),
        ("-1833.97828536102123268e-34", "bf98ee1061cbacdb00da b98dc20c39759b60 0"),
        ("+1927703.11676271749351", "4013eb50b8ef214aa837 413d6a171de42955 1927703.11676271749354328"),
        ("-996959.554374399E-23", "bfc6b7e81576c53bfffa bc66fd02aed8a780 -0.00000000000000001"),
        ("35260625024855567.932243", "4035fa8ab40a545c1fdd 435f5156814a8b84 35260625024855567.931640625"),
        ("-0x1db325p-16467", "ERR"),
        ("3.060155599266342", "4000c3d996dee14b4adb 40087b32dbdc2969 3.060155599266342"),
        ("-8966.7748589114332379", "c00c8c1b19749d4e7acc c0c183632e93a9cf -8966.77485891143323826"),
        ("456.903810674144", "4007e473b011739cb259 407c8e76022e7396 456.90381067414399999"),
        ("0x1bd70dfp-16437", "000000000001bd70df00 0000000000000000 0"),
        ("-2.409", "c0009a2d0e5604189375 c00345a1cac08312 -2.409"),
        ("-0xbaa81c5583e9d571bp45", "c06fbaa81c5583e9d572 c6f755038ab07d3b -7571694573087040506912167077871616"),
        ("418403022305854324.520605258771286E+38", "40b7da6aa441e9b0799e 4b7b4d54883d360f 41840302230585432452230107357937768722158383410731548672"),
        ("187057769098.9697308", "4024ae360c2a2be1011c 4245c6c185457c20 187057769098.96973079442977905"),
        ("-2919354496460567.9179437324", "c032a5f232fbc2717eb0 c324be465f784e30 -2919354496460567.91796875"),
        ("718.2426634681898581487e+25", "405bb9a950006a7b6f8c 45b7352a000d4f6e 7182426634681898581683601408"),
        ("-62661.000917038388428783", "c00ef4c5003c1959e332 c0ee98a007832b3c -62661.0009170383884296"),
        ("+9334744659791.6830584552", "402a87d6a23b74faedcf 42a0fad4476e9f5e 9334744659791.68305873870849609"),
        ("18016054517241.57771674E+26", "4081a96c12d6ff17de8d 48152d825adfe2fc 1801605451724157771615238426479873228800"),
        ("693736", "4012a95e800000000000 41252bd000000000 693736"),
        ("-0x14e8801p10", "c021a744008000000000 c214e88010000000 -22450013184"),
        ("0.102686672186271317743", "3ffbd24d63d6336be426 3fba49ac7ac66d7d 0.10268667218627132"),
        ("8121.027066109726798174555", "400bfdc8376e6fc0da35 40bfb906edcdf81b 8121.02706610972679835"),
        ("19.01243160564000430897", "4003981975bddd48e22e 4033032eb7bba91c 19.01243160564000431"),
        ("-0x1p-94", "bfa18000000000000000 ba10000000000000 0"),
        ("2358767494.8326084444809", "401e8c97ef86d525d3b7 41e192fdf0daa4ba 2358767494.8326084443833679"),
        ("+30.5948314917229", "4003f4c237035ca5605c 403e9846e06b94ac 30.5948314917229"),
        ("0.698964940705259366883e-38", "3f80983898fd31af8f8e 380307131fa635f2 0"),
        ("-592130413.7703934", "c01c8d2cc5b714e201e8 c1c1a598b6e29c40 -592130413.77039339998736978"),
        ("8470387624463.82724173", "4029f6854e4141fa78c4 429ed0a9c8283f4f 8470387624463.82724189758300781"),
        ("195.6E19", "4045d411e7e955f02000 445a823cfd2abe04 1956000000000000000000"),
        ("+6253.6848127", "400bc36d7a7f14b3156c 40b86daf4fe29663 6253.68481270000000016"),
        ("9835677872.72663635063819", "40209290222c2e8135c1 420252044585d027 9835677872.72663635108619928"),
        ("+5350348753705.26372696045656598E30", "408cf5ad0c1f1202fce1 48ceb5a183e24060 5350348753705263726898423375972857064456192"),
        ("-20888828988747498965.013431327124312229543", "c03f90f203a55016a2eb c3f21e4074aa02d4 -20888828988747498966"),
        ("0x5c527eb163p-74", "3fdbb8a4fd62c6000000 3db7149fac58c000 0.00000000002099165"),
        ("646830229551.61976939", "4026969a16082f9ea935 4262d342c105f3d5 646830229551.6197693943977356"),
        ("+2054623236494711.226163646352182637131", "4031e995680512aee73d 431d32ad00a255dd 2054623236494711.2261962890625"),
        ("-8906376354720.4547870985229497203521", "c02a819ad661ba0746cf c2a0335acc3740e9 -8906376354720.45478725433349609"),
        ("-0x10582b36d01p-16471", "80000000000000004161 8000000000000000 0"),
        ("983966186643503981.65404e+19", "4079ece19922510cec12 479d9c33244a219e 9839661866435039816505495209063219200"),
        ("-0x900dbp-90", "bfb8900db00000000000 bb8201b600000000 0"),
        ("0x425c1p-16398", "000384b8200000000000 0000000000000000 0"),
        ("0x5b5ddp-38", "3febb6bba00000000000 3eb6d77400000000 0.00000136146627483"),
        ("7370.4410396968856e-1443", "2d529e2a750c23d47c6b 0000000000000000 0"),
        ("-35433.74985334740855921e28", "c06b8bc2f1a8b30cbced c6b1785e35166198 -354337498533474085592609887092736"),
        ("0x1707eda9667ac6e369p-77", "3ff6b83f6d4b33d6371b 3f6707eda9667ac7 0.00281139772705727"),
        ("-762.761757", "c008beb0c0a06e9ff0cc c087d618140dd3fe -762.76175700000000002"),
        ("62373221844745.775294310344e+36", "40a4aab5bfff8ad6ee31 4a4556b7fff15ade 62373221844745775295768357659397137092787950321664"),
        ("-56574634055.22874", "c022d2c1c68473a8eb46 c22a5838d08e751d -56574634055.22873999923467636"),
        ("22181440181.981820034090086", "4021a543bd56bf6b11d9 4214a877aad7ed62 22181440181.98182003386318684"),
        ("-1824276452653.06779", "c027d45facca9688ad58 c27a8bf59952d116 -1824276452653.06779003143310547"),
    ];

    /// Inputs `string2ld` refuses.
    const REFUSED: &[&[u8]] = &[
        b"",
        b"1e",
        b"e1",
        b" 1",
        b"1 ",
        b"\x091",
        b"\x0a1",
        b"nan",
        b"-nan",
        b"NaN",
        b"nan(123)",
        b"1e5000",
        b"-1e5000",
        b"1e-5000",
        b"-1e-5000",
        b"1e99999999999999999999",
        b"1e-99999999999999999999",
        b"0x",
        b"0x.p1",
        b"0xp1",
        b"0x1p",
        b"0x1p+",
        b"0x.",
        b"0xg",
        b"1.2.3",
        b"--1",
        b"+-1",
        b"-+1",
        b"+",
        b"-",
        b".",
        b".e1",
        b"1e+",
        b"1e-",
        b"infx",
        b"infinit",
        b"infinityy",
        b"in",
        b"1_000",
        b"1,5",
        b"0b101",
        b"1f",
        b"1d",
        b"0x1.0000000000000001p-16446",
        b"0x1.0000000000000001p-16447",
        b"1.18973149535723176509e+4932",
        b"0x1p16384",
        b"1\x00",
        b"1\x001",
        b"\xa01",
        b"1\xa0",
        b"\x0b1",
        b"\x0c1",
        b"\x0d1",
    ];

    /// `(a, b, expected)`: expected is the x87 encoding of `a + b` computed
    /// by the FPU and its `ld2string(LD_STR_HUMAN)` text.
    const SUMS: &[(&str, &str, &str)] = &[
        ("0.1", "0.2", "3ffd999999999999999a 0.3"),
        ("10.5", "0.1", "4002a99999999999999a 10.6"),
        ("9223372036854775807", "0.5", "403dffffffffffffffff 9223372036854775807.5"),
        ("9223372036854775807", "1", "403e8000000000000000 9223372036854775808"),
        ("-9223372036854775808", "-0.5", "c03e8000000000000000 -9223372036854775808"),
        ("1e308", "1e308", "43ff8e679c2f5e44ff8f 199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"),
        ("1e308", "0", "43fe8e679c2f5e44ff8f 99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048"),
        ("0", "1e400", "452fda763fc8cb9ff9e6 10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"),
        ("1e4932", "1e4932", "7fff8000000000000000 inf"),
        ("-1e4932", "-1e4932", "ffff8000000000000000 -inf"),
        ("inf", "-inf", "ffffc000000000000000 nan"),
        ("inf", "1", "7fff8000000000000000 inf"),
        ("-inf", "-inf", "ffff8000000000000000 -inf"),
        ("-0", "-0", "80000000000000000000 0"),
        ("-0", "0", "00000000000000000000 0"),
        ("0", "-0", "00000000000000000000 0"),
        ("1", "-1", "00000000000000000000 0"),
        ("-1", "1", "00000000000000000000 0"),
        ("-0.000000000000000001", "0", "bfc39392ee8e921d5d07 0"),
        ("-0.000000000000000006", "0", "bfc5dd5c65d5db2c0b8b -0.00000000000000001"),
        ("0.000000000000000005", "0", "3fc5b877aa3236a4b449 0"),
        ("0.000000000000000015", "0", "3fc78a59bfa5a8fb8737 0.00000000000000002"),
        ("0x1p-18", "0", "3fed8000000000000000 0.00000381469726562"),
        ("0x3p-18", "0", "3feec000000000000000 0.00001144409179688"),
        ("3.6e-4951", "3.6e-4951", "00000000000000000002 0"),
        ("3.6e-4951", "-3.6e-4951", "00000000000000000000 0"),
        ("0x1p-16445", "0x1p-16382", "00018000000000000001 0"),
        ("0x1.fffffffffffffffep-16383", "0x1p-16445", "00018000000000000001 0"),
        ("1", "0x1p-64", "3fff8000000000000000 1"),
        ("1", "0x1.8p-64", "3fff8000000000000001 1"),
        ("1", "0x1p-65", "3fff8000000000000000 1"),
        ("0x1.0000000000000002p0", "0x1p-64", "3fff8000000000000002 1"),
        ("1", "-0x1p-65", "3fff8000000000000000 1"),
        ("1", "-0x1p-64", "3ffeffffffffffffffff 1"),
        ("1", "-0x1.0000000000000001p-64", "3ffeffffffffffffffff 1"),
        ("1", "-0x1p-200", "3fff8000000000000000 1"),
        ("1e20", "-1e20", "00000000000000000000 0"),
        ("1e-10", "1e10", "40209502f90000000000 10000000000"),
        ("3.0e-5", "1.5", "3fffc000fba8826aa8eb 1.50003"),
        ("123.456", "-123.455", "3ff583126e978d500000 0.001"),
        ("0.1", "-0.1", "00000000000000000000 0"),
        ("1.1", "2.2", "4000d333333333333334 3.3"),
        ("0.7", "-1.1", "bffdccccccccccccccce -0.4"),
        ("1e15", "0.1", "4030e35fa931a0000666 1000000000000000.0999755859375"),
        ("1e17", "0.5", "4037b1a2bc2ec5000040 100000000000000000.5"),
        ("1e18", "0.5", "403ade0b6b3a76400008 1000000000000000000.5"),
        ("-1e18", "-0.5", "c03ade0b6b3a76400008 -1000000000000000000.5"),
        ("0x10", "0x.8", "40038400000000000000 16.5"),
        ("1.18973149535723176502e+4932", "1e4913", "7fff8000000000000000 inf"),
        ("-1.5", "0.5", "bfff8000000000000000 -1"),
        ("2.5", "-5", "c000a000000000000000 -2.5"),
        ("-807443400190180469.7760922695161e22", "807443400190180469.7760922695161e27", "409490d39ca40bf464b5 807435325756178567942574208078502768226074624"),
        ("363854.8368259891489266690747", "-363854.8368259891489266690745", "00000000000000000000 0"),
        ("+642", "-641", "3fff8000000000000000 1"),
        ("+2880005651.77712492135776359931", "0xe11a4fp-16417", "401eaba96613c6f1a8aa 2880005651.77712492132559419"),
        ("7.1490896348005454440638", "-1.679712841190e+33", "c06da5a1e9d1c707b5ae -1679712841189999999931554801385472"),
        ("-7790386460660707.1017e+4", "0x870c43b811544d4f49p-18", "c04187200ba1519d9043 -77894361454895464984"),
        ("7.359e30", "1449981.05", "4065b9c46c416c152cae 7359000000000000000201460809728"),
        ("-0xe2ffc3e2515bcfp-16499", "34811219045084760.44208342519E+4", "404396f83786b36f32f6 348112190450847604416"),
        ("255118.14647201E34", "-255118.14647201E33", "4081d7ebb6b75b1c0d31 2296063318248089999942083763231363432448"),
        ("+7529902939238.55183689861444E-16", "-7529902939238.55183689861444E-11", "c0059698b7af404dcbaa -75.29827640209159452"),
        ("-6072679.154", "-5.358765", "c015b952d90689225311 -6072684.51276499999994485"),
        ("685486589530.7389E33", "-685486589530.7389E36", "c09defe71643b8a7c2fc -684801102941208161109239657166763643427606233088"),
        ("+43433608.516393762549", "422638.6012585407085621037903", "4018a74c5dc7879d86b2 43856247.11765230325545417"),
        ("2304379.69285441", "-2304379.69285446", "bfe6d6bf800000000000 -0.00000004999992598"),
        ("0x76c50af32494f11ec9p59", "-0x76c50af32494f11ec9p52", "4080ebaf01ba7c978e7a 1253109064068424072461506617517438664704"),
        ("96006324589.3470973", "-96006324589.3470971", "3fe8d800000000000000 0.00000020116567612"),
        ("-0x4addf370a94e70d85dp-16467", "-1", "bfff8000000000000000 -1"),
        ("-985856763941665.2290179", "985856763941665.2290170", "00000000000000000000 0"),
        ("-425348154224500.561", "80.5148126", "c02fc16d0ad1b79205ea -425348154224420.04620361328125"),
        ("+44670513403.641672263314818057", "-44670513403.641672263314818054", "00000000000000000000 0"),
        ("47766372711.475523e-20", "-47766372711.475523e-22", "3fe081fc787c86ce0c82 0.00000000047288709"),
        ("-24.9853979062287657", "24.9853979062287654", "bfcbad00000000000000 -0.0000000000000003"),
        ("+245577376559.780043660600", "81754.8031957387369507899", "4024e4b63a8a2a553cb6 245577458314.58323940634727478"),
        ("33021120716312.331181364E-775", "-5724642719242509.62051e6", "c0479b2ab03f58d6040b -5724642719242509620736"),
        ("+77505312317017008.6510e+22", "-77505312317017008.6510e+25", "c08a8e3661409e0de947 -774278070046999916452932923925601988902912"),
        ("+5157599904.06e30", "906677422.08467770147", "4082f28259c115a6b915 5157599904060000000057606260615609843712"),
        ("+300411210835976.18442e+34", "-300411210835976.18442e+39", "c0b0c8bae8b605965899 -300408206723867824677358292376069449561371114056187904"),
        ("+984682.2106207", "-984682.2106204", "3fe9a10fb00000000000 0.00000030000001061"),
        ("+28422576332532.737034034415", "-28422576332532.737034034411", "00000000000000000000 0"),
        ("-0x4271p-16399", "83376.2", "400fa2d819999999999a 83376.20000000000000284"),
        ("-0.51350991", "+99525987.5876590018182344617448", "4019bdd4ac625f6dea8c 99525987.07414909181534313"),
        ("677782708626298.2042E+17", "-47337644396523109.96070729654", "4068d5ded9e7092d53ad 67778270862629773084537558925312"),
        ("+929067334236329152.19260", "+8540618522.257251442661183343883", "403ace4b5d36aa2d3da7 929067342776947674.4375"),
        ("62930858.9176258988057411", "-62930858.9176258988057410", "00000000000000000000 0"),
        ("8299.705266680069973", "-8299.705266680069975", "bfcec000000000000000 -0.00000000000000266"),
        ("+2271.3800048536", "-2271.3800048535", "3fdddbe7000000000000 0.00000000010000001"),
        ("142.477", "-142.473", "3ff783126e978d4f8000 0.00399999999999999"),
        ("-0x1p31", "-3054816536523.34189435071E+11", "c04d816063231b43e2f7 -305481653652336336928768"),
        ("-0x309930eaf33p-16391", "0x309930eaf33p-16395", "8021b63e77710ff40000 0"),
        ("-0x8eb2e907c4d55p-13", "0x8eb2e907c4d55p-11", "4026d60c5d8ba73ff800 919330458535.2498779296875"),
        ("-0x2bde6c783p-16414", "0x2bde6c783p-16414", "00000000000000000000 0"),
        ("86311.063394E-1822", "-86311.063394E-1824", "286ae381e27cce13f657 0"),
        ("11704011574456475.6412084393903E5", "7002541490302.07198078", "4044fdca50e80ed76bf7 1170401164448189054400"),
        ("-5469736667181852163.86748828499122394E-40", "0xd982f1p-16401", "bfb8a55009a3b286f836 0"),
        ("+859.1e-33", "+90879802.951032854408375", "4019ad56e75e6edc73e3 90879802.95103285440563923"),
        ("787.5671143925737454463", "8.9838086600395229683439", "4008c7234252c36588cf 796.5509230526132684"),
        ("1.7237847379233358", "-1.7237847379233351", "3fccc9c8000000000000 0.0000000000000007"),
        ("193848674.399739562", "-243418018047871.2733712094428", "c02edd6320f1821cdfa7 -243417824199196.8736419677734375"),
        ("4149419260455484.714867045960141592E-26", "-4149419260455484.714867045960141592E-22", "bfe9debf7b2c93da75c0 -0.00000041490043185"),
        ("-0x9p-51", "55.85855464668301004666e25", "4057e7068b93307ae539 558585546466830100472004608"),
        ("-0x41920571fb28a03p30", "0x2191257cc72206d7p-16372", "c05783240ae3f6514060 -317078976913492988041101312"),
        ("-0.47987", "0.47989", "3fefa7c5ac471b478000 0.00002"),
        ("38351886304.7e-4833", "-35947.5704860738519E4", "c01bab694fc6e2cae06c -359475704.86073851899709553"),
        ("-73476501.238577713585E+32", "0xfada89e88610c27fp-49", "c083acbe0f83fa1387d1 -7347650123857771358506042770454806003712"),
        ("19751577168336482815.965480261485", "7538477881785727.46772312095787683", "403f891b3d7ef859f7c0 19759115646218268544"),
        ("+7911967315525.64736305559748344011", "36210120423731092194.6412322357878", "403ffb421bef984e1894 36210128335698407720"),
        ("-8.4053717996610419669017", "+68.972301432043996768631", "4004f244893398df53e3 60.56692963238295481"),
        ("-0x7bbd5f23471d3adp-16481", "0x7bbd5f23471d3adp-16484", "800000000000006c45b3 0"),
        ("401789593294650.57354608", "-401789593294650.57354606", "00000000000000000000 0"),
        ("-3709483983211747382.869972142628759e-7", "-7123862431018.5254342016114502e+3", "c033ca7b9ebf045874df -7124233379416846.60888671875"),
        ("-7.70654756549242", "0xe2a24fe5841f7b77p-16407", "c001f69c09a3db77b3a9 -7.70654756549242"),
        ("-0x373p-111", "0x373p-115", "bf99cef4000000000000 0"),
        ("+423842060113.78e15", "-423842060113.78e11", "4057af47893ba25fd4e3 423799675907768622006665216"),
        ("-83021161227.02529922121355045", "18369977366460935895.0870E-12", "c0239a9ad0aa8d454d02 -83002791249.65883828699588776"),
        ("-751975377.826171202", "751975377.826171202", "00000000000000000000 0"),
        ("0x78e1p-16370", "-0x78e1p-16371", "001af1c2000000000000 0"),
        ("519443.932", "-519443.934", "bff683126e9790000000 -0.00200000000000955"),
        ("-9575490067357.581529", "843429631315053.374855577852429648", "4030bd98b2f88c33f2c6 833854141247695.7933349609375"),
        ("+16428822.489740373538480e-4", "881.29710089", "400a9dc2de9df68951d8 2524.17934986403735387"),
        ("1124571.282504512", "1173.73193943708201707733E17", "4041cb9c2b40b3fa6378 117373193943709326272"),
        ("7359.087672213124122631612", "-25.87552", "400be529b27cdc092315 7333.21215221312412291"),
        ("1238042925613.5191678971887786", "-1473889564644757.906968237999087189583", "c031a76bccda8f6d0c69 -1472651521719144.3878173828125"),
        ("51711607589423.8147946734302201813732", "-51711607589423.8147946734302201813734", "00000000000000000000 0"),
        ("53690374620668134.116425e-18", "-53690374620668134.116425e-18", "00000000000000000000 0"),
        ("+685149816874239006e+15", "+0.74011659", "406c871f39d4d9bb174e 685149816874239005968197222400000"),
        ("+146288996710184.9592483236854e-3", "-146288996710184.9592483236854e-5", "402486e13c0ddc551ab3 144826106743.08310966193675995"),
        ("0x1f12a2d2ed4e9d7p-16442", "-0x1f12a2d2ed4e9d7p-16440", "80002e9bf43c63f5ec28 0"),
        ("72228948580081961.48785", "-72228948580081961.48786", "00000000000000000000 0"),
        ("-941190810.822577399068382924", "452146765310138.107689268805", "402fcd9cb39ddd0fa47f 452145824119327.285125732421875"),
        ("3094.12661427581216851", "-0x8ba3d76797bfp9", "c0378ba3d76797b8f4f0 -78610334628147689.875"),
        ("+2054923314482.27259821091848461227", "-2054923314482.27259821091848461226", "00000000000000000000 0"),
        ("2503144926962447.727552", "-2503144926962447.727551", "00000000000000000000 0"),
        ("883021653712230.92335694777718262", "762.007632070841", "4030c8c69fffe8183b95 883021653712992.93096923828125"),
        ("1.6692E-34", "+670405592432000.352549185251026", "4030986ebdcc4f601690 670405592432000.3525390625"),
        ("7662406517.24254990e9", "+73477196078267776761.1422622", "40418cc138d5443832b0 81139602595510326656"),
        ("-0x5f540803fb2fp-16371", "0x5f540803fb2fp-16371", "00000000000000000000 0"),
        ("37993.966935609e+39", "825.334355e38", "408fda8c638c1c09e6c7 38076500371108999999779080342693798274400256"),
        ("+454169.53264566013385573", "1.991141283854687e-4", "4011ddc3310d107be9a0 454169.5328447742622302"),
        ("+41.0345754e14", "-41.0345754e17", "c03ce38f5346564d7c00 -4099354082460000000"),
        ("-0x3fa277d520857p-16465", "0x3fa277d520857p-16467", "8000000000002fb9d9e0 0"),
        ("-610343557603.62565760418558", "610343557603.62565760418550", "00000000000000000000 0"),
        ("-0x18b0d8d761p-16480", "-27725752716694.81", "c02bc9bb3d226cb67ae1 -27725752716694.80999946594238281"),
        ("80.09492554933", "-80.09492554937", "bfdcafec000000000000 -0.00000000004"),
        ("0x1500f87p-56", "-6582365012.0048321712440154124", "c01fc42b75aa009e5730 -6582365012.00483217090368271"),
        ("180865170435.6814436544358420446", "-180865170435.6814436544358420444", "00000000000000000000 0"),
        ("+80512998187097473.978438574185", "-80512998187097473.978438574182", "00000000000000000000 0"),
        ("2482571967634833917.056662348247714743028E19", "7510938551429208407E+32", "40a8807ad553822a963a 751093855142945666429244899485572543919109905055744"),
        ("78170920.1", "-0.64619099051719518", "4019951964ee859a78cb 78170919.45380900947930058"),
        ("13888806436.7304982358770", "-13888806436.7304982358772", "00000000000000000000 0"),
        ("2604.7610839390482883", "0xc86697736d1p-77", "400aa2cc2d665a41d5a9 2604.76108393913941996"),
        ("888436123085757.240230551512", "-888436123085757.240230551511", "00000000000000000000 0"),
        ("35.036428095E-1522", "-35.036428095E-1520", "ac4adca4fe2eb2379eab 0"),
        ("-1606259719117708869", "1606259719117708868", "bfff8000000000000000 -1"),
        ("8706325673167.3272198600912607548", "-8706325673167.3272198600912607546", "00000000000000000000 0"),
        ("+63897298565326473.549278614525860144E+7", "8423141169.044732069018210549E+13", "404e9924fd2b02fd5c68 723204397343712056180736"),
        ("-3580.258573151", "-71990.818752", "c00f939989e5ca615a05 -75571.0773251510000037"),
        ("0x953d63c4dc6465p-16442", "48.754854358", "4004c304f88a73698cbf 48.754854358"),
        ("54249058351706724755.898443555", "+6865.9E-31", "4040bc36d7c9693ab665 54249058351706724756"),
        ("-0x1e96eb0e7p-45", "0x1e96eb0e7p-49", "bff2e56be2ec48000000 -0.00021879332668284"),
        ("-15572442902408.63186521521096", "15572442902408.63186521521096", "00000000000000000000 0"),
        ("0xb5p-16451", "0x1f7cdp21", "4024fbe6800000000000 270475984896"),
        ("57809923526275.686748504791e-12", "-0xf07p-65", "4004e73d5c97c675d520 57.80992352627568664"),
        ("3498818146786185.7097019137868191161e2", "3352412893002792143.0E-1605", "40399b60f503a938395f 349881814678618570.96875"),
        ("-73478999813646.004929205497", "73478999813646.004929205495", "00000000000000000000 0"),
        ("0xb380978070335bp-16440", "1713.8780", "4009d63c189374bc6a7f 1713.878"),
        ("902478.11", "-902478.13", "bff9a3d70a3d70000000 -0.01999999999998181"),
        ("70004045388.053E4", "-70004045388.053E8", "c03dc247e44f79e1609c -6999704498351419470"),
        ("-93299.6518", "93299.6519", "3ff1d1b71758c0000000 0.00009999999999621"),
        ("9356830106900668.09293202664E-2", "-9356830106900668.09293202664E-2", "00000000000000000000 0"),
        ("-8.856554527e-3", "8.856554527e-4", "bff882985fb601653efc -0.0079708990743"),
        ("79.46728522345147387194", "-79.46728522345147387195", "00000000000000000000 0"),
        ("+36217312963174602.8953773053326", "-36217312963174602.8953773053323", "00000000000000000000 0"),
        ("43221.7591129155555957906E+7", "-43221.7591129155555957906E+4", "4025c910d3dec40d845b 431785373538.02640041708946228"),
        ("0x556abcd009da8afp-16487", "61668535.8186212990441152462848E23", "40659bac5b725d7e5b4a 6166853581862129904252467806208"),
        ("-8519939660346328.6813887367", "-23080262995.878927764141649", "c033f226e3453a89647b -8519962740609324.56005859375"),
        ("95157601501.4910959850383120575", "-95157601501.4910959850383120577", "00000000000000000000 0"),
        ("156889.45798125585587459e-1380", "-156889.45798125585587459e-1384", "2e27ffbab38db8c4febb 0"),
        ("-984259379060223.79916225064145917916", "984259379060223.79916225064145917916", "00000000000000000000 0"),
        ("44074368794268742131.613527070868803421", "1224656309420.28273657474984054E+23", "4073bcb02c9b1a8f5e00 122465630942028317726082680112545792"),
        ("-6.2314545546231092965", "+8787829117804293884.7135921934288137542", "403df3e9480ba31e5ded 8787829117804293878.5"),
        ("13747.713351", "0x58cd3b7p7", "4020b19a844ceda78af4 11918774579.71335100010037422"),
        ("23889808417441.412091960517205805312E+13", "-23889808417441.412091960517205805312E+15", "c05d98d7262475738e3f -23650910333266997972391952384"),
        ("-0xff2efe7p-23", "0xff2efe7p-21", "4005bf633ed400000000 95.69383871555328369"),
        ("-0x10f7b520c90bbp-66", "+7667888248927332.45", "4033d9ef3ada09a3239a 7667888248927332.4501953125"),
        ("+250307808.60402371461", "+35834887441302.93279424632584449", "402c825e129fc1de25b3 35835137749111.53681564331054688"),
        ("-24773.970452651", "389369418894058.195495358945510", "402fb11090f2f5121cce 389369418869284.22503662109375"),
        ("8.449", "-8.447", "3ff683126e978d4fe000 0.002"),
        ("+237026740197353240.924030013832165", "-283.62464906212236587", "4038d285a41eeed97f53 237026740197352957.296875"),
        ("40053913156458837.5091815534558", "0xf1bf9p-30", "40368e4cd2618e195582 40053913156458837.5078125"),
        ("60025839941308660677.318479711331", "-174845619.2208078897280326509", "4040d041a7d956ef1344 60025839941133815056"),
        ("+27854506796485.584629560918393594", "-27854506796485.584629560918393590", "00000000000000000000 0"),
        ("225478351137397.338688340772277", "-3782845431.09723298", "402ecd11638c867e3dd0 225474568291966.241455078125"),
        ("-0x6c45a207b6209bafp-53", "71180453044.38583943", "402384957c0a91adb10e 71180452178.20981036126613617"),
        ("-73207120591526667761.6346575799544", "76.7368423e+33", "4072ec76b1e3b1959abc 76736842299999926793716221163339776"),
        ("1.6723608139327523052E11", "-21983117209619530766.088576298866064457E-23", "40249bc0305bc5199c67 167236081393.27501069009304047"),
        ("2041331608345393.16035", "-6441768316.6870338749664", "4031e81261ad98b68f26 2041325166577076.473388671875"),
        ("+339558864540958.6815616E5", "-339558864540958.6815616E9", "c04d8fcb5d468a6b2fe7 -339524908654504585691136"),
        ("19.97381037918296E29", "-19.97381037918296E26", "4063c97b756794b5d934 1995383656880377703952101146624"),
        ("156445639.551160452E-12", "-156445639.551160452E-12", "00000000000000000000 0"),
        ("424565123870982.925628426782485", "-424565123870982.925628426782485", "00000000000000000000 0"),
        ("93361.3520778489382966995202E15", "-93361.3520778489382966995202E16", "c044b6335d7e58851504 -840252168700640444672"),
        ("+841293822319.5276492e+27", "838217485474789130e+22", "4083d8d7bb9cef3d1b44 9223468677067418948977085528247472488448"),
        ("-9666409.512280592e-525", "9666409.512280592e-525", "00000000000000000000 0"),
        ("0x67ca3bp-16379", "-0x67ca3bp-16376", "801db5a1e74000000000 0"),
        ("+7.2151635721997394142657", "-7.2151635721997394142654", "00000000000000000000 0"),
        ("-35438677072614.045594633681298923", "0x56c2f99p-16389", "c02c80ecd7086b982eb0 -35438677072614.04559326171875"),
        ("+23610833863192535.140611603228666", "6094446608983364.3292702E33", "40a185708e0093d6dcc6 6094446608983364329562256195268757317399701618688"),
        ("+69905127733", "-958214543.94E15", "c04ecae8ea1d7b2110cc -958214543939930094829568"),
        ("3855858323839073.464e+0", "+36455.2436998267673774254052E26", "4064b80d4c5364d07e75 3645524369982680593631027396608"),
        ("0x3724a5fp-16429", "-0x3724a5fp-16420", "80000006e12273a10000 0"),
        ("760096191401064048.4301223E-12", "+819382643803.431712268940177206413", "4026bec70e857b9f845b 819383403899.62311333417892456"),
        ("-0xfd5798cf0d9p-16446", "0xfd5798cf0d9p-16445", "0000000007eabcc6786d 0"),
        ("-0.2703966678118e1", "0.2703966678118e5", "400dd339ecf605bb653b 27036.96281450188199891"),
        ("0x1095d80fdbp-27", "0xdfp-16388", "400884aec07ed8000000 530.73049899190664291"),
        ("49392588588776.220254217036241258", "-49392588588776.220254217036241257", "00000000000000000000 0"),
        ("+3105135.0809E+23", "-3105135.0809E+20", "4060fa9479cbf717555d 310202994581909999995657912320"),
        ("-62425811.9292848828", "1.49E-1", "c018ee22b4f1f030014c -62425811.78028488279960584"),
        ("-666.6207E+20", "617632.450588609002998", "c04ae1dc20ff23750159 -66662069999999999381504"),
        ("-0x1p57", "0x159099fae5p3", "c037ffffa9bd98146c00 -144114447113267416"),
        ("0x3d699beae0049f0bp-17", "-0x3d699beae0049f0bp-18", "402af5a66fab80127c2c 16880949180417.15531539916992188"),
        ("-0x34d3eb403536231p-16394", "+8.00655573143691647475", "4002801ada2ec1f77615 8.00655573143691647"),
        ("33.50405198853732", "-33.50405198853735", "bfd2871c000000000000 -0.00000000000003"),
        ("-0xc1f5b9b8e67p-51", "+41650788885344.031123775275", "402c978651e78d8019cf 41650788885344.02520370483398438"),
        ("0xdc0f7a0b9407p-16411", "-0xdc0f7a0b9407p-16414", "0013c08d8aca21862000 0"),
        ("-4305473818804819", "0xaccd63da8121699p-42", "c032f4bce3d8c8f1d709 -4305473818627869.439697265625"),
        ("0x52af1p-16374", "-0x5bp-16439", "001ba55e200000000000 0"),
        ("2328666080732376.058184631430", "+1884363.823e+7", "40328570c32e7d0c80ee 2347509718962376.05810546875"),
        ("0x3ed8dcf0bdb1dd2bp-45", "-0x3ed8dcf0bdb1dd2bp-43", "c011bc8a96d239159781 -386132.71316198556090171"),
        ("-6913.07471712536e-36", "7830168319760.900", "4029e3e34cd6e21ccccd 7830168319760.90000009536743164"),
        ("0x1ddcd9bf10f0dp-16481", "9176519.07261515051069", "40168c05c71296e810a3 9176519.07261515051050083"),
        ("-5574005754921125370.5969E+35", "56054646541392793.3", "c0b1ba399e69cdaff6f7 -557400575492112537077526621353100957143604812811599872"),
        ("-0x2276b1b109c78bp-16460", "0x2276b1b109c78bp-16463", "80000000003c4fb6f5d2 0"),
        ("-50553423644.775881387295058836", "50553423644.775881387295058839", "00000000000000000000 0"),
        ("98479981783.760E14", "-64999334568", "4052825650d0d1e5c8e7 9847998178375935001100288"),
        ("-0.4542760396505448925E-24", "0x92e2c72fp-58", "3fe492e2c72efffffdce 0.00000000854988185"),
        ("9.770", "29571060.593561854851E+22", "4060eedf852147b027a7 295710605935618548513971896320"),
        ("-667.9575336", "667.9575336", "00000000000000000000 0"),
        ("21796432436420633.9418265802718563183394E+9", "-21796432436420633.9418265802718563183394E+6", "40539017ab10720d80e1 21774636003984213308080128"),
        ("+2330.740631102", "-2330.740631101", "3fe18970600000000000 0.00000000100000008"),
        ("2025969.5846924981949138", "-2025969.5846924981949135", "00000000000000000000 0"),
        ("-4422962425928875.331057637e3", "4422962425928875.331057637e2", "c03cdcf8ab368c9b2958 -3980666183335987798"),
        ("-0x3249d1p-33", "0x3249d1p-34", "bff2c927440000000000 -0.00019183481344953"),
        ("44.067634764153186857", "+860.9E+36", "4080a1ead3c53815619e 860899999999999999965858658829215989760"),
        ("5888.689364194429568281904", "-5888.689364194429568281903", "00000000000000000000 0"),
        ("668788970847518.7568147739134420940E+2554", "-668788970847518.7568147739134420940E+2554", "00000000000000000000 0"),
        ("+797779967.82200189397300", "+9388834915.09552", "402097cada18bab8adc0 10186614882.9175218939781189"),
        ("4971774418.3424878430854416", "-931.5928287634617549567811", "401f942b9f175ff4d427 4971773486.74965907959267497"),
        ("63460.4454941876937713900e-22", "65.919416890282518", "400583d6bdcf864e8f0a 65.91941689028251801"),
        ("3781481187.98708582792656923e-21", "-3781481187.98708582792656923e-29", "3fd9850c8ddfe5a92e63 0.00000000000378148"),
        ("55693887033.72066878023921E-2602", "-55693887033.72066878023921E-2605", "1e5f8375248e6530289e 0"),
    ];
}
