//! [`CmdError`]: every way a command can fail, and the one place where each
//! becomes Redis's exact error string (clients match on these bytes).

use std::borrow::Cow;

pub type CmdResult = Result<(), CmdError>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    #[error("ERR DB index is out of range")]
    DbOutOfRange,
    #[error("ERR invalid cursor")]
    InvalidCursor,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    /// A whole Redis error line (code and message) that has no variant of its own.
    #[error("{0}")]
    Other(Cow<'static, str>),
    /// An error line that quotes the client's own bytes, kept byte for byte
    /// (Redis copies them, valid UTF-8 or not).
    #[error("{}", String::from_utf8_lossy(.0))]
    Quoting(Vec<u8>),
}

impl CmdError {
    pub fn other(message: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Other(message.into())
    }

    /// `<before><arg><after>`, the argument as C's `%s` prints it.
    pub fn quoting(before: &str, arg: &[u8], after: &str) -> CmdError {
        let mut line = before.as_bytes().to_vec();
        line.extend_from_slice(c_string(arg, usize::MAX));
        line.extend_from_slice(after.as_bytes());
        CmdError::Quoting(line)
    }

    /// Redis's `unknown command` error: the name cut at 128 bytes and the
    /// first arguments quoted, up to 128 bytes in all, as Redis 7.0 writes it.
    pub fn unknown_command(argv: &[bytes::Bytes]) -> CmdError {
        let mut line = b"ERR unknown command '".to_vec();
        line.extend_from_slice(c_string(&argv[0], 128));
        line.extend_from_slice(b"', with args beginning with: ");
        let mut args: Vec<u8> = Vec::new();
        for arg in &argv[1..] {
            if args.len() >= 128 {
                break;
            }
            let room = 128 - args.len();
            args.push(b'\'');
            args.extend_from_slice(c_string(arg, room));
            args.extend_from_slice(b"' ");
        }
        line.extend_from_slice(&args);
        CmdError::Quoting(line)
    }

    pub fn unknown_subcommand(container: &str, sub: &[u8]) -> CmdError {
        let mut line = b"ERR unknown subcommand '".to_vec();
        line.extend_from_slice(c_string(sub, 128));
        line.extend_from_slice(
            format!("'. Try {} HELP.", container.to_ascii_uppercase()).as_bytes(),
        );
        CmdError::Quoting(line)
    }

    /// The error line as sent on the wire (without `-` and CRLF).
    pub fn wire(&self) -> Cow<'_, [u8]> {
        match self {
            CmdError::Quoting(line) => Cow::Borrowed(line),
            other => Cow::Owned(other.to_string().into_bytes()),
        }
    }
}

/// Bytes as C's `%.<max>s` prints them: up to a NUL byte, at most `max`.
pub fn c_string(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(bytes.len())
        .min(max);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn unknown_command_quotes_first_args() {
        let argv = [Bytes::from("foo"), Bytes::from("a"), Bytes::from("b")];
        assert_eq!(
            CmdError::unknown_command(&argv).to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let argv = [Bytes::from("foo")];
        assert_eq!(
            CmdError::unknown_command(&argv).to_string(),
            "ERR unknown command 'foo', with args beginning with: "
        );
        let argv = [Bytes::from(&b"f\xff\0x"[..]), Bytes::from(&b"\xfe"[..])];
        assert_eq!(
            &*CmdError::unknown_command(&argv).wire(),
            &b"ERR unknown command 'f\xff', with args beginning with: '\xfe' "[..]
        );
        let argv = [Bytes::from(&b"f\xff\0x"[..]), Bytes::from(&b"\xfe"[..])];
        assert_eq!(
            &*CmdError::unknown_command(&argv).wire(),
            &b"ERR unknown command 'f\xff', with args beginning with: '\xfe' "[..]
        );
    }
}
