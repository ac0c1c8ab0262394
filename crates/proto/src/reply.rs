//! Replies, written straight into a connection's output buffer.
//!
//! [`Reply`] knows the protocol version the client chose with `HELLO`, so a
//! command handler says "a map of two" or "a null" once and the bytes come
//! out right for RESP2 or RESP3: maps flatten to arrays, doubles become bulk
//! strings, and nulls take the RESP2 shape the caller asks for.

use bytes::{BufMut, BytesMut};

use crate::number::format_double;

/// A connection's output buffer plus its protocol version.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: BytesMut,
    pub resp3: bool,
}

impl Reply {
    pub fn new() -> Self {
        Reply::default()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `+<s>`.
    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// `-<message>`; the message starts with its code (`ERR`, `WRONGTYPE`…).
    /// As Redis's error formatting does, CR and LF at either end are
    /// trimmed and those inside become spaces, so the line stays one line.
    pub fn error(&mut self, message: &[u8]) {
        let newline = |b: &u8| *b == b'\r' || *b == b'\n';
        let start = message
            .iter()
            .position(|b| !newline(b))
            .unwrap_or(message.len());
        let end = message
            .iter()
            .rposition(|b| !newline(b))
            .map_or(start, |i| i + 1);
        self.buf.put_u8(b'-');
        for &b in &message[start..end] {
            self.buf
                .put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.put_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// A bulk string holding an integer's decimal form.
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = itoa_buf();
        let s = format_i64(&mut digits, n);
        self.bulk(s);
    }

    /// A missing bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.put_null(b"$-1\r\n");
    }

    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.put_null(b"*-1\r\n");
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `pairs` key/value pairs (`%` in RESP3, a flat array in RESP2).
    pub fn map(&mut self, pairs: usize) {
        if self.resp3 {
            self.header(b'%', pairs as i64);
        } else {
            self.header(b'*', 2 * pairs as i64);
        }
    }

    /// A set (`~` in RESP3, an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// An out-of-band push (`>` in RESP3, an array in RESP2).
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double (`,` in RESP3, a bulk string in RESP2), formatted as Redis's `%.17g`.
    pub fn double(&mut self, value: f64) {
        let text = format_double(value);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean (`#t`/`#f` in RESP3, `:1`/`:0` in RESP2).
    pub fn boolean(&mut self, value: bool) {
        if self.resp3 {
            self.buf
                .put_slice(if value { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(value));
        }
    }

    /// Verbatim text (`=` with the `txt` format in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Bytes already in wire form (a relayed reply).
    pub fn raw(&mut self, wire: &[u8]) {
        self.buf.put_slice(wire);
    }

    fn put_null(&mut self, resp2: &[u8]) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(resp2);
        }
    }

    fn line(&mut self, sigil: u8, text: &[u8]) {
        self.buf.put_u8(sigil);
        self.buf.put_slice(text);
        self.buf.put_slice(b"\r\n");
    }

    fn header(&mut self, sigil: u8, n: i64) {
        let mut digits = itoa_buf();
        let s = format_i64(&mut digits, n);
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(sigil);
        self.buf.put_slice(s);
        self.buf.put_slice(b"\r\n");
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Decimal digits of `n` into a stack buffer, without allocating.
pub fn format_i64(buf: &mut [u8; 20], n: i64) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        // i64::MIN has 19 digits, so there is always room for the sign.
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(resp3: bool, f: impl FnOnce(&mut Reply)) -> String {
        let mut r = Reply::new();
        r.resp3 = resp3;
        f(&mut r);
        String::from_utf8_lossy(&r.buf).into_owned()
    }

    #[test]
    fn integers_and_bulks_encode_exactly() {
        assert_eq!(
            wire(false, |r| r.int(i64::MIN)),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(wire(false, |r| r.bulk(b"")), "$0\r\n\r\n");
        assert_eq!(wire(false, |r| r.bulk_int(-42)), "$3\r\n-42\r\n");
    }

    #[test]
    fn resp2_and_resp3_differ_where_redis_differs() {
        assert_eq!(wire(false, |r| r.null()), "$-1\r\n");
        assert_eq!(wire(false, |r| r.null_array()), "*-1\r\n");
        assert_eq!(wire(true, |r| r.null_array()), "_\r\n");
        assert_eq!(wire(false, |r| r.map(2)), "*4\r\n");
        assert_eq!(wire(true, |r| r.map(2)), "%2\r\n");
        assert_eq!(wire(false, |r| r.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(wire(true, |r| r.double(f64::INFINITY)), ",inf\r\n");
        assert_eq!(wire(true, |r| r.verbatim(b"hi")), "=6\r\ntxt:hi\r\n");
        assert_eq!(wire(false, |r| r.boolean(true)), ":1\r\n");
    }

    #[test]
    fn error_newlines_become_spaces() {
        assert_eq!(wire(false, |r| r.error(b"ERR a\r\nb")), "-ERR a  b\r\n");
        assert_eq!(wire(false, |r| r.error(b"ERR opt x\r\n")), "-ERR opt x\r\n");
    }
}
