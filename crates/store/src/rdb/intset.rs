//! Intsets: `<encoding u32 LE: 2, 4 or 8> <length u32 LE> <values>`, the
//! values sorted ascending, little endian, all of the encoding's width.

const HEADER: usize = 8;

/// The intset of `values` (sorted, without duplicates) with the narrowest
/// encoding that holds them all, as a set built by `SADD` has.
pub(super) fn encode(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().any(|&v| i32::try_from(v).is_err()) {
        8
    } else if values.iter().any(|&v| i16::try_from(v).is_err()) {
        4
    } else {
        2
    };
    let mut out = Vec::with_capacity(HEADER + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// The values of an intset, validated as Redis's deep
/// `intsetValidateIntegrity`: known encoding, exact size, not empty, strictly
/// ascending.
pub(super) fn decode(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    const BAD: &str = "intset integrity check failed";
    let header = blob.get(..HEADER).ok_or(BAD)?;
    let width = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as u64;
    if !matches!(width, 2 | 4 | 8) || count == 0 {
        return Err(BAD);
    }
    if (HEADER as u64) + count * width as u64 != blob.len() as u64 {
        return Err(BAD);
    }
    let shift = 64 - 8 * width as u32;
    let values: Vec<i64> = blob[HEADER..]
        .chunks_exact(width)
        .map(|c| {
            let u = c
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            ((u << shift) as i64) >> shift
        })
        .collect();
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(BAD);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowest_encoding_is_chosen() {
        assert_eq!(encode(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(&encode(&[-40000, 5])[..4], &[4, 0, 0, 0]);
        assert_eq!(&encode(&[5, 1 << 40])[..4], &[8, 0, 0, 0]);
        for vals in [
            vec![-32768, 32767],
            vec![i64::from(i32::MIN), 0],
            vec![i64::MIN, i64::MAX],
        ] {
            assert_eq!(decode(&encode(&vals)).unwrap(), vals);
        }
    }

    #[test]
    fn unsorted_empty_or_misshapen_intsets_are_rejected() {
        assert!(decode(&encode(&[])).is_err());
        let mut unsorted = encode(&[1, 2]);
        unsorted[8] = 3;
        assert!(decode(&unsorted).is_err());
        let dup = [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0];
        assert!(decode(&dup).is_err());
        let mut bad_width = encode(&[1, 2]);
        bad_width[0] = 3;
        assert!(decode(&bad_width).is_err());
        let mut huge_count = encode(&[1, 2]);
        huge_count[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge_count).is_err());
        assert!(decode(&[2, 0, 0]).is_err());
    }
}
