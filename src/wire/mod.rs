//! Wire format v2 (see `../shared/spec/wire.md` and `docs/wire.md`): encoder, packetizer, CRC.
//!
//! Everything here is `no_std` and allocation-free: the encoder writes one compact message
//! into a caller buffer ([`encode_message`], [`encode_longest_prefix`]), the packetizer cuts
//! it into chunk frames one at a time ([`write_frame`], [`write_frame_range`]).

pub mod crc;
pub mod encode;
pub mod frame;

pub use crc::{crc16, crc16_update};
pub use encode::{
    context_needs, encode_longest_prefix, encode_message, limits, measure_message, BatchContext,
    ContextNeeds, DeviceTimeSource, EncodeError, EncodeFailure, Encoded, EventSource, EventView, Extension,
    Limit,
};
pub use frame::{
    frame_count, frame_len, next_cut, write_frame, write_frame_at, write_frame_range, FrameError, FrameInfo,
    SourceType, HTTP_MAX_FRAME_BYTES,
};

/// `message_id` of a message whose first event has queue sequence `first_sequence`:
/// `(seed + sequence) mod 2^32` (wire.md §5.1), so a retried message keeps its id.
pub const fn message_id(seed: u32, first_sequence: u64) -> u32 {
    seed.wrapping_add(first_sequence as u32)
}

/// The stream id (8 lowercase hex characters, sent as `X-Honch-Stream-Id`) and the
/// message-id seed made from 4 random bytes. The seed is the stream id read as a big-endian
/// number, as the reference does, so a capture log can tie message ids to their stream.
pub fn stream_identity(random: [u8; 4]) -> ([u8; 8], u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 8];
    for (i, byte) in random.iter().enumerate() {
        text[2 * i] = HEX[usize::from(byte >> 4)];
        text[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    (text, u32::from_be_bytes(random))
}

#[cfg(test)]
mod tests;
