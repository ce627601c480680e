//! The packed value format: how property values are stored inside queued records.
//!
//! Not the wire format. It is the SDK's own compact, self-delimiting encoding, read back
//! in place (no allocation) when a batch is encoded for the wire. One tag byte, then:
//!
//! | tag | value | payload |
//! |---|---|---|
//! | 0 | null | – |
//! | 1 / 2 | false / true | – |
//! | 3 | unsigned integer | uvarint |
//! | 4 | negative integer | ZigZag uvarint (any i64) |
//! | 5 | float32 | 4 bytes LE |
//! | 6 | float64 | 8 bytes LE |
//! | 7 | string | uvarint length, UTF-8 bytes |
//! | 8 | bytes | uvarint length, bytes |
//! | 9 | array | uvarint count, then `count` values |
//! | 10 | map | uvarint count, then `count` × (uvarint key length, key bytes, value) |
//!
//! A property list (an event's properties) is the body of a map: the count, then the pairs.

use crate::varint::{get_uvarint, put_uvarint, unzigzag, zigzag};

/// Tag bytes of the packed format.
pub mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const UINT: u8 = 3;
    pub const INT: u8 = 4;
    pub const F32: u8 = 5;
    pub const F64: u8 = 6;
    pub const STR: u8 = 7;
    pub const BYTES: u8 = 8;
    pub const ARRAY: u8 = 9;
    pub const MAP: u8 = 10;
}

/// The output buffer has no room left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Appends packed values to a caller-provided buffer.
pub struct PackedWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
    /// Only measure: nothing is stored, every write succeeds.
    counting: bool,
}

impl<'b> PackedWriter<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            counting: false,
        }
    }

    /// A writer that stores nothing and counts the bytes a value would take.
    pub fn counting() -> PackedWriter<'static> {
        PackedWriter {
            buf: &mut [],
            pos: 0,
            counting: true,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Everything written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }

    /// Rewinds to an earlier length (to undo a partly written value).
    pub fn truncate(&mut self, len: usize) {
        self.pos = self.pos.min(len);
    }

    pub fn put_u8(&mut self, byte: u8) -> Result<(), Full> {
        if self.counting {
            self.pos += 1;
            return Ok(());
        }
        let slot = self.buf.get_mut(self.pos).ok_or(Full)?;
        *slot = byte;
        self.pos += 1;
        Ok(())
    }

    pub fn put_bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.pos.checked_add(bytes.len()).ok_or(Full)?;
        if self.counting {
            self.pos = end;
            return Ok(());
        }
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Full)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub fn put_uvarint(&mut self, value: u64) -> Result<(), Full> {
        if self.counting {
            self.pos += crate::varint::uvarint_len(value);
            return Ok(());
        }
        let rest = self.buf.get_mut(self.pos..).ok_or(Full)?;
        self.pos += put_uvarint(rest, value).ok_or(Full)?;
        Ok(())
    }

    /// A length-prefixed byte string (keys, strings, bytes payloads).
    pub fn put_lenbytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.put_uvarint(bytes.len() as u64)?;
        self.put_bytes(bytes)
    }

    pub fn null(&mut self) -> Result<(), Full> {
        self.put_u8(tag::NULL)
    }

    pub fn bool(&mut self, value: bool) -> Result<(), Full> {
        self.put_u8(if value { tag::TRUE } else { tag::FALSE })
    }

    pub fn uint(&mut self, value: u64) -> Result<(), Full> {
        self.put_u8(tag::UINT)?;
        self.put_uvarint(value)
    }

    /// Stores a signed integer; non-negative values are stored as unsigned (product §4.5).
    pub fn int(&mut self, value: i64) -> Result<(), Full> {
        if value >= 0 {
            return self.uint(value as u64);
        }
        self.put_u8(tag::INT)?;
        self.put_uvarint(zigzag(value))
    }

    pub fn f32(&mut self, value: f32) -> Result<(), Full> {
        self.put_u8(tag::F32)?;
        self.put_bytes(&value.to_le_bytes())
    }

    pub fn f64(&mut self, value: f64) -> Result<(), Full> {
        self.put_u8(tag::F64)?;
        self.put_bytes(&value.to_le_bytes())
    }

    pub fn str(&mut self, value: &str) -> Result<(), Full> {
        self.put_u8(tag::STR)?;
        self.put_lenbytes(value.as_bytes())
    }

    pub fn bytes(&mut self, value: &[u8]) -> Result<(), Full> {
        self.put_u8(tag::BYTES)?;
        self.put_lenbytes(value)
    }

    /// Starts an array of `count` values; the caller then writes exactly `count` values.
    pub fn begin_array(&mut self, count: usize) -> Result<(), Full> {
        self.put_u8(tag::ARRAY)?;
        self.put_uvarint(count as u64)
    }

    /// Starts a map of `count` pairs; the caller then writes `count` × (`key`, value).
    pub fn begin_map(&mut self, count: usize) -> Result<(), Full> {
        self.put_u8(tag::MAP)?;
        self.put_uvarint(count as u64)
    }

    /// A map key (or a property-list key).
    pub fn key(&mut self, key: &str) -> Result<(), Full> {
        self.put_lenbytes(key.as_bytes())
    }
}

/// A packed value read in place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    UInt(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Array(Items<'a>),
    Map(Pairs<'a>),
}

/// The packed bytes are not a well-formed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The values of an array, read lazily.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Items<'a> {
    remaining: u64,
    rest: &'a [u8],
}

/// The (key, value) pairs of a map or property list, read lazily.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pairs<'a> {
    remaining: u64,
    rest: &'a [u8],
}

fn take(input: &[u8], n: u64) -> Result<(&[u8], &[u8]), Malformed> {
    let n = usize::try_from(n).map_err(|_| Malformed)?;
    if n > input.len() {
        return Err(Malformed);
    }
    Ok(input.split_at(n))
}

fn read_varint(input: &[u8]) -> Result<(u64, &[u8]), Malformed> {
    let (v, n) = get_uvarint(input).map_err(|_| Malformed)?;
    Ok((v, &input[n..]))
}

fn read_str(input: &[u8]) -> Result<(&str, &[u8]), Malformed> {
    let (len, rest) = read_varint(input)?;
    let (bytes, rest) = take(rest, len)?;
    let s = core::str::from_utf8(bytes).map_err(|_| Malformed)?;
    Ok((s, rest))
}

/// Nesting beyond this is malformed (records hold at most 8 levels); it bounds the recursion
/// of skipping, so a corrupted buffer cannot exhaust the stack.
const MAX_SKIP_DEPTH: u32 = 16;

/// Skips `count` values; returns the bytes after them. Every step consumes input, so a
/// corrupt count cannot loop longer than the input lasts.
fn skip_items(mut input: &[u8], count: u64, depth: u32) -> Result<&[u8], Malformed> {
    for _ in 0..count {
        input = skip_value(input, depth)?;
    }
    Ok(input)
}

/// Skips `count` (key, value) pairs; returns the bytes after them.
fn skip_pairs(mut input: &[u8], count: u64, depth: u32) -> Result<&[u8], Malformed> {
    for _ in 0..count {
        let (_, rest) = read_str(input)?;
        input = skip_value(rest, depth)?;
    }
    Ok(input)
}

fn skip_value(input: &[u8], depth: u32) -> Result<&[u8], Malformed> {
    match input.first() {
        Some(&tag::ARRAY) | Some(&tag::MAP) if depth >= MAX_SKIP_DEPTH => Err(Malformed),
        Some(&tag::ARRAY) => {
            let (count, body) = read_varint(&input[1..])?;
            skip_items(body, count, depth + 1)
        }
        Some(&tag::MAP) => {
            let (count, body) = read_varint(&input[1..])?;
            skip_pairs(body, count, depth + 1)
        }
        _ => read_value(input).map(|(_, rest)| rest),
    }
}

/// Reads one value from the front of `input`; returns it and the bytes after it.
/// Containers are returned unread: their extent is found by skipping them.
pub fn read_value(input: &[u8]) -> Result<(Value<'_>, &[u8]), Malformed> {
    let (&t, rest) = input.split_first().ok_or(Malformed)?;
    Ok(match t {
        tag::NULL => (Value::Null, rest),
        tag::FALSE => (Value::Bool(false), rest),
        tag::TRUE => (Value::Bool(true), rest),
        tag::UINT => {
            let (v, rest) = read_varint(rest)?;
            (Value::UInt(v), rest)
        }
        tag::INT => {
            let (v, rest) = read_varint(rest)?;
            (Value::Int(unzigzag(v)), rest)
        }
        tag::F32 => {
            let (b, rest) = take(rest, 4)?;
            let mut a = [0u8; 4];
            a.copy_from_slice(b);
            (Value::F32(f32::from_le_bytes(a)), rest)
        }
        tag::F64 => {
            let (b, rest) = take(rest, 8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (Value::F64(f64::from_le_bytes(a)), rest)
        }
        tag::STR => {
            let (s, rest) = read_str(rest)?;
            (Value::Str(s), rest)
        }
        tag::BYTES => {
            let (len, rest) = read_varint(rest)?;
            let (b, rest) = take(rest, len)?;
            (Value::Bytes(b), rest)
        }
        tag::ARRAY => {
            let (count, body) = read_varint(rest)?;
            let after = skip_items(body, count, 1)?;
            let items = Items {
                remaining: count,
                rest: &body[..body.len() - after.len()],
            };
            (Value::Array(items), after)
        }
        tag::MAP => {
            let (pairs, after) = Pairs::parse(rest)?;
            (Value::Map(pairs), after)
        }
        _ => return Err(Malformed),
    })
}

impl<'a> Items<'a> {
    /// Number of values not yet read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Value<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match read_value(self.rest) {
            Ok((v, rest)) => {
                self.rest = rest;
                Some(Ok(v))
            }
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}

impl<'a> Pairs<'a> {
    /// Parses a property list / map body (count, then pairs) at the front of `input`;
    /// returns the pairs and the bytes after them.
    pub fn parse(input: &'a [u8]) -> Result<(Self, &'a [u8]), Malformed> {
        let (count, body) = read_varint(input)?;
        let after = skip_pairs(body, count, 1)?;
        let pairs = Pairs {
            remaining: count,
            rest: &body[..body.len() - after.len()],
        };
        Ok((pairs, after))
    }

    /// An empty pair list.
    pub const fn empty() -> Self {
        Pairs {
            remaining: 0,
            rest: &[],
        }
    }

    /// Number of pairs not yet read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a str, Value<'a>), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let step = read_str(self.rest).and_then(|(k, rest)| {
            let (v, rest) = read_value(rest)?;
            Ok((k, v, rest))
        });
        match step {
            Ok((k, v, rest)) => {
                self.rest = rest;
                Some(Ok((k, v)))
            }
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_every_kind() {
        let mut buf = [0u8; 128];
        let mut w = PackedWriter::new(&mut buf);
        w.put_uvarint(3).unwrap(); // a property list of 3 pairs
        w.key("a").unwrap();
        w.begin_array(4).unwrap();
        w.null().unwrap();
        w.bool(true).unwrap();
        w.int(-5).unwrap();
        w.int(7).unwrap();
        w.key("m").unwrap();
        w.begin_map(1).unwrap();
        w.key("f").unwrap();
        w.f64(1.5).unwrap();
        w.key("s").unwrap();
        w.str("hé").unwrap();
        let n = w.len();
        let (pairs, rest) = Pairs::parse(&buf[..n]).unwrap();
        assert!(rest.is_empty());
        let all: Result<alloc::vec::Vec<_>, _> = pairs.collect();
        let all = all.unwrap();
        assert_eq!(all.len(), 3);
        let Value::Array(items) = all[0].1 else { panic!() };
        let items: alloc::vec::Vec<_> = items.map(|v| v.unwrap()).collect();
        assert_eq!(
            items,
            [Value::Null, Value::Bool(true), Value::Int(-5), Value::UInt(7)]
        );
        let Value::Map(mut m) = all[1].1 else { panic!() };
        assert_eq!(m.next(), Some(Ok(("f", Value::F64(1.5)))));
        assert_eq!(all[2], ("s", Value::Str("hé")));
    }

    #[test]
    fn deeply_nested_garbage_is_malformed_not_a_stack_overflow() {
        let mut deep = alloc::vec![tag::ARRAY, 1].repeat(100_000);
        deep.push(tag::NULL);
        assert_eq!(read_value(&deep), Err(Malformed));
        let mut ok = alloc::vec![tag::ARRAY, 1].repeat(8);
        ok.push(tag::NULL);
        assert!(read_value(&ok).is_ok());
    }

    #[test]
    fn rejects_truncated_and_unknown() {
        assert_eq!(read_value(&[tag::STR, 5, b'a']), Err(Malformed));
        assert_eq!(read_value(&[42]), Err(Malformed));
        assert_eq!(read_value(&[tag::ARRAY, 2, tag::NULL]), Err(Malformed));
        let mut tiny = [0u8; 2];
        assert_eq!(PackedWriter::new(&mut tiny).str("abc"), Err(Full));
    }
}

// --- Additions for the wire encoder and its tools (append-only) ---

impl PackedWriter<'_> {
    /// Stores an integer with the signed tag even when it is non-negative. [`Self::int`]
    /// narrows non-negative values to unsigned; the SDK's own numeric properties
    /// (`$battery_level`, `level`) go on the wire as signed (wire.md §4.5), so they need this.
    pub fn signed(&mut self, value: i64) -> Result<(), Full> {
        self.put_u8(tag::INT)?;
        self.put_uvarint(zigzag(value))
    }
}

#[cfg(test)]
mod signed_tests {
    use super::*;

    #[test]
    fn signed_keeps_the_int_tag() {
        let mut buf = [0u8; 8];
        let mut w = PackedWriter::new(&mut buf);
        w.signed(44).unwrap();
        assert_eq!(w.written(), &[tag::INT, 88]);
        assert_eq!(read_value(w.written()), Ok((Value::Int(44), &[][..])));
    }
}
