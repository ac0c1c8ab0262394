//! Where a reply ends: what a node needs to relay another node's answer
//! byte for byte without decoding it.

/// Bytes that are not a RESP2/RESP3 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotResp;

/// Length of the first whole reply at the start of `buf` (RESP2 or
/// RESP3, nested to any depth), or `None` while it is incomplete.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, NotResp> {
    let mut pos = 0;
    // Values still to read; aggregates add their elements.
    let mut pending: u64 = 1;
    while pending > 0 {
        let Some(sigil) = buf.get(pos).copied() else {
            return Ok(None);
        };
        let Some(cr) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = &buf[pos + 1..pos + cr];
        pos += cr + 2;
        pending -= 1;
        match sigil {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
            b'$' | b'!' | b'=' => {
                let n = count(line)?;
                if n >= 0 {
                    let end = pos + n as usize;
                    match buf.get(end..end + 2) {
                        None => return Ok(None),
                        Some(b"\r\n") => pos = end + 2,
                        Some(_) => return Err(NotResp),
                    }
                }
            }
            b'*' | b'~' | b'>' => pending += count(line)?.max(0) as u64,
            b'%' => pending += 2 * count(line)?.max(0) as u64,
            // Attributes come before the value they describe.
            b'|' => pending += 2 * count(line)?.max(0) as u64 + 1,
            _ => return Err(NotResp),
        }
    }
    Ok(Some(pos))
}

fn count(line: &[u8]) -> Result<i64, NotResp> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= -1 && *n <= i64::from(u32::MAX))
        .ok_or(NotResp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_replies_are_measured_and_parts_wait() {
        let cases: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR no\r\n",
            b":42\r\n",
            b"$3\r\nabc\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"%1\r\n+k\r\n$2\r\nvv\r\n",
            b"~2\r\n,1.5\r\n#t\r\n",
            b"|1\r\n+a\r\n:1\r\n$0\r\n\r\n",
            b"=8\r\ntxt:abcd\r\n",
            b"_\r\n",
        ];
        for &c in cases {
            let mut two = c.to_vec();
            two.extend_from_slice(b"+NEXT\r\n");
            assert_eq!(reply_len(&two), Ok(Some(c.len())), "{c:?}");
            for cut in 0..c.len() {
                assert_eq!(reply_len(&c[..cut]), Ok(None), "{c:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn bytes_that_are_not_resp_are_refused() {
        for bad in [&b"?x\r\n"[..], b"$3\r\nabcd\r\n", b"*x\r\n", b"$-5\r\n"] {
            assert_eq!(reply_len(bad), Err(NotResp), "{bad:?}");
        }
    }
}
