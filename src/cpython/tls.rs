//! HTTPS for the CPython binding: a TLS 1.3 client session over a std `TcpStream`, every byte
//! of it (handshake included) bounded by the request's deadline.
//!
//! `embedded-tls` runs the protocol; the server's identity is checked here, through its
//! verifier hook, with `rustls-webpki`. The verifiers that embedded-tls 0.19 ships cannot be
//! used for a real server: its `webpki` one ignores intermediate certificates and RSA issuers
//! (the default endpoint's chain is leaf ← WR3 ← GTS Root R1, RSA-signed), and its `rustpki`
//! one checks neither CA constraints nor extended key usage nor IP addresses. docs/tls.md says
//! what is verified.
//!
//! Every socket wait is cut into slices of at most [`WAIT_SLICE`]; between slices the caller's
//! [`Interrupt`] hook may give the wait up (the CPython binding runs Python's signal handlers
//! there, so Ctrl-C is not held up until the deadline). [`sliced`] is that loop; the plain-TCP
//! transport uses it too.
//!
//! Besides std and those crates this file uses only `super::{NetError, NetFailure}`, so that
//! `tests/cpython_tls.rs` can compile it without pyo3.

use std::io::{ErrorKind as IoErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::prelude::rust_2021::*;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_io::ErrorKind as IoFailure;
use embedded_tls::alert::{AlertDescription, AlertLevel};
use embedded_tls::blocking::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, CryptoProvider, TlsConfig,
    TlsConnection, TlsContext, TlsError, TlsVerifier,
};
use embedded_tls::{CryptoRngCore, SignatureScheme};
use ouroboros::self_referencing;
use rand_core::OsRng;
use rustls_pki_types::{
    CertificateDer, IpAddr as PkiIpAddr, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime,
};
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, KeyUsage};

use super::{trust, NetError, NetFailure};

/// ETIMEDOUT (Linux numbering, as everywhere in `last_error()["os_error"]`): a missed deadline.
pub const ETIMEDOUT: i32 = 110;
/// EINTR: a wait given up because the [`Interrupt`] hook said so.
pub const EINTR: i32 = 4;

/// The longest one socket call waits before the [`Interrupt`] hook is asked again.
pub const WAIT_SLICE: Duration = Duration::from_millis(50);

/// Asked between the slices of a network wait (on the waiting thread); `true` gives the wait
/// up with [`EINTR`]. Once it has said `true` it should keep saying so until the caller has
/// dealt with the reason, so that the rest of the request (closing included) does not wait.
pub type Interrupt = Arc<dyn Fn() -> bool + Send + Sync>;

/// Runs `op`, a blocking socket call that waits at most the duration it is given, until it
/// completes, `deadline` passes (`Err(ETIMEDOUT)`) or `interrupt` says stop (`Err(EINTR)`).
/// Each try waits at most [`WAIT_SLICE`]; a try that timed out or was interrupted by a signal
/// is followed by a question to `interrupt`. Other failures are `Err(OS error number)`.
pub fn sliced<T>(
    deadline: Instant,
    interrupt: Option<&Interrupt>,
    mut op: impl FnMut(Duration) -> std::io::Result<T>,
) -> Result<T, i32> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ETIMEDOUT);
        }
        match op(left.min(WAIT_SLICE)) {
            Ok(value) => return Ok(value),
            Err(e)
                if matches!(
                    e.kind(),
                    IoErrorKind::WouldBlock | IoErrorKind::TimedOut | IoErrorKind::Interrupted
                ) =>
            {
                if interrupt.is_some_and(|stop| stop()) {
                    return Err(EINTR);
                }
            }
            Err(e) => return Err(os_error(&e)),
        }
    }
}

/// The trust anchors used unless the user passes `ca_certs`: GTS Root R1, the root of the
/// default endpoint `https://i.honch.io` (see certs/README.md).
pub const DEFAULT_ANCHORS: &[&[u8]] = &[include_bytes!("../../certs/gts-root-r1.der")];

/// TLS_AES_128_GCM_SHA256: the one suite every TLS 1.3 server must support (RFC 8446 §9.1);
/// embedded-tls offers exactly one suite per connection type.
type Suite = Aes128GcmSha256;

/// A TLS record's ciphertext is at most 2^14 + 256 bytes (RFC 8446 §5.2); embedded-tls needs a
/// whole record in the read buffer.
const READ_RECORD_BUF: usize = 16_384 + 256;
/// Writes are split into records that fit; the ClientHello is encoded here too.
const WRITE_RECORD_BUF: usize = 16_384;

/// The OS error number of a failed socket call; a socket timeout (EAGAIN) is the deadline.
pub fn os_error(e: &std::io::Error) -> i32 {
    if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) {
        return ETIMEDOUT;
    }
    e.raw_os_error().unwrap_or(0)
}

/// How HTTPS connections check the server, fixed when the client is built.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    anchors: Vec<TrustAnchor<'static>>,
    verify: bool,
}

impl TlsSettings {
    /// `anchors` are DER certificates (see [`parse_ca_certs`]). With `verify` false the
    /// connection is still encrypted but the server's certificate is not checked at all:
    /// only for a user who asks for it explicitly.
    pub fn new<A: AsRef<[u8]>>(anchors: &[A], verify: bool) -> Result<Self, &'static str> {
        let mut parsed = Vec::with_capacity(anchors.len());
        for der in anchors {
            let der = CertificateDer::from(der.as_ref());
            let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|_| trust::NOT_A_CERTIFICATE)?;
            parsed.push(anchor.to_owned());
        }
        if verify && parsed.is_empty() {
            return Err(trust::NO_CERTIFICATE);
        }
        Ok(Self {
            anchors: parsed,
            verify,
        })
    }

    /// Whether the server's certificate is verified.
    pub fn verifies(&self) -> bool {
        self.verify
    }
}

impl Default for TlsSettings {
    /// Verification against [`DEFAULT_ANCHORS`].
    fn default() -> Self {
        // The bundled root always parses (a test says so); were it not to, fail closed: with
        // no anchor every certificate is refused.
        Self::new(DEFAULT_ANCHORS, true).unwrap_or(Self {
            anchors: Vec::new(),
            verify: true,
        })
    }
}

/// Turns the user's `ca_certs` into DER certificates (the core's reading, `trust.rs`: PEM
/// blocks or DER back to back). Every certificate must parse as a trust anchor.
pub fn parse_ca_certs(input: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut certs = Vec::new();
    for cert in trust::certificates(input)? {
        let der = match cert {
            trust::Certificate::Der(der) => der.to_vec(),
            trust::Certificate::Pem(text) => {
                let mut der = vec![0u8; trust::decoded_len_bound(text)];
                let len = trust::decode_pem_body(text, &mut der).ok_or(trust::BAD_PEM)?;
                der.truncate(len);
                der
            }
        };
        webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
            .map_err(|_| trust::NOT_A_CERTIFICATE)?;
        certs.push(der);
    }
    Ok(certs)
}

/// The std socket as embedded-tls's blocking I/O, every call bounded by `deadline` and waiting
/// in [`sliced`] steps.
struct DeadlineIo {
    stream: TcpStream,
    deadline: Instant,
    interrupt: Option<Interrupt>,
    /// embedded-tls keeps only an error's kind; the OS error number is reported from here.
    os_error: Arc<AtomicI32>,
}

impl DeadlineIo {
    fn fail(&self, errno: i32) -> IoFailure {
        self.os_error.store(errno, Ordering::Relaxed);
        match errno {
            ETIMEDOUT => IoFailure::TimedOut,
            EINTR => IoFailure::Interrupted,
            _ => IoFailure::Other,
        }
    }
}

impl embedded_io::ErrorType for DeadlineIo {
    type Error = IoFailure;
}

impl embedded_io::Read for DeadlineIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoFailure> {
        let stream = &self.stream;
        sliced(self.deadline, self.interrupt.as_ref(), |slice| {
            stream.set_read_timeout(Some(slice))?;
            (&*stream).read(buf)
        })
        .map_err(|errno| self.fail(errno))
    }
}

impl embedded_io::Write for DeadlineIo {
    fn write(&mut self, buf: &[u8]) -> Result<usize, IoFailure> {
        let stream = &self.stream;
        sliced(self.deadline, self.interrupt.as_ref(), |slice| {
            stream.set_write_timeout(Some(slice))?;
            (&*stream).write(buf)
        })
        .map_err(|errno| self.fail(errno))
    }

    fn flush(&mut self) -> Result<(), IoFailure> {
        // TcpStream does not buffer.
        Ok(())
    }
}

/// Why the verifier stopped the handshake: what the caller reports and what the server is told.
struct Refusal {
    failure: NetFailure,
    alert: AlertDescription,
}

impl Refusal {
    fn cert(alert: AlertDescription) -> Self {
        Self {
            failure: NetFailure::TlsCert,
            alert,
        }
    }

    fn handshake(alert: AlertDescription) -> Self {
        Self {
            failure: NetFailure::TlsHandshake,
            alert,
        }
    }

    fn from_webpki(e: &webpki::Error) -> Self {
        Self::cert(match e {
            webpki::Error::UnknownIssuer => AlertDescription::UnknownCa,
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                AlertDescription::CertificateExpired
            }
            _ => AlertDescription::BadCertificate,
        })
    }
}

/// The server-authentication half of the handshake, called by embedded-tls for the server's
/// Certificate and CertificateVerify messages.
struct Verifier<'s> {
    /// `None` when verification is off.
    anchors: Option<&'s [TrustAnchor<'static>]>,
    /// The host the user configured; `None` only when it is no valid name and not verified.
    name: Option<ServerName<'s>>,
    now: UnixTime,
    /// The leaf certificate, kept for checking the CertificateVerify signature.
    leaf: Option<Vec<u8>>,
    /// The transcript up to the Certificate message, which CertificateVerify signs.
    transcript: Option<Sha256>,
    signed: bool,
    refusal: Option<NetFailure>,
}

impl<'s> Verifier<'s> {
    fn new(settings: &'s TlsSettings, name: Option<ServerName<'s>>, now: UnixTime) -> Self {
        Self {
            anchors: settings.verify.then_some(settings.anchors.as_slice()),
            name,
            now,
            leaf: None,
            transcript: None,
            signed: false,
            refusal: None,
        }
    }

    /// embedded-tls accepts a server that skips Certificate and CertificateVerify and goes
    /// straight to Finished (which any party to the key exchange can compute); this tells
    /// whether the server really proved it holds the certificate's key.
    fn authenticated(&self) -> bool {
        self.anchors.is_none() || (self.leaf.is_some() && self.signed)
    }

    fn refuse(&mut self, refusal: Refusal) -> TlsError {
        self.refusal = Some(refusal.failure);
        TlsError::AbortHandshake(AlertLevel::Fatal, refusal.alert)
    }

    fn check_certificate(&self, cert: &CertificateRef<'_>) -> Result<Vec<u8>, Refusal> {
        if self.leaf.is_some() {
            return Err(Refusal::handshake(AlertDescription::UnexpectedMessage));
        }
        let mut chain = Vec::with_capacity(cert.entries.len());
        for entry in &cert.entries {
            match entry {
                CertificateEntryRef::X509(der) => chain.push(CertificateDer::from(*der)),
                CertificateEntryRef::RawPublicKey(_) => {
                    return Err(Refusal::cert(AlertDescription::UnsupportedCertificate));
                }
            }
        }
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(Refusal::cert(AlertDescription::CertificateRequired));
        };
        if let Some(anchors) = self.anchors {
            let name = self
                .name
                .as_ref()
                .ok_or(Refusal::cert(AlertDescription::BadCertificate))?;
            let ee = EndEntityCert::try_from(leaf).map_err(|e| Refusal::from_webpki(&e))?;
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                anchors,
                intermediates,
                self.now,
                KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|e| Refusal::from_webpki(&e))?;
            ee.verify_is_valid_for_subject_name(name)
                .map_err(|e| Refusal::from_webpki(&e))?;
        }
        Ok(leaf.to_vec())
    }

    fn check_signature(&mut self, verify: &CertificateVerifyRef<'_>) -> Result<(), Refusal> {
        let (Some(leaf), Some(transcript), false) = (&self.leaf, self.transcript.take(), self.signed) else {
            return Err(Refusal::handshake(AlertDescription::UnexpectedMessage));
        };
        if self.anchors.is_none() {
            return Ok(());
        }
        let algorithm = tls13_signature_algorithm(verify.signature_scheme)
            .ok_or(Refusal::handshake(AlertDescription::IllegalParameter))?;
        // RFC 8446 §4.4.3: 64 spaces, the context string with its NUL, the transcript hash.
        let mut message = Vec::with_capacity(64 + 34 + 32);
        message.resize(64, 0x20);
        message.extend_from_slice(b"TLS 1.3, server CertificateVerify\x00");
        message.extend_from_slice(&transcript.finalize());
        let der = CertificateDer::from(leaf.as_slice());
        let ee = EndEntityCert::try_from(&der).map_err(|e| Refusal::from_webpki(&e))?;
        ee.verify_signature(algorithm, &message, verify.signature)
            .map_err(|_| Refusal::handshake(AlertDescription::DecryptError))
    }
}

/// The schemes TLS 1.3 allows in CertificateVerify (RSA only as PSS; ECDSA with the curve tied
/// to the hash). PKCS#1 v1.5 is offered for certificate signatures only, so it is refused here.
fn tls13_signature_algorithm(scheme: SignatureScheme) -> Option<&'static dyn SignatureVerificationAlgorithm> {
    use webpki::ring as alg;
    Some(match scheme {
        SignatureScheme::EcdsaSecp256r1Sha256 => alg::ECDSA_P256_SHA256,
        SignatureScheme::EcdsaSecp384r1Sha384 => alg::ECDSA_P384_SHA384,
        SignatureScheme::RsaPssRsaeSha256 => alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        SignatureScheme::RsaPssRsaeSha384 => alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        SignatureScheme::RsaPssRsaeSha512 => alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        SignatureScheme::Ed25519 => alg::ED25519,
        _ => return None,
    })
}

impl TlsVerifier<Suite> for Verifier<'_> {
    fn set_hostname_verification(&mut self, _hostname: &str) -> Result<(), TlsError> {
        // The name was fixed at construction: embedded-tls passes only what it sends as SNI,
        // and an IP literal is verified without being sent.
        Ok(())
    }

    fn verify_certificate(&mut self, transcript: &Sha256, cert: CertificateRef<'_>) -> Result<(), TlsError> {
        match self.check_certificate(&cert) {
            Ok(leaf) => {
                self.leaf = Some(leaf);
                self.transcript = Some(transcript.clone());
                Ok(())
            }
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        match self.check_signature(&verify) {
            Ok(()) => {
                self.signed = true;
                Ok(())
            }
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }
}

struct Provider<'s> {
    rng: OsRng,
    verifier: Verifier<'s>,
}

impl CryptoProvider for Provider<'_> {
    type CipherSuite = Suite;
    // No client certificate is ever sent, so nothing is signed.
    type Signature = Vec<u8>;

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        // Always Ok: embedded-tls silently skips verification when there is no verifier.
        Ok(&mut self.verifier)
    }
}

/// The TLS connection next to the record buffers it borrows; both are freed together.
#[self_referencing]
struct Connection {
    read_buf: Box<[u8]>,
    write_buf: Box<[u8]>,
    /// `None` once closed, or after embedded-tls panicked (its state is then unknown).
    #[borrows(mut read_buf, mut write_buf)]
    #[not_covariant]
    tls: Option<TlsConnection<'this, DeadlineIo, Suite>>,
}

/// An open TLS 1.3 session (32 KiB of record buffers while it lives).
pub struct TlsSession {
    conn: Connection,
    os_error: Arc<AtomicI32>,
    peer_closed: bool,
}

/// What to check the certificate against: an IP literal (bare or in brackets) is matched
/// against the certificate's IP addresses, anything else as a DNS name.
fn server_name(host: &str) -> Option<ServerName<'_>> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return PkiIpAddr::try_from(bare).ok().map(ServerName::IpAddress);
    }
    ServerName::try_from(bare).ok()
}

/// Runs embedded-tls code that can panic on a server's input (0.19 has `unwrap()` on an
/// empty decrypted record and `unimplemented!()` for post-handshake messages other than
/// NewSessionTicket): such a panic becomes a failure instead of reaching Python.
fn guarded<R>(f: impl FnOnce() -> Result<R, TlsError>) -> Result<R, Option<TlsError>> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(Some),
        Err(_) => Err(None),
    }
}

impl TlsSession {
    /// [`TlsSession::open`] with no [`Interrupt`] hook: only the deadline ends a wait.
    // The binding always passes a hook; tests/cpython_tls.rs uses this.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn connect(
        stream: TcpStream,
        host: &str,
        deadline: Instant,
        settings: &TlsSettings,
    ) -> Result<Self, NetError> {
        Self::open(stream, host, deadline, settings, None)
    }

    /// Runs the TLS 1.3 handshake with `host` over `stream` before `deadline`. Certificate
    /// problems fail with `TlsCert`; everything else, the deadline included (os_error
    /// ETIMEDOUT) and a wait that `interrupt` gave up (EINTR), with `TlsHandshake`. The
    /// session's reads and writes ask `interrupt` between wait slices too.
    pub fn open(
        stream: TcpStream,
        host: &str,
        deadline: Instant,
        settings: &TlsSettings,
        interrupt: Option<Interrupt>,
    ) -> Result<Self, NetError> {
        let name = server_name(host);
        if settings.verify && name.is_none() {
            // Nothing a certificate could be checked against.
            return Err(NetError::new(NetFailure::TlsCert, 0));
        }
        let mut config = TlsConfig::new().enable_rsa_signatures();
        if let Some(ServerName::DnsName(dns)) = &name {
            config = config.with_server_name(dns.as_ref());
        }
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut provider = Provider {
            rng: OsRng,
            verifier: Verifier::new(settings, name.clone(), UnixTime::since_unix_epoch(since_epoch)),
        };

        let os_error = Arc::new(AtomicI32::new(0));
        let io = DeadlineIo {
            stream,
            deadline,
            interrupt,
            os_error: Arc::clone(&os_error),
        };
        let mut conn = ConnectionBuilder {
            read_buf: vec![0u8; READ_RECORD_BUF].into_boxed_slice(),
            write_buf: vec![0u8; WRITE_RECORD_BUF].into_boxed_slice(),
            tls_builder: |read_buf: &mut Box<[u8]>, write_buf: &mut Box<[u8]>| {
                Some(TlsConnection::new(io, &mut read_buf[..], &mut write_buf[..]))
            },
        }
        .build();

        let opened = guarded(|| {
            conn.with_tls_mut(|tls| match tls {
                Some(tls) => tls.open(TlsContext::new(&config, &mut provider)),
                None => Err(TlsError::InternalError),
            })
        });
        let failed = |failure, os| Err(NetError::new(failure, os));
        match opened {
            Ok(()) if provider.verifier.authenticated() => Ok(Self {
                conn,
                os_error,
                peer_closed: false,
            }),
            Ok(()) => failed(NetFailure::TlsHandshake, 0),
            Err(e) => match (provider.verifier.refusal, e) {
                (Some(failure), _) => failed(failure, 0),
                (None, Some(TlsError::Io(_))) => {
                    failed(NetFailure::TlsHandshake, os_error.load(Ordering::Relaxed))
                }
                (None, _) => failed(NetFailure::TlsHandshake, 0),
            },
        }
    }

    fn error(&mut self, failure: NetFailure, e: Option<TlsError>) -> NetError {
        match e {
            Some(TlsError::Io(_)) => NetError::new(failure, self.os_error.load(Ordering::Relaxed)),
            Some(_) => NetError::new(failure, 0),
            None => {
                self.conn.with_tls_mut(|tls| *tls = None);
                NetError::new(failure, 0)
            }
        }
    }

    /// Encrypts and sends all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        let conn = &mut self.conn;
        let result = guarded(|| {
            conn.with_tls_mut(|tls| {
                let tls = tls.as_mut().ok_or(TlsError::MissingHandshake)?;
                let mut rest = bytes;
                while !rest.is_empty() {
                    match tls.write(rest)? {
                        0 => return Err(TlsError::InternalError),
                        n => rest = &rest[n..],
                    }
                }
                tls.flush()
            })
        });
        result.map_err(|e| self.error(NetFailure::Write, e))
    }

    /// Reads and decrypts at least one byte into `buf`, or returns 0 once the server closed
    /// (with `close_notify`, or by closing TCP: a truncated HTTP head is caught by the parser).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if self.peer_closed {
            return Ok(0);
        }
        let conn = &mut self.conn;
        let result = guarded(|| {
            conn.with_tls_mut(|tls| match tls {
                Some(tls) => tls.read(buf),
                None => Err(TlsError::MissingHandshake),
            })
        });
        match result {
            Ok(n) => Ok(n),
            Err(Some(TlsError::ConnectionClosed | TlsError::IoError)) => {
                self.peer_closed = true;
                Ok(0)
            }
            Err(e) => Err(self.error(NetFailure::Read, e)),
        }
    }

    /// Sends `close_notify` (best effort, still within the deadline) and closes the socket.
    pub fn close(mut self) {
        let _ = guarded(|| {
            self.conn.with_tls_mut(|tls| {
                if let Some(tls) = tls.take() {
                    // The socket comes back either way and is closed when dropped.
                    let _ = tls.close();
                }
            });
            Ok(())
        });
    }
}
