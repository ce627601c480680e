//! Chunk frames (wire.md §2 and §5): one frame per HTTP body / BLE packet.
//!
//! Nothing here allocates or keeps state: the caller holds the encoded message and asks for
//! one frame at a time, either by index with the SDK's own cut rule ([`write_frame`]) or for
//! an explicit byte range ([`write_frame_range`]), which is what the fixtures pin.

use super::crc::crc16;
use crate::varint::{put_uvarint, uvarint_len};

/// Protocol version code in header bits 0-1.
pub const VERSION_CODE: u8 = 2;
/// Header bit 5: a later frame of a multi-frame message (carries an offset).
pub const FLAG_CONTINUATION: u8 = 0x20;
/// Header bit 6: at least one more frame follows (no CRC on this frame).
pub const FLAG_MORE: u8 = 0x40;
/// Header bit 7, which must stay clear.
pub const FLAG_RESERVED: u8 = 0x80;
/// Default HTTP frame limit (`HONCH_WIRE_V2_MAX_FRAME_BYTES`).
pub const HTTP_MAX_FRAME_BYTES: usize = 4096;
/// Below this no frame shape can carry a payload byte and a CRC.
pub const MIN_FRAME_BYTES: usize = 4;

const CRC_BYTES: usize = 2;

/// What a frame's message is (header bits 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SourceType {
    /// A compact event message (wire.md §3).
    CompactEvents = 0,
    /// An opaque coredump blob.
    Coredump = 1,
}

impl SourceType {
    /// The three header bits' value.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The source type for a header code, if it is one we know.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::CompactEvents),
            1 => Some(Self::Coredump),
            _ => None,
        }
    }
}

/// Why a frame could not be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A message must have at least one byte.
    EmptyMessage,
    /// `max_frame` leaves no room for a payload byte (and the CRC) at this offset.
    FrameTooSmall,
    /// The requested range is empty or lies outside the message.
    BadRange,
    /// The frame index is past the last frame.
    NoSuchFrame,
    /// The caller's output buffer is shorter than the frame.
    OutputTooSmall,
}

/// One frame written by [`write_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Bytes written to `out`.
    pub len: usize,
    /// Where this frame's payload starts in the message.
    pub offset: usize,
    /// Where it ends (exclusive); the next frame starts here.
    pub end: usize,
    /// This is the last (or only) frame: it carries the CRC.
    pub is_final: bool,
}

/// The header byte for a frame shape.
pub const fn header_byte(source: SourceType, continuation: bool, more: bool) -> u8 {
    let mut header = VERSION_CODE | (source.code() << 2);
    if continuation {
        header |= FLAG_CONTINUATION;
    }
    if more {
        header |= FLAG_MORE;
    }
    header
}

fn varint_len(value: usize) -> usize {
    uvarint_len(value as u64)
}

/// End of the payload of the frame that starts at `offset`, by the reference chunker's rule:
/// finish in this frame when the rest fits with its CRC; otherwise take as much as fits, but
/// leave the final frame non-empty.
pub fn next_cut(
    message_len: usize,
    message_id: u32,
    offset: usize,
    max_frame: usize,
) -> Result<usize, FrameError> {
    if message_len == 0 {
        return Err(FrameError::EmptyMessage);
    }
    if offset >= message_len {
        return Err(FrameError::BadRange);
    }
    if max_frame < MIN_FRAME_BYTES {
        return Err(FrameError::FrameTooSmall);
    }
    let continuation = offset > 0;
    let id_len = uvarint_len(u64::from(message_id));
    let position_len = if continuation { varint_len(offset) } else { 0 };
    let remaining = message_len - offset;
    let final_cap = max_frame.saturating_sub(1 + id_len + position_len + CRC_BYTES);
    if remaining <= final_cap {
        return Ok(message_len);
    }
    if final_cap == 0 {
        // Not even a one-byte final frame fits, so splitting further can never finish.
        return Err(FrameError::FrameTooSmall);
    }
    let field_len = if continuation {
        position_len
    } else {
        varint_len(message_len)
    };
    let cap = max_frame.saturating_sub(1 + id_len + field_len);
    let mut take = remaining.min(cap);
    if take >= remaining {
        take = remaining - final_cap;
    }
    if take == 0 {
        return Err(FrameError::FrameTooSmall);
    }
    Ok(offset + take)
}

/// How many frames [`write_frame`] splits a message into.
pub fn frame_count(message_len: usize, message_id: u32, max_frame: usize) -> Result<usize, FrameError> {
    let mut offset = 0;
    let mut count = 0;
    while offset < message_len || count == 0 {
        offset = next_cut(message_len, message_id, offset, max_frame)?;
        count += 1;
    }
    Ok(count)
}

/// Writes frame number `index` (from 0) of `message` into `out`, cutting with [`next_cut`].
/// The SDK sends one frame per `tick()`, so it calls this with increasing `index`; a caller
/// that keeps the offset itself can use [`write_frame_at`] instead.
pub fn write_frame(
    message: &[u8],
    message_id: u32,
    source: SourceType,
    index: usize,
    max_frame: usize,
    out: &mut [u8],
) -> Result<FrameInfo, FrameError> {
    let mut offset = 0;
    for _ in 0..index {
        offset = next_cut(message.len(), message_id, offset, max_frame)?;
        if offset == message.len() {
            return Err(FrameError::NoSuchFrame);
        }
    }
    write_frame_at(message, message_id, source, offset, max_frame, out)
}

/// Writes the frame whose payload starts at `offset` (0 or the `end` of the previous frame).
pub fn write_frame_at(
    message: &[u8],
    message_id: u32,
    source: SourceType,
    offset: usize,
    max_frame: usize,
    out: &mut [u8],
) -> Result<FrameInfo, FrameError> {
    let end = next_cut(message.len(), message_id, offset, max_frame)?;
    let len = write_frame_range(message, message_id, source, offset, end, out)?;
    Ok(FrameInfo {
        len,
        offset,
        end,
        is_final: end == message.len(),
    })
}

/// Exact size of the frame carrying `message[start..end]` of a `message_len`-byte message.
pub fn frame_len(message_len: usize, message_id: u32, start: usize, end: usize) -> usize {
    let continuation = start > 0;
    let more = end < message_len;
    let mut len = 1 + uvarint_len(u64::from(message_id)) + (end - start);
    if continuation {
        len += varint_len(start);
    } else if more {
        len += varint_len(message_len);
    }
    if !more {
        len += CRC_BYTES;
    }
    len
}

/// Writes the frame carrying `message[start..end]` (explicit cut points); returns its length.
/// The shape follows from the range: `start > 0` makes it a continuation, `end` short of the
/// message end sets `more`, and only the frame reaching the end carries the message CRC.
pub fn write_frame_range(
    message: &[u8],
    message_id: u32,
    source: SourceType,
    start: usize,
    end: usize,
    out: &mut [u8],
) -> Result<usize, FrameError> {
    if message.is_empty() {
        return Err(FrameError::EmptyMessage);
    }
    if start >= end || end > message.len() {
        return Err(FrameError::BadRange);
    }
    let total = frame_len(message.len(), message_id, start, end);
    let out = out.get_mut(..total).ok_or(FrameError::OutputTooSmall)?;
    let continuation = start > 0;
    let more = end < message.len();
    out[0] = header_byte(source, continuation, more);
    let mut pos = 1;
    pos += put_uvarint(&mut out[pos..], u64::from(message_id)).ok_or(FrameError::OutputTooSmall)?;
    if continuation {
        pos += put_uvarint(&mut out[pos..], start as u64).ok_or(FrameError::OutputTooSmall)?;
    } else if more {
        pos += put_uvarint(&mut out[pos..], message.len() as u64).ok_or(FrameError::OutputTooSmall)?;
    }
    let payload = &message[start..end];
    out[pos..pos + payload.len()].copy_from_slice(payload);
    pos += payload.len();
    if !more {
        out[pos..pos + CRC_BYTES].copy_from_slice(&crc16(message).to_le_bytes());
        pos += CRC_BYTES;
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_frames(message: &[u8], id: u32, max: usize) -> alloc::vec::Vec<alloc::vec::Vec<u8>> {
        let count = frame_count(message.len(), id, max).unwrap();
        (0..count)
            .map(|i| {
                let mut out = [0u8; 8192];
                let info = write_frame(message, id, SourceType::CompactEvents, i, max, &mut out).unwrap();
                assert!(info.len <= max);
                out[..info.len].to_vec()
            })
            .collect()
    }

    #[test]
    fn reference_unit_example() {
        let frames = all_frames(&[1, 2, 3, 4, 5], 7, 6);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], [0x42, 0x07, 0x05, 0x01, 0x02, 0x03]);
        assert_eq!(frames[1], [0x62, 0x07, 0x03, 0x04]);
        assert_eq!(frames[2], [0x22, 0x07, 0x04, 0x05, 0x04, 0x93]);
    }

    #[test]
    fn http_single_frame_boundary() {
        // With a 5-byte message id, 4088 bytes still fit one 4096-byte frame, 4089 do not.
        let id = 0xdead_beef;
        assert_eq!(frame_count(4088, id, HTTP_MAX_FRAME_BYTES), Ok(1));
        assert_eq!(frame_count(4089, id, HTTP_MAX_FRAME_BYTES), Ok(2));
        assert_eq!(frame_count(4096, id, HTTP_MAX_FRAME_BYTES), Ok(2));
    }

    #[test]
    fn ble_sizes_reassemble_to_the_message() {
        let message: alloc::vec::Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
        let small = [7usize, 11].map(|max| (max, [0u32, 1]));
        let ble = [20usize, 23, 100, 185, 244, 512, 4096].map(|max| (max, [0u32, 200]));
        let wide_ids = [20usize, 244, 4096].map(|max| (max, [70_000u32, u32::MAX]));
        let cases = small.iter().chain(ble.iter()).chain(wide_ids.iter());
        for &(max, ids) in cases {
            for id in ids {
                let frames = all_frames(&message, id, max);
                let mut rebuilt = alloc::vec::Vec::new();
                for (i, f) in frames.iter().enumerate() {
                    let last = i + 1 == frames.len();
                    assert_eq!(f[0] & FLAG_MORE != 0, !last);
                    assert_eq!(f[0] & FLAG_CONTINUATION != 0, i > 0);
                    let (_, mut pos) = crate::varint::get_uvarint(&f[1..]).unwrap();
                    pos += 1;
                    if i > 0 || !last {
                        let (field, n) = crate::varint::get_uvarint(&f[pos..]).unwrap();
                        let expect = if i > 0 { rebuilt.len() } else { message.len() };
                        assert_eq!(field as usize, expect);
                        pos += n;
                    }
                    let end = if last { f.len() - 2 } else { f.len() };
                    assert!(end > pos, "empty payload at max {max}");
                    rebuilt.extend_from_slice(&f[pos..end]);
                    if last {
                        assert_eq!(f[end..], crc16(&message).to_le_bytes());
                    }
                }
                assert_eq!(rebuilt, message);
            }
        }
    }

    #[test]
    fn refuses_impossible_requests() {
        let mut out = [0u8; 16];
        assert_eq!(frame_count(0, 1, 4096), Err(FrameError::EmptyMessage));
        assert_eq!(frame_count(10, 1, 3), Err(FrameError::FrameTooSmall));
        // A 5-byte id leaves no payload room in a 4-byte frame.
        assert_eq!(frame_count(10, u32::MAX, 4), Err(FrameError::FrameTooSmall));
        let m = [9u8; 10];
        let src = SourceType::CompactEvents;
        assert_eq!(
            write_frame_range(&m, 1, src, 3, 3, &mut out),
            Err(FrameError::BadRange)
        );
        assert_eq!(
            write_frame_range(&m, 1, src, 0, 11, &mut out),
            Err(FrameError::BadRange)
        );
        assert_eq!(
            write_frame_range(&m, 1, src, 0, 10, &mut out[..5]),
            Err(FrameError::OutputTooSmall)
        );
        assert_eq!(
            write_frame(&m, 1, src, 1, 4096, &mut out),
            Err(FrameError::NoSuchFrame)
        );
    }

    #[test]
    fn coredump_headers() {
        assert_eq!(header_byte(SourceType::Coredump, false, false), 0x06);
        assert_eq!(header_byte(SourceType::Coredump, false, true), 0x46);
        assert_eq!(header_byte(SourceType::Coredump, true, true), 0x66);
        assert_eq!(header_byte(SourceType::Coredump, true, false), 0x26);
    }
}
