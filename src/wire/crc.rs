//! CRC-16/CCITT-FALSE (wire.md §7): poly 0x1021, init 0xFFFF, no reflection, no final XOR.
//!
//! Bitwise rather than table-driven: a 512-byte table costs flash on small boards, and a
//! 4 KiB message takes well under a millisecond either way.

/// CRC of the empty input; also the starting value for [`crc16_update`].
pub const CRC16_INIT: u16 = 0xFFFF;

const POLY: u16 = 0x1021;

/// Folds `data` into a running CRC, so a message can be checked in pieces (the coredump
/// uploader and the reassembler see it chunk by chunk).
pub const fn crc16_update(mut crc: u16, data: &[u8]) -> u16 {
    let mut i = 0;
    while i < data.len() {
        crc ^= (data[i] as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ POLY
            } else {
                crc << 1
            };
            bit += 1;
        }
        i += 1;
    }
    crc
}

/// CRC-16/CCITT-FALSE of `data`. On the wire it is written little-endian.
pub const fn crc16(data: &[u8]) -> u16 {
    crc16_update(CRC16_INIT, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_values() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(&[1, 2, 3, 4]), 0x89C3);
        assert_eq!(crc16(&[1, 2, 3, 4, 5]), 0x9304);
        assert_eq!(crc16(&[]), 0xFFFF);
    }

    #[test]
    fn incremental_equals_whole() {
        let data = b"the quick brown fox jumps over the lazy dog";
        for cut in 0..data.len() {
            let (a, b) = data.split_at(cut);
            assert_eq!(crc16_update(crc16(a), b), crc16(data));
        }
    }
}
