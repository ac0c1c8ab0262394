//! A raw RESP2/RESP3 client: request encoding, a reply reader that keeps the
//! exact wire bytes of every reply, and byte escaping for reports.
//!
//! This is written from the protocol description rather than shared with
//! shoal's own `proto` crate, so a bug there cannot hide itself here. Every
//! read is bounded by a deadline and every length by a limit: a hung or
//! babbling server fails the run instead of hanging it or exhausting memory.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest bulk string the harness accepts in a reply (Redis's own default
/// `proto-max-bulk-len`).
const MAX_BULK: usize = 512 * 1024 * 1024;
/// Largest aggregate the harness accepts; far above anything a sequence makes.
const MAX_AGGREGATE: usize = 10_000_000;
/// Deepest nesting accepted; Redis replies never go beyond a few levels.
const MAX_DEPTH: usize = 64;

/// One decoded reply. Textual payloads are kept as bytes, never re-formatted,
/// so normalisation can compare them exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Vec<u8>),
    /// `$-1`, RESP2's null bulk string.
    NilBulk,
    /// `*-1`, RESP2's null array.
    NilArray,
    /// `_`, RESP3's null.
    Null,
    Array(Vec<Value>),
    Double(Vec<u8>),
    Boolean(bool),
    BlobError(Vec<u8>),
    Verbatim(Vec<u8>),
    BigNumber(Vec<u8>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Push(Vec<Value>),
    Attribute(Vec<(Value, Value)>, Box<Value>),
}

impl Value {
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_) | Value::BlobError(_))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::NilBulk | Value::NilArray | Value::Null)
    }

    /// The RESP type byte this value was sent with.
    pub fn type_byte(&self) -> u8 {
        match self {
            Value::Simple(_) => b'+',
            Value::Error(_) => b'-',
            Value::Integer(_) => b':',
            Value::Bulk(_) | Value::NilBulk => b'$',
            Value::NilArray | Value::Array(_) => b'*',
            Value::Null => b'_',
            Value::Double(_) => b',',
            Value::Boolean(_) => b'#',
            Value::BlobError(_) => b'!',
            Value::Verbatim(_) => b'=',
            Value::BigNumber(_) => b'(',
            Value::Map(_) => b'%',
            Value::Set(_) => b'~',
            Value::Push(_) => b'>',
            Value::Attribute(..) => b'|',
        }
    }

    /// Encodes the value back to RESP; used to show normalised replies.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
            out.push(prefix);
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        fn blob(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
            line(out, prefix, body.len().to_string().as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        fn items(out: &mut Vec<u8>, prefix: u8, items: &[Value]) {
            line(out, prefix, items.len().to_string().as_bytes());
            for item in items {
                item.encode(out);
            }
        }
        fn pairs(out: &mut Vec<u8>, prefix: u8, pairs: &[(Value, Value)]) {
            line(out, prefix, pairs.len().to_string().as_bytes());
            for (k, v) in pairs {
                k.encode(out);
                v.encode(out);
            }
        }
        match self {
            Value::Simple(s) => line(out, b'+', s),
            Value::Error(s) => line(out, b'-', s),
            Value::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Value::Bulk(b) => blob(out, b'$', b),
            Value::NilBulk => line(out, b'$', b"-1"),
            Value::NilArray => line(out, b'*', b"-1"),
            Value::Null => line(out, b'_', b""),
            Value::Array(v) => items(out, b'*', v),
            Value::Double(s) => line(out, b',', s),
            Value::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
            Value::BlobError(b) => blob(out, b'!', b),
            Value::Verbatim(b) => blob(out, b'=', b),
            Value::BigNumber(s) => line(out, b'(', s),
            Value::Map(p) => pairs(out, b'%', p),
            Value::Set(v) => items(out, b'~', v),
            Value::Push(v) => items(out, b'>', v),
            Value::Attribute(p, inner) => {
                pairs(out, b'|', p);
                inner.encode(out);
            }
        }
    }

    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The server closed the connection before a full reply arrived.
    Closed,
    /// No full reply within the deadline.
    Timeout,
    /// The bytes are not RESP.
    Protocol(String),
    /// Any other socket error.
    Io(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Closed => write!(f, "<connection closed>"),
            ReadError::Timeout => write!(f, "<timed out waiting for a reply>"),
            ReadError::Protocol(m) => write!(f, "<protocol error: {m}>"),
            ReadError::Io(m) => write!(f, "<i/o error: {m}>"),
        }
    }
}

/// A reply as it crossed the wire plus its decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub raw: Vec<u8>,
    pub value: Value,
}

/// Decodes one reply from the front of `buf`. `Ok(None)` means more bytes are
/// needed; `Ok(Some((value, used)))` consumed `used` bytes.
pub fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    parse_at(buf, 0, 0)
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Value, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let Some((kind, line, mut next)) = read_line(buf, at)? else {
        return Ok(None);
    };
    let text = |line: &[u8]| line.to_vec();
    let value = match kind {
        b'+' => Value::Simple(text(line)),
        b'-' => Value::Error(text(line)),
        b':' => Value::Integer(parse_int(line)?),
        b',' => Value::Double(text(line)),
        b'(' => Value::BigNumber(text(line)),
        b'_' => {
            if !line.is_empty() {
                return Err("null with a payload".into());
            }
            Value::Null
        }
        b'#' => match line {
            b"t" => Value::Boolean(true),
            b"f" => Value::Boolean(false),
            _ => return Err(format!("bad boolean {}", escape(line))),
        },
        b'$' | b'!' | b'=' => {
            let len = parse_int(line)?;
            if len == -1 && kind == b'$' {
                Value::NilBulk
            } else {
                let len = checked_len(len, MAX_BULK)?;
                if buf.len() < next + len + 2 {
                    return Ok(None);
                }
                if &buf[next + len..next + len + 2] != b"\r\n" {
                    return Err("bulk string not terminated by CRLF".into());
                }
                let body = buf[next..next + len].to_vec();
                next += len + 2;
                match kind {
                    b'$' => Value::Bulk(body),
                    b'!' => Value::BlobError(body),
                    _ => Value::Verbatim(body),
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let len = parse_int(line)?;
            if len == -1 && kind == b'*' {
                Value::NilArray
            } else {
                let len = checked_len(len, MAX_AGGREGATE)?;
                let mut items = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    let Some((item, after)) = parse_at(buf, next, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(item);
                    next = after;
                }
                match kind {
                    b'*' => Value::Array(items),
                    b'~' => Value::Set(items),
                    _ => Value::Push(items),
                }
            }
        }
        b'%' | b'|' => {
            let len = checked_len(parse_int(line)?, MAX_AGGREGATE)?;
            let mut pairs = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                let Some((key, after)) = parse_at(buf, next, depth + 1)? else {
                    return Ok(None);
                };
                let Some((val, after)) = parse_at(buf, after, depth + 1)? else {
                    return Ok(None);
                };
                pairs.push((key, val));
                next = after;
            }
            if kind == b'%' {
                Value::Map(pairs)
            } else {
                let Some((inner, after)) = parse_at(buf, next, depth + 1)? else {
                    return Ok(None);
                };
                next = after;
                Value::Attribute(pairs, Box::new(inner))
            }
        }
        other => return Err(format!("unknown reply type byte {}", escape(&[other]))),
    };
    Ok(Some((value, next)))
}

/// A reply line: its type byte, its body and the offset just past its CRLF.
type Line<'a> = (u8, &'a [u8], usize);

/// Splits off `<type byte><line>\r\n` starting at `at`.
fn read_line(buf: &[u8], at: usize) -> Result<Option<Line<'_>>, String> {
    if at >= buf.len() {
        return Ok(None);
    }
    let kind = buf[at];
    let rest = &buf[at + 1..];
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        if rest.len() > MAX_BULK {
            return Err("reply line too long".into());
        }
        return Ok(None);
    };
    match rest.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((kind, &rest[..cr], at + 1 + cr + 2))),
        Some(_) => Err("CR not followed by LF in a reply line".into()),
    }
}

fn parse_int(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("bad integer {}", escape(line)))
}

fn checked_len(len: i64, limit: usize) -> Result<usize, String> {
    usize::try_from(len)
        .ok()
        .filter(|&n| n <= limit)
        .ok_or_else(|| format!("bad or oversized length {len}"))
}

/// Encodes a command as a RESP multibulk request.
pub fn encode_request(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Encodes a command as an inline request (`GET a\r\n`). The caller makes
/// sure no argument contains whitespace, quotes or control bytes.
pub fn encode_inline(args: &[Vec<u8>], out: &mut Vec<u8>) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(arg);
    }
    out.extend_from_slice(b"\r\n");
}

/// Shows bytes as a double-quoted string in the style of `redis-cli`:
/// printable ASCII as is, `\r \n \t \" \\` escaped, everything else `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// One client connection with a per-reply deadline.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Conn> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(timeout))?;
                    return Ok(Conn {
                        stream,
                        buf: Vec::with_capacity(4096),
                        timeout,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads exactly one reply, waiting at most the connection's timeout.
    pub fn read_reply(&mut self) -> Result<Reply, ReadError> {
        let deadline = Instant::now() + self.timeout;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match parse(&self.buf) {
                Ok(Some((value, used))) => {
                    let raw = self.buf.drain(..used).collect();
                    return Ok(Reply { raw, value });
                }
                Ok(None) => {}
                Err(m) => return Err(ReadError::Protocol(m)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadError::Timeout);
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| ReadError::Io(e.to_string()))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Err(ReadError::Timeout)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(ReadError::Closed)
                }
                Err(e) => return Err(ReadError::Io(e.to_string())),
            }
        }
    }

    /// Bytes received beyond the last reply read. A server that answers one
    /// request with more than one reply leaves some here.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Reply, ReadError> {
        let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        let mut req = Vec::new();
        encode_request(&owned, &mut req);
        self.send(&req).map_err(|e| ReadError::Io(e.to_string()))?;
        self.read_reply()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(wire: &[u8]) -> Value {
        let (v, used) = parse(wire).expect("valid").expect("complete");
        assert_eq!(used, wire.len(), "whole input consumed");
        v
    }

    #[test]
    fn parses_resp2_shapes() {
        assert_eq!(one(b"+OK\r\n"), Value::Simple(b"OK".to_vec()));
        assert_eq!(one(b"-ERR x\r\n"), Value::Error(b"ERR x".to_vec()));
        assert_eq!(one(b":-12\r\n"), Value::Integer(-12));
        assert_eq!(one(b"$-1\r\n"), Value::NilBulk);
        assert_eq!(one(b"*-1\r\n"), Value::NilArray);
        assert_eq!(one(b"$4\r\na\r\nb\r\n"), Value::Bulk(b"a\r\nb".to_vec()));
        assert_eq!(
            one(b"*2\r\n$1\r\na\r\n:1\r\n"),
            Value::Array(vec![Value::Bulk(b"a".to_vec()), Value::Integer(1)])
        );
    }

    #[test]
    fn parses_resp3_shapes() {
        assert_eq!(one(b"_\r\n"), Value::Null);
        assert_eq!(one(b",1.5\r\n"), Value::Double(b"1.5".to_vec()));
        assert_eq!(one(b"#t\r\n"), Value::Boolean(true));
        assert_eq!(
            one(b"%1\r\n+a\r\n:1\r\n"),
            Value::Map(vec![(Value::Simple(b"a".to_vec()), Value::Integer(1))])
        );
        assert_eq!(one(b"~1\r\n:1\r\n"), Value::Set(vec![Value::Integer(1)]));
        assert_eq!(
            one(b"=7\r\ntxt:abc\r\n"),
            Value::Verbatim(b"txt:abc".to_vec())
        );
        assert_eq!(one(b"|1\r\n+k\r\n+v\r\n:3\r\n").type_byte(), b'|');
    }

    #[test]
    fn incomplete_input_asks_for_more() {
        for wire in [&b"+OK"[..], b"$3\r\nab", b"*2\r\n:1\r\n", b"%1\r\n+a\r\n"] {
            assert_eq!(parse(wire), Ok(None), "{}", escape(wire));
        }
    }

    #[test]
    fn rejects_garbage_and_oversized_lengths() {
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b":abc\r\n").is_err());
        assert!(parse(b"$99999999999\r\n").is_err());
        assert!(parse(b"*-2\r\n").is_err());
        assert!(parse(b"$1\r\nab\r\n").is_err());
    }

    #[test]
    fn encode_round_trips() {
        for wire in [
            &b"*3\r\n$1\r\na\r\n$-1\r\n*0\r\n"[..],
            b"%1\r\n$1\r\nk\r\n~1\r\n,inf\r\n",
            b"_\r\n",
            b"!3\r\nERR\r\n",
        ] {
            assert_eq!(one(wire).to_wire(), wire);
        }
    }

    #[test]
    fn escape_shows_binary_safely() {
        assert_eq!(escape(b"a\"\\\r\n\x00\xff"), r#""a\"\\\r\n\x00\xff""#);
    }

    #[test]
    fn request_encodings() {
        let args = vec![b"SET".to_vec(), b"k".to_vec(), b"".to_vec()];
        let mut out = Vec::new();
        encode_request(&args, &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let mut out = Vec::new();
        encode_inline(&args[..2], &mut out);
        assert_eq!(out, b"SET k\r\n");
    }
}
