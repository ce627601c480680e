//! HTTPS trust configuration shared by both bindings: the bundled anchor of the default
//! endpoint, the reading of user-supplied CA data into DER certificates, and the
//! "verification is off" warning.
//!
//! `ca_certs` is PEM text (one or more `CERTIFICATE` blocks; other blocks are skipped) or DER
//! certificates back to back. Both bindings hand their TLS stack DER only: MicroPython's
//! `tls` module parses PEM only where its mbedTLS was built with PEM support (not the bundled
//! configuration of 1.26 and later), DER everywhere. Nothing here allocates: certificates are
//! found in place and a PEM body is decoded into a buffer the caller provides.

/// GTS Root R1 (DER): the root of `https://i.honch.io` (see `certs/README.md`).
pub const DEFAULT_TRUST_ANCHOR: &[u8] = include_bytes!("../certs/gts-root-r1.der");

/// Logged once when a client is created with `verify_tls=False`.
pub const VERIFY_DISABLED_WARNING: &str = "TLS certificate verification is disabled (verify_tls=False): \
     uploads are encrypted but the server is not authenticated; use this only for local testing";

pub const NO_CERTIFICATE: &str = "ca_certs holds no certificate";
pub const NOT_CERTIFICATES: &str =
    "ca_certs must be PEM text with -----BEGIN CERTIFICATE----- blocks or DER certificate bytes";
pub const BAD_PEM: &str = "ca_certs has a malformed PEM certificate block";
pub const BAD_DER: &str = "ca_certs holds bytes that are not a DER certificate";
pub const NOT_A_CERTIFICATE: &str = "ca_certs holds a certificate that cannot be parsed";

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// One certificate of `ca_certs`, as found in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certificate<'a> {
    /// A DER certificate.
    Der(&'a [u8]),
    /// The base64 body of a PEM block (line breaks and spaces included): decode it with
    /// [`decode_pem_body`] into at least [`decoded_len_bound`] bytes.
    Pem(&'a [u8]),
}

/// The certificates of `ca_certs`, checked for shape (the TLS stack that loads them parses
/// them fully); at least one.
pub fn certificates(input: &[u8]) -> Result<impl Iterator<Item = Certificate<'_>>, &'static str> {
    let pem = find(input, BEGIN).is_some();
    // DER always starts with a SEQUENCE tag, which no PEM text can start with.
    if !pem && input.first() != Some(&0x30) {
        return Err(if input.iter().all(u8::is_ascii_whitespace) {
            NO_CERTIFICATE
        } else {
            NOT_CERTIFICATES
        });
    }
    // Walk once to refuse malformed input before anything is used.
    let mut count = 0;
    let mut rest = input;
    while let Some((_, after)) = next_certificate(rest, pem)? {
        count += 1;
        rest = after;
    }
    if count == 0 {
        return Err(NO_CERTIFICATE);
    }
    let mut rest = input;
    Ok(core::iter::from_fn(move || {
        let (cert, after) = next_certificate(rest, pem).ok().flatten()?;
        rest = after;
        Some(cert)
    }))
}

/// The first certificate of `input` and what follows it; `None` at the end.
fn next_certificate(input: &[u8], pem: bool) -> Result<Option<(Certificate<'_>, &[u8])>, &'static str> {
    if pem {
        let Some(start) = find(input, BEGIN) else {
            return Ok(None);
        };
        let body = &input[start + BEGIN.len()..];
        let end = find(body, END).ok_or(BAD_PEM)?;
        let text = &body[..end];
        if text.is_empty() || !text.iter().all(|&b| is_base64(b) || b.is_ascii_whitespace()) {
            return Err(BAD_PEM);
        }
        return Ok(Some((Certificate::Pem(text), &body[end + END.len()..])));
    }
    if input.is_empty() {
        return Ok(None);
    }
    let len = der_len(input).ok_or(BAD_DER)?;
    Ok(Some((Certificate::Der(&input[..len]), &input[len..])))
}

/// Length of the DER SEQUENCE at the start of `input` (header included).
fn der_len(input: &[u8]) -> Option<usize> {
    tlv(input, 0x30).map(|(_, total)| total)
}

/// The DER element with tag `tag` at the start of `input`: (header length, total length).
/// Definite lengths only, as DER requires; 1-3 length bytes cover any certificate, more is
/// not one.
fn tlv(input: &[u8], tag: u8) -> Option<(usize, usize)> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if !(1..=3).contains(&n) || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= input.len() && len > 0).then_some((header, total))
}

/// Whether `der` has the shape of an X.509 certificate: one SEQUENCE holding a SEQUENCE
/// (the signed part), a SEQUENCE (the algorithm) and a BIT STRING (the signature), nothing
/// after. The TLS stack that loads it checks the rest.
pub fn is_certificate(der: &[u8]) -> bool {
    let Some((header, total)) = tlv(der, 0x30) else {
        return false;
    };
    if total != der.len() {
        return false;
    }
    let mut body = &der[header..];
    for tag in [0x30, 0x30, 0x03] {
        let Some((_, len)) = tlv(body, tag) else {
            return false;
        };
        body = &body[len..];
    }
    body.is_empty()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// A buffer of this many bytes holds the decoding of the PEM body `text`.
pub fn decoded_len_bound(text: &[u8]) -> usize {
    text.len() / 4 * 3 + 3
}

/// Decodes a PEM body (base64, whitespace ignored) into `out`; returns the length, or
/// `None` when it is not canonical base64 or `out` is too small.
pub fn decode_pem_body(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut len = 0;
    let mut padding = 0;
    for &c in text.iter().filter(|c| !c.is_ascii_whitespace()) {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(len)? = (acc >> bits) as u8;
            len += 1;
        }
    }
    // What is left must be the zero bits of a final, padded group.
    let leftover_ok = acc & ((1 << bits) - 1) == 0;
    (padding <= 2 && leftover_ok && len > 0).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn decoded(input: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
        let mut out = Vec::new();
        for cert in certificates(input)? {
            out.push(match cert {
                Certificate::Der(d) => d.to_vec(),
                Certificate::Pem(text) => {
                    let mut buf = alloc::vec![0u8; decoded_len_bound(text)];
                    let n = decode_pem_body(text, &mut buf).ok_or(BAD_PEM)?;
                    buf.truncate(n);
                    buf
                }
            });
        }
        Ok(out)
    }

    fn pem_of(der: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut text = Vec::from(&b"junk before\n-----BEGIN CERTIFICATE-----\n"[..]);
        for (i, chunk) in der.chunks(3).enumerate() {
            let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
            for j in 0..4 {
                text.push(if j <= chunk.len() {
                    ALPHABET[(n >> (18 - 6 * j) & 63) as usize]
                } else {
                    b'='
                });
            }
            if i % 16 == 15 {
                text.push(b'\n');
            }
        }
        text.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
        text
    }

    #[test]
    fn der_alone_and_back_to_back() {
        assert_eq!(decoded(DEFAULT_TRUST_ANCHOR).unwrap(), [DEFAULT_TRUST_ANCHOR]);
        let two = [DEFAULT_TRUST_ANCHOR, DEFAULT_TRUST_ANCHOR].concat();
        assert_eq!(decoded(&two).unwrap().len(), 2);
        assert_eq!(decoded(&DEFAULT_TRUST_ANCHOR[..100]), Err(BAD_DER));
    }

    #[test]
    fn pem_blocks_decode_to_der() {
        let pem = pem_of(DEFAULT_TRUST_ANCHOR);
        assert_eq!(decoded(&pem).unwrap(), [DEFAULT_TRUST_ANCHOR]);
        let two = [
            pem.clone(),
            Vec::from(&b"-----BEGIN PRIVATE KEY-----\nAAAA\n"[..]),
            pem,
        ]
        .concat();
        assert_eq!(decoded(&two).unwrap().len(), 2);
    }

    #[test]
    fn certificate_shape() {
        assert!(is_certificate(DEFAULT_TRUST_ANCHOR));
        assert!(!is_certificate(b"\x30\x03\x02\x01\x00"));
        assert!(!is_certificate(
            &DEFAULT_TRUST_ANCHOR[..DEFAULT_TRUST_ANCHOR.len() - 1]
        ));
        assert!(!is_certificate(b""));
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(decoded(b"not a certificate").err(), Some(NOT_CERTIFICATES));
        assert_eq!(decoded(b"  \n").err(), Some(NO_CERTIFICATE));
        assert_eq!(decoded(b"").err(), Some(NO_CERTIFICATE));
        assert_eq!(decoded(b"-----BEGIN CERTIFICATE-----\nMIIB").err(), Some(BAD_PEM));
        assert_eq!(
            decoded(b"-----BEGIN CERTIFICATE-----\nMI*B\n-----END CERTIFICATE-----").err(),
            Some(BAD_PEM)
        );
        assert_eq!(
            decoded(b"-----BEGIN CERTIFICATE-----\nMQ=x\n-----END CERTIFICATE-----").err(),
            Some(BAD_PEM)
        );
    }
}
