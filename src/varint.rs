//! LEB128 varints, shared by the queue's record format and the wire encoder.

/// Largest encoded size of a u64.
pub const MAX_VARINT_LEN: usize = 10;

/// Bytes `value` takes as a uvarint.
pub const fn uvarint_len(mut value: u64) -> usize {
    let mut n = 1;
    while value >= 0x80 {
        value >>= 7;
        n += 1;
    }
    n
}

/// Writes `value` as a uvarint at the start of `out`; returns the bytes written, or `None`
/// when `out` is too short (nothing useful is left in `out` then).
pub fn put_uvarint(out: &mut [u8], mut value: u64) -> Option<usize> {
    let mut i = 0;
    loop {
        let byte = out.get_mut(i)?;
        if value < 0x80 {
            *byte = value as u8;
            return Some(i + 1);
        }
        *byte = (value as u8) | 0x80;
        value >>= 7;
        i += 1;
    }
}

/// ZigZag mapping of a signed value (wire `svarint`).
pub const fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub const fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended inside the varint.
    Truncated,
    /// More than ten bytes, or a tenth byte with bits beyond 64.
    Overflow,
    /// A longer form than needed (for example `80 00`).
    NonCanonical,
}

/// Reads a canonical uvarint from the start of `input`: `(value, bytes used)`.
pub fn get_uvarint(input: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate() {
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(VarintError::Overflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(VarintError::NonCanonical);
            }
            return Ok((value, i + 1));
        }
        if i == MAX_VARINT_LEN - 1 {
            return Err(VarintError::Overflow);
        }
    }
    Err(VarintError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> ([u8; 10], usize) {
        let mut b = [0u8; 10];
        let n = put_uvarint(&mut b, v).unwrap();
        (b, n)
    }

    #[test]
    fn known_encodings() {
        let (b, n) = enc(1_700_000_000_000);
        assert_eq!(&b[..n], &[0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31]);
        let (b, n) = enc(0xdead_beef);
        assert_eq!(&b[..n], &[0xef, 0xfd, 0xb6, 0xf5, 0x0d]);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(63), 0x7e);
        assert_eq!(zigzag(-64), 0x7f);
        assert_eq!(zigzag(64), 0x80);
    }

    #[test]
    fn round_trip_and_lengths() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let (b, n) = enc(v);
            assert_eq!(n, uvarint_len(v));
            assert_eq!(get_uvarint(&b[..n]), Ok((v, n)));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn strict_reads() {
        assert_eq!(get_uvarint(&[0x80, 0x00]), Err(VarintError::NonCanonical));
        assert_eq!(get_uvarint(&[0x80]), Err(VarintError::Truncated));
        assert_eq!(get_uvarint(&[0xff; 11]), Err(VarintError::Overflow));
        assert_eq!(
            get_uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(VarintError::Overflow)
        );
        assert_eq!(put_uvarint(&mut [0u8; 1], 300), None);
    }
}
