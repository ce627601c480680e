//! HTTPS trust configuration shared by both bindings: the bundled anchor of the default
//! endpoint, a light shape check of user-supplied CA data, and the "verification is off"
//! warning.

/// GTS Root R1 (DER): the root of `https://i.honch.io` (see `certs/README.md`).
pub const DEFAULT_TRUST_ANCHOR: &[u8] = include_bytes!("../certs/gts-root-r1.der");

/// Logged once when a client is created with `verify_tls=False`.
pub const VERIFY_DISABLED_WARNING: &str = "TLS certificate verification is disabled (verify_tls=False): \
     uploads are encrypted but the server is not authenticated; use this only for local testing";

/// Whether `data` looks like CA certificates this SDK accepts: PEM text with at least one
/// `CERTIFICATE` block, or exactly one DER certificate (an ASN.1 SEQUENCE whose length
/// covers the whole input). The TLS stacks parse them fully when they load them.
pub fn looks_like_certificates(data: &[u8]) -> bool {
    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----";
    if data.windows(PEM.len()).any(|w| w == PEM) {
        return true;
    }
    let (len, header) = match data {
        [0x30, 0x82, hi, lo, ..] => (usize::from(*hi) << 8 | usize::from(*lo), 4),
        [0x30, 0x81, n, ..] => (usize::from(*n), 3),
        _ => return false,
    };
    len + header == data.len() && len >= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_pem_and_one_der_certificate() {
        assert!(looks_like_certificates(DEFAULT_TRUST_ANCHOR));
        assert!(looks_like_certificates(
            b"x\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        ));
        assert!(!looks_like_certificates(b"not a certificate"));
        assert!(!looks_like_certificates(&DEFAULT_TRUST_ANCHOR[..100]));
        assert!(!looks_like_certificates(b""));
    }
}
