//! Strict chunk-frame parser (wire.md §2).

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use super::Reject;
use crate::varint::{get_uvarint, VarintError};
use crate::wire::frame::{FLAG_CONTINUATION, FLAG_MORE, FLAG_RESERVED, VERSION_CODE};
use crate::wire::SourceType;

/// The four frame shapes and the field each carries after the message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The whole message, with its CRC.
    Single,
    /// The first of several frames; `total_len` is the message length.
    Init { total_len: u64 },
    /// A frame between the first and the last.
    Middle { offset: u64 },
    /// The last frame, with the CRC of the whole message.
    Final { offset: u64 },
}

/// A parsed frame, borrowing its payload from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub source: SourceType,
    pub message_id: u64,
    pub shape: Shape,
    pub payload: &'a [u8],
    /// The CRC of the complete message (single and final frames only).
    pub crc: Option<u16>,
}

impl Frame<'_> {
    /// Where this payload starts in the message.
    pub fn offset(&self) -> u64 {
        match self.shape {
            Shape::Single | Shape::Init { .. } => 0,
            Shape::Middle { offset } | Shape::Final { offset } => offset,
        }
    }

    /// Whether more frames follow this one.
    pub fn more(&self) -> bool {
        matches!(self.shape, Shape::Init { .. } | Shape::Middle { .. })
    }
}

pub(crate) fn varint_reject(error: VarintError, what: &str) -> Reject {
    match error {
        VarintError::Truncated => Reject::bad_request(format!("{what}: truncated varint")),
        VarintError::Overflow => Reject::bad_request(format!("{what}: varint over 10 bytes")),
        VarintError::NonCanonical => Reject::bad_request(format!("{what}: non-canonical (overlong) varint")),
    }
}

fn read_varint<'a>(input: &'a [u8], what: &str) -> Result<(u64, &'a [u8]), Reject> {
    let (value, used) = get_uvarint(input).map_err(|e| varint_reject(e, what))?;
    Ok((value, &input[used..]))
}

/// Parses one frame (the whole request body). Rejections are 400s.
pub fn parse_frame(body: &[u8]) -> Result<Frame<'_>, Reject> {
    let (&header, rest) = body
        .split_first()
        .ok_or_else(|| Reject::bad_request("empty frame"))?;
    if header & 0x03 != VERSION_CODE {
        return Err(Reject::bad_request(format!(
            "frame version code {} (only 2 is known)",
            header & 0x03
        )));
    }
    if header & FLAG_RESERVED != 0 {
        return Err(Reject::bad_request("reserved frame header bit 7 is set"));
    }
    let source_code = (header >> 2) & 0x07;
    let source = SourceType::from_code(source_code)
        .ok_or_else(|| Reject::bad_request(format!("unsupported source_type {source_code}")))?;
    let continuation = header & FLAG_CONTINUATION != 0;
    let more = header & FLAG_MORE != 0;
    let (message_id, rest) = read_varint(rest, "message_id")?;
    let (shape, rest) = match (continuation, more) {
        (false, false) => (Shape::Single, rest),
        (false, true) => {
            let (total_len, rest) = read_varint(rest, "total_len")?;
            (Shape::Init { total_len }, rest)
        }
        (true, _) => {
            let (offset, rest) = read_varint(rest, "offset")?;
            if offset == 0 {
                return Err(Reject::bad_request("continuation frame at offset 0"));
            }
            let shape = if more {
                Shape::Middle { offset }
            } else {
                Shape::Final { offset }
            };
            (shape, rest)
        }
    };
    let (payload, crc) = if more {
        (rest, None)
    } else {
        if rest.len() < 2 {
            return Err(Reject::bad_request("frame too short for its CRC"));
        }
        let (payload, crc) = rest.split_at(rest.len() - 2);
        (payload, Some(u16::from_le_bytes([crc[0], crc[1]])))
    };
    if payload.is_empty() {
        return Err(Reject::bad_request("frame with an empty payload"));
    }
    if let Shape::Init { total_len } = shape {
        if total_len <= payload.len() as u64 {
            return Err(Reject::bad_request(
                "init frame's total_len leaves nothing for later frames",
            ));
        }
    }
    Ok(Frame {
        source,
        message_id,
        shape,
        payload,
        crc,
    })
}
