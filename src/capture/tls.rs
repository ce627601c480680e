//! The collector's HTTPS mode: a rustls server configuration from PEM files.
//!
//! Only what the collector needs: one certificate chain and its key, TLS 1.3 and 1.2, the
//! `ring` provider. No client authentication, no ALPN (a device that offers none must
//! still connect).

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Parses a PEM certificate chain (leaf first, then intermediates) and a PEM private key
/// (PKCS#8, SEC1 or PKCS#1) into a server configuration. `Err` says what is wrong, for
/// the person who passed the files.
pub fn server_config_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate file is not valid PEM: {e}"))?;
    if chain.is_empty() {
        return Err("certificate file holds no CERTIFICATE block".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => "key file holds no private key block".into(),
        e => format!("key file is not valid PEM: {e}"),
    })?;
    // The provider is named rather than taken from the process default so that another
    // crate enabling aws-lc-rs in the same build cannot make the default ambiguous.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        // Checks that the key belongs to the leaf, so a mismatch fails at startup rather
        // than in every handshake.
        .with_single_cert(chain, key)
        .map_err(|e| format!("certificate and key do not form a usable pair: {e}"))?;
    Ok(Arc::new(config))
}

/// [`server_config_from_pem`] from two files.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, String> {
    let read = |what: &str, path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
    };
    let cert = read("--tls-cert", cert_path)?;
    let key = read("--tls-key", key_path)?;
    server_config_from_pem(&cert, &key).map_err(|e| {
        format!(
            "--tls-cert {} / --tls-key {}: {e}",
            cert_path.display(),
            key_path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Well-formed files are covered end to end by tests/wire_collector_tls.rs, with
    // certificates made by openssl at test time.

    #[test]
    fn refuses_files_without_the_expected_blocks() {
        let err = server_config_from_pem(b"", b"").unwrap_err();
        assert!(err.contains("no CERTIFICATE"), "{err}");
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = server_config_from_pem(cert, b"nothing here").unwrap_err();
        assert!(err.contains("no private key"), "{err}");
        let err = server_config_from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n", b"").unwrap_err();
        assert!(err.contains("not valid PEM"), "{err}");
    }

    #[test]
    fn refuses_a_certificate_that_is_not_der() {
        // Structurally valid PEM whose contents are not a certificate, with a key that is
        // not one either: refused at startup, not at the first handshake.
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let err = server_config_from_pem(cert, key).unwrap_err();
        assert!(err.contains("usable pair"), "{err}");
    }
}
