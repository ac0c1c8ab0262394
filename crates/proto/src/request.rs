//! Incremental request parser.
//!
//! A request is either a multibulk array of bulk strings (`*2\r\n$3\r\nGET\r\n…`)
//! or an inline line (`GET key\r\n`), chosen by the first byte exactly as
//! Redis does. The parser keeps its position between reads, so a large
//! pipeline or a large value arriving in pieces is scanned once. Arguments
//! are `Bytes` slices split off the read buffer: no copy, no allocation per
//! argument once the connection's `argv` vector has grown.
//!
//! It never allocates on the strength of a length the client claims: a
//! `$536870912` header reserves nothing; memory grows only with bytes that
//! actually arrive, and the caller bounds that with its query-buffer limit.

use bytes::{Buf, Bytes, BytesMut};

use crate::number::string2ll;

/// Longest inline request, and longest length header, Redis accepts before
/// the newline arrives (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// A request the parser refuses. The connection answers with
/// `-ERR <message>` and then closes, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// The byte found where `$` was expected; `\r` and `\n` are shown as a
    /// space, as Redis's error formatting does.
    #[error("Protocol error: expected '$', got '{}'", shown(*.0))]
    ExpectedDollar(u8),
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

fn shown(byte: u8) -> char {
    match byte {
        b'\r' | b'\n' => ' ',
        b => char::from(b),
    }
}

/// Where a multibulk request stands between reads.
#[derive(Debug, Clone, Copy)]
struct Multibulk {
    /// Arguments still to read.
    remaining: usize,
    /// Length of the bulk whose header has been read, if any.
    bulk_len: Option<usize>,
}

/// Parses requests out of a connection's read buffer.
#[derive(Debug)]
pub struct RequestParser {
    pending: Option<Multibulk>,
    /// `proto-max-bulk-len`.
    pub max_bulk_len: u64,
    /// While true (a password is set and the client has not authenticated)
    /// the small limits Redis applies to unauthenticated clients hold.
    pub auth_required: bool,
}

impl RequestParser {
    pub fn new(max_bulk_len: u64) -> Self {
        RequestParser {
            pending: None,
            max_bulk_len,
            auth_required: false,
        }
    }

    /// Parses the next complete request from `buf` into `argv`.
    ///
    /// Returns `Ok(true)` when `argv` holds a whole request (the caller runs
    /// it and clears `argv`), `Ok(false)` when more bytes are needed (`argv`
    /// may hold the arguments read so far: leave it alone). Empty requests
    /// (`*0`, `*-1`, a blank inline line) are skipped, as Redis skips them.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        argv: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        loop {
            if self.pending.is_none() {
                let Some(&first) = buf.first() else {
                    return Ok(false);
                };
                if first != b'*' {
                    match self.parse_inline(buf, argv)? {
                        Some(true) => return Ok(true),
                        Some(false) => continue,
                        None => return Ok(false),
                    }
                }
                match self.parse_multibulk_header(buf)? {
                    Some(0) => continue,
                    Some(n) => {
                        self.pending = Some(Multibulk {
                            remaining: n,
                            bulk_len: None,
                        });
                        argv.reserve(n.min(1024));
                    }
                    None => return Ok(false),
                }
            }
            return self.parse_bulks(buf, argv);
        }
    }

    /// How many more bytes the request in progress needs at least, so the
    /// caller can size its next read. Never more than [`INLINE_MAX_SIZE`]
    /// ahead of what arrived: claims are not trusted.
    pub fn bytes_wanted(&self, buffered: usize) -> usize {
        match self.pending {
            Some(Multibulk {
                bulk_len: Some(len),
                ..
            }) => (len + 2).saturating_sub(buffered).min(INLINE_MAX_SIZE),
            _ => 0,
        }
    }

    /// `Some(true)`: a request in `argv`; `Some(false)`: a blank line was
    /// consumed; `None`: wait for more bytes.
    fn parse_inline(
        &mut self,
        buf: &mut BytesMut,
        argv: &mut Vec<Bytes>,
    ) -> Result<Option<bool>, ProtocolError> {
        let Some(newline) = memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let line = buf.split_to(newline + 1).freeze();
        let end = if newline > 0 && line[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        split_args(&line, end, argv)?;
        Ok(Some(!argv.is_empty()))
    }

    /// Reads `*<n>\r\n`. `Some(0)` for an empty request, `None` to wait.
    fn parse_multibulk_header(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(value) = read_length_line(buf, ProtocolError::TooBigMultibulkCount)? else {
            return Ok(None);
        };
        let n = match string2ll(value.digits(buf)) {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if n > 10 && self.auth_required {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(value.line_len);
        Ok(Some(n.max(0) as usize))
    }

    fn parse_bulks(
        &mut self,
        buf: &mut BytesMut,
        argv: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        let Some(mut state) = self.pending else {
            return Ok(false);
        };
        while state.remaining > 0 {
            let len = match state.bulk_len {
                Some(len) => len,
                None => {
                    let Some(&first) = buf.first() else { break };
                    if first != b'$' {
                        // Redis looks for the '\r' first and only then checks
                        // the '$', so a header still arriving is not an error.
                        if memchr(b'\r', buf).is_none() && buf.len() <= INLINE_MAX_SIZE {
                            break;
                        }
                        return Err(ProtocolError::ExpectedDollar(first));
                    }
                    let Some(value) = read_length_line(buf, ProtocolError::TooBigBulkCount)? else {
                        break;
                    };
                    let len = match string2ll(value.digits(buf)) {
                        Some(n) if n >= 0 && (n as u64) <= self.max_bulk_len => n as usize,
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    if len > 16384 && self.auth_required {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    buf.advance(value.line_len);
                    state.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() < len + 2 {
                break;
            }
            argv.push(buf.split_to(len).freeze());
            // Like Redis, the two bytes after a bulk are skipped unchecked.
            buf.advance(2);
            state.remaining -= 1;
            state.bulk_len = None;
        }
        if state.remaining == 0 {
            self.pending = None;
            Ok(true)
        } else {
            self.pending = Some(state);
            Ok(false)
        }
    }
}

/// A `<sigil><digits>\r\n` line at the front of the buffer.
struct LengthLine {
    /// Index of the `\r`.
    cr: usize,
    /// Bytes up to and including the `\n`.
    line_len: usize,
}

impl LengthLine {
    fn digits<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[1..self.cr]
    }
}

/// Finds the length line as Redis does: up to the first `\r`, which must be
/// followed by one more byte (taken to be `\n`).
fn read_length_line(
    buf: &[u8],
    too_big: ProtocolError,
) -> Result<Option<LengthLine>, ProtocolError> {
    match memchr(b'\r', buf) {
        None if buf.len() > INLINE_MAX_SIZE => Err(too_big),
        None => Ok(None),
        Some(cr) if cr + 2 > buf.len() => Ok(None),
        Some(cr) => Ok(Some(LengthLine {
            cr,
            line_len: cr + 2,
        })),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Splits one line (a config file line, an inline request) into words by
/// the inline quoting rules below.
pub fn split_line(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut words = Vec::new();
    split_args(&Bytes::copy_from_slice(line), line.len(), &mut words)?;
    Ok(words)
}

/// Splits an inline line into arguments with the rules of Redis's
/// `sdssplitargs`: `"…"` with C escapes and `\xHH`, `'…'` with `\'`, a
/// quote inside a word opens a quoted run, a closing quote must be followed
/// by a space or the end, and a NUL byte ends the line (it is a C string).
fn split_args(line: &Bytes, end: usize, argv: &mut Vec<Bytes>) -> Result<(), ProtocolError> {
    let bytes = &line[..end];
    let bytes = &bytes[..memchr(0, bytes).unwrap_or(bytes.len())];
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut i = 0;
    loop {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(());
        }
        let mut arg = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && hex(at(i + 2)).is_some()
                    && hex(at(i + 3)).is_some()
                {
                    arg.push(hex(at(i + 2)).unwrap_or(0) * 16 + hex(at(i + 3)).unwrap_or(0));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    arg.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    arg.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    arg.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    arg.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => arg.push(c),
                }
            }
            i += 1;
        }
        argv.push(Bytes::from(arg));
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut parser = RequestParser::new(512 * 1024 * 1024);
        let mut buf = BytesMut::from(input);
        let mut argv = Vec::new();
        let mut out = Vec::new();
        loop {
            match parser.parse(&mut buf, &mut argv) {
                Ok(true) => out.push(argv.drain(..).map(|b| b.to_vec()).collect()),
                Ok(false) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn words(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_pipeline_parses_in_order() {
        let (cmds, err) = parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        assert_eq!(err, None);
        assert_eq!(cmds, vec![words(&["PING"]), words(&["GET", "k"])]);
    }

    #[test]
    fn multibulk_split_at_every_byte_gives_same_request() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for cut in 0..input.len() {
            let mut parser = RequestParser::new(1 << 20);
            let mut buf = BytesMut::from(&input[..cut]);
            let mut argv = Vec::new();
            assert_eq!(parser.parse(&mut buf, &mut argv), Ok(false), "cut at {cut}");
            buf.extend_from_slice(&input[cut..]);
            assert_eq!(parser.parse(&mut buf, &mut argv), Ok(true), "cut at {cut}");
            assert_eq!(argv, vec!["SET", "key", "value"]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn inline_commands_split_on_spaces_and_quotes() {
        let (cmds, err) = parse_all(b"SET  k \"a b\\x41\\n\" \r\nECHO 'it\\'s'\nPING\r\n");
        assert_eq!(err, None);
        assert_eq!(
            cmds,
            vec![
                words(&["SET", "k", "a bA\n"]),
                words(&["ECHO", "it's"]),
                words(&["PING"])
            ]
        );
    }

    #[test]
    fn empty_requests_are_skipped() {
        let (cmds, err) = parse_all(b"\r\n*0\r\n*-1\r\n   \r\nPING\r\n");
        assert_eq!(err, None);
        assert_eq!(cmds, vec![words(&["PING"])]);
    }

    #[test]
    fn protocol_errors_match_redis_strings() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*2147483648\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$536870913\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n$01\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
            (b"*1\r\n\r\n", "Protocol error: expected '$', got ' '"),
            (
                b"SET \"a\"b\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"SET \"abc\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, message) in cases {
            let mut parser = RequestParser::new(512 * 1024 * 1024);
            let mut buf = BytesMut::from(*input);
            let err = parser
                .parse(&mut buf, &mut Vec::new())
                .expect_err("must be refused");
            assert_eq!(
                err.to_string(),
                *message,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn oversized_lines_without_newline_are_refused() {
        let mut parser = RequestParser::new(1 << 20);
        let mut buf = BytesMut::from(&vec![b'a'; INLINE_MAX_SIZE + 1][..]);
        assert_eq!(
            parser.parse(&mut buf, &mut Vec::new()),
            Err(ProtocolError::TooBigInline)
        );
        let mut star = vec![b'*'];
        star.extend(vec![b'1'; INLINE_MAX_SIZE + 1]);
        let mut buf = BytesMut::from(&star[..]);
        assert_eq!(
            parser.parse(&mut buf, &mut Vec::new()),
            Err(ProtocolError::TooBigMultibulkCount)
        );
    }

    #[test]
    fn unauthenticated_limits_apply_only_when_auth_required() {
        let mut parser = RequestParser::new(1 << 20);
        parser.auth_required = true;
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buf, &mut Vec::new()),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut parser = RequestParser::new(1 << 20);
        parser.auth_required = true;
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buf, &mut Vec::new()),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn claimed_huge_bulk_wants_bounded_bytes() {
        let mut parser = RequestParser::new(512 * 1024 * 1024);
        let mut buf = BytesMut::from(&b"*1\r\n$500000000\r\nabc"[..]);
        assert_eq!(parser.parse(&mut buf, &mut Vec::new()), Ok(false));
        assert_eq!(parser.bytes_wanted(buf.len()), INLINE_MAX_SIZE);
        assert!(buf.capacity() < 1 << 20);
    }

    /// Random frames encoded by redis-protocol (an independent encoder)
    /// parse back to exactly the arguments that were encoded, whatever the
    /// read boundaries.
    #[test]
    fn frames_from_redis_protocol_round_trip_across_random_splits() {
        use redis_protocol::resp2::{encode::extend_encode, types::BytesFrame};
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let n = 1 + rng.below(6);
            let args: Vec<Vec<u8>> = (0..n)
                .map(|_| (0..rng.below(40)).map(|_| rng.below(256) as u8).collect())
                .collect();
            let frame = BytesFrame::Array(
                args.iter()
                    .map(|a| BytesFrame::BulkString(Bytes::from(a.clone())))
                    .collect(),
            );
            let mut wire = BytesMut::new();
            extend_encode(&mut wire, &frame, false).expect("encodes");
            let mut parser = RequestParser::new(1 << 20);
            let mut buf = BytesMut::new();
            let mut argv = Vec::new();
            let mut done = false;
            let mut pos = 0;
            while pos < wire.len() {
                let step = 1 + rng.below(wire.len() - pos);
                buf.extend_from_slice(&wire[pos..pos + step]);
                pos += step;
                done = parser.parse(&mut buf, &mut argv).expect("valid frame");
            }
            assert!(done);
            assert_eq!(argv.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), args);
        }
    }

    /// Random bytes never panic the parser, and it never holds more
    /// arguments than bytes it was given.
    #[test]
    fn random_bytes_never_panic() {
        let rounds: usize = std::env::var("SHOAL_FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let mut rng = XorShift(42);
        let alphabet = b"*$\r\n0123456789-+ \"'\\xabGETSET";
        for _ in 0..rounds {
            let len = rng.below(64);
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        rng.below(256) as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            let mut parser = RequestParser::new(1 << 16);
            let mut buf = BytesMut::from(&input[..]);
            let mut argv = Vec::new();
            let mut commands = 0;
            while let Ok(true) = parser.parse(&mut buf, &mut argv) {
                assert!(argv.len() <= input.len());
                argv.clear();
                commands += 1;
                assert!(commands <= input.len());
            }
        }
    }

    struct XorShift(u64);
    impl XorShift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }
}
