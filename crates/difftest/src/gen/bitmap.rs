//! `@bitmap`: bit commands on strings. Writes (SETBIT, BITFIELD SET/INCRBY)
//! stay at small offsets or invalid ones: a valid offset near 2^32 makes both
//! servers allocate 512 MB. Reads may use any offset.

use super::{cmd, Gen, Step};

const BAD_OFFSETS: &[&[u8]] = &[b"-1", b"abc", b"", b"1.5", b"4294967296", b"+1"];

const BIG_READ_OFFSETS: &[&[u8]] = &[b"4294967295", b"100000000", b"4294967200"];

const TYPES: &[&[u8]] = &[
    b"u1", b"u8", b"u16", b"i8", b"i16", b"i32", b"i64", b"u63", b"u32", b"i1", b"i5", b"u7",
];

const BAD_TYPES: &[&[u8]] = &[b"u64", b"i65", b"u0", b"x8", b"i", b"8", b"I8"];

impl Gen {
    /// A bit offset; with `write`, never one that allocates much.
    fn bit_offset(&mut self, write: bool) -> Vec<u8> {
        match self.rng.below(20) {
            0..=13 => self.rng.range(0, 200).to_string().into_bytes(),
            14..=15 => self.rng.range(200, 20_000).to_string().into_bytes(),
            16..=17 if !write => self.rng.pick(BIG_READ_OFFSETS).to_vec(),
            _ => self.rng.pick(BAD_OFFSETS).to_vec(),
        }
    }

    /// A BITFIELD offset: bits, or `#n` in units of the type's width.
    fn field_offset(&mut self, write: bool) -> Vec<u8> {
        match self.rng.below(10) {
            0..=4 => self.rng.range(0, 100).to_string().into_bytes(),
            5..=7 => format!("#{}", self.rng.range(0, 20)).into_bytes(),
            8 if !write => self.rng.pick(BIG_READ_OFFSETS).to_vec(),
            _ => self
                .rng
                .pick(&[&b"#-1"[..], b"-1", b"abc", b"#", b"4294967296", b"#x"])
                .to_vec(),
        }
    }

    fn field_type(&mut self) -> Vec<u8> {
        if self.rng.chance(92) {
            self.rng.pick(TYPES).to_vec()
        } else {
            self.rng.pick(BAD_TYPES).to_vec()
        }
    }

    fn setbit_on(&mut self, key: Vec<u8>) -> Option<Step> {
        let value = if self.rng.chance(92) {
            self.rng.range(0, 1).to_string().into_bytes()
        } else {
            self.rng.pick(&[&b"2"[..], b"-1", b"a", b""]).to_vec()
        };
        let args = vec![self.word("SETBIT"), key, self.bit_offset(true), value];
        cmd(args)
    }

    pub(super) fn setbit(&mut self) -> Option<Step> {
        let key = self.key();
        self.setbit_on(key)
    }

    pub(super) fn getbit(&mut self) -> Option<Step> {
        let args = vec![self.word("GETBIT"), self.key(), self.bit_offset(false)];
        cmd(args)
    }

    /// `[start end [BYTE|BIT]]` of BITCOUNT and BITPOS.
    fn bit_range(&mut self, args: &mut Vec<Vec<u8>>, partial: bool) {
        let parts = self.rng.range(0, 3);
        if parts >= 1 {
            args.push(self.index());
        }
        if parts >= 2 || (parts == 1 && !partial) {
            args.push(self.index());
        }
        if parts == 3 {
            let unit = *self.rng.pick(&["BYTE", "BIT", "BIT", "WORD"]);
            args.push(self.word(unit));
        }
    }

    pub(super) fn bitcount(&mut self) -> Option<Step> {
        let mut args = vec![self.word("BITCOUNT"), self.key()];
        self.bit_range(&mut args, false);
        cmd(args)
    }

    pub(super) fn bitpos(&mut self) -> Option<Step> {
        let bits: [&[u8]; 5] = [b"0", b"1", b"2", b"-1", b"x"];
        let bit = if self.rng.chance(92) {
            bits[self.rng.index(2)]
        } else {
            *self.rng.pick(&bits)
        };
        let mut args = vec![self.word("BITPOS"), self.key(), bit.to_vec()];
        self.bit_range(&mut args, true);
        cmd(args)
    }

    pub(super) fn bitop(&mut self) -> Option<Step> {
        let op = *self
            .rng
            .pick(&["AND", "OR", "XOR", "NOT", "AND", "OR", "XOR", "NOT", "NAND"]);
        let mut args = vec![self.word("BITOP"), self.word(op), self.key()];
        let sources = if op == "NOT" && self.rng.chance(85) {
            1
        } else {
            self.rng.range(1, 3)
        };
        args.extend(self.keys(sources, sources));
        cmd(args)
    }

    /// One BITFIELD subcommand; `read_only` favours GET.
    fn bitfield_op(&mut self, args: &mut Vec<Vec<u8>>, read_only: bool) {
        let roll = self.rng.below(10);
        if read_only && roll < 8 || roll < 3 {
            args.push(self.word("GET"));
            args.push(self.field_type());
            args.push(self.field_offset(false));
        } else if roll < 6 || read_only {
            args.push(self.word("SET"));
            args.push(self.field_type());
            args.push(self.field_offset(true));
            args.push(self.int());
        } else if roll < 8 {
            args.push(self.word("INCRBY"));
            args.push(self.field_type());
            args.push(self.field_offset(true));
            args.push(self.int());
        } else {
            args.push(self.word("OVERFLOW"));
            let how = *self
                .rng
                .pick(&["WRAP", "SAT", "FAIL", "SAT", "FAIL", "NONE"]);
            args.push(self.word(how));
        }
    }

    pub(super) fn bitfield(&mut self) -> Option<Step> {
        let mut args = vec![self.word("BITFIELD"), self.key()];
        for _ in 0..self.rng.range(0, 4) {
            self.bitfield_op(&mut args, false);
        }
        cmd(args)
    }

    pub(super) fn bitfield_ro(&mut self) -> Option<Step> {
        let mut args = vec![self.word("BITFIELD_RO"), self.key()];
        for _ in 0..self.rng.range(0, 3) {
            self.bitfield_op(&mut args, true);
        }
        cmd(args)
    }

    /// A preamble write: a few BITFIELD SETs of whole words.
    pub(super) fn bitfield_fill(&mut self, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![b"BITFIELD".to_vec(), key];
        for i in 0..self.rng.range(1, 4) {
            args.push(b"SET".to_vec());
            args.push(b"i64".to_vec());
            args.push(format!("#{i}").into_bytes());
            args.push((self.rng.next_u64() as i64).to_string().into_bytes());
        }
        cmd(args)
    }
}
