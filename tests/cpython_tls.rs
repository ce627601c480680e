//! The CPython HTTPS client (src/cpython/tls.rs) against local rustls servers on 127.0.0.1, with
//! throwaway certificates from tests/tls/make-certs.sh. The client file is included as it is:
//! it needs nothing of pyo3, which the default features do not build.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use honch::delivery::transport::{NetError, NetFailure};
use honch::trust;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;

#[path = "../src/cpython/tls.rs"]
mod tls;

use tls::{parse_ca_certs, TlsSession, TlsSettings, DEFAULT_ANCHORS, ETIMEDOUT};

/// How long a test server waits for its one client before giving up (never reached when the
/// client behaves).
const SERVER_PATIENCE: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Two independent sets from make-certs.sh: `a` is trusted by the tests, `b` plays a CA that
/// the client has never heard of.
fn cert_dirs() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cpython-tls-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/make-certs.sh");
        let make = |name: &str| {
            let dir = root.join(name);
            let out = Command::new("bash")
                .arg(&script)
                .arg(&dir)
                .output()
                .expect("run make-certs.sh");
            assert!(
                out.status.success(),
                "make-certs.sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            dir
        };
        (make("a"), make("b"))
    })
}

fn trusted(name: &str) -> PathBuf {
    cert_dirs().0.join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Verification against set `a`'s CA, given as PEM.
fn trusting_a() -> TlsSettings {
    let anchors = parse_ca_certs(&read(&trusted("ca.pem"))).expect("ca.pem parses");
    TlsSettings::new(&anchors, true).expect("settings")
}

struct Served {
    /// The request the server received, or why its side failed.
    request: Result<Vec<u8>, String>,
    /// The SNI the client sent.
    sni: Option<String>,
}

/// A one-connection TLS server on 127.0.0.1 presenting `chain` (PEM, leaf first) and `key`.
fn tls_server(
    chain: &Path,
    key: &Path,
    versions: &[&'static SupportedProtocolVersion],
) -> (SocketAddr, JoinHandle<Served>) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(chain))
        .collect::<Result<_, _>>()
        .expect("chain PEM");
    let key = PrivateKeyDer::from_pem_slice(&read(key)).expect("key PEM");
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handle = thread::spawn(move || {
        let mut sni = None;
        let request = (|| {
            let tcp = accept(&listener)?;
            let conn = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !contains(&request, b"\r\n\r\n") {
                let n = tls.read(&mut buf).map_err(|e| e.to_string());
                sni = tls.conn.server_name().map(str::to_owned);
                match n? {
                    0 => return Err("client closed before a full request".to_owned()),
                    n => request.extend_from_slice(&buf[..n]),
                }
            }
            tls.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                .map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())?;
            Ok(request)
        })();
        Served { request, sni }
    });
    (addr, handle)
}

/// Accepts one connection within [`SERVER_PATIENCE`], as a blocking stream with timeouts.
fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let until = Instant::now() + SERVER_PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                stream
                    .set_read_timeout(Some(SERVER_PATIENCE))
                    .map_err(|e| e.to_string())?;
                stream
                    .set_write_timeout(Some(SERVER_PATIENCE))
                    .map_err(|e| e.to_string())?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < until => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const REQUEST: &[u8] =
    b"POST /capture HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Connects to `addr`, verifies as `host`, sends [`REQUEST`] and returns the response head.
fn exchange(
    addr: SocketAddr,
    host: &str,
    settings: &TlsSettings,
    timeout: Duration,
) -> Result<Vec<u8>, NetError> {
    let deadline = Instant::now() + timeout;
    let tcp = TcpStream::connect_timeout(&addr, timeout).expect("TCP connect to the test server");
    let mut session = TlsSession::connect(tcp, host, deadline, settings)?;
    session.write_all(REQUEST)?;
    let mut response = Vec::new();
    let mut buf = [0u8; 256];
    while !contains(&response, b"\r\n\r\n") {
        match session.read(&mut buf)? {
            0 => break,
            n => response.extend_from_slice(&buf[..n]),
        }
    }
    session.close();
    Ok(response)
}

/// A full exchange with a server presenting `leaf` from set `a`, verified as `host`.
fn assert_accepted(leaf: &str, host: &str, settings: &TlsSettings) -> Served {
    let (addr, server) = tls_server(
        &trusted(&format!("{leaf}.pem")),
        &trusted(&format!("{leaf}.key")),
        &[&TLS13],
    );
    let response = exchange(addr, host, settings, CLIENT_TIMEOUT);
    let served = server.join().expect("server thread");
    let response =
        response.unwrap_or_else(|e| panic!("{leaf} as {host}: {e:?} (server: {:?})", served.request));
    assert!(
        response.starts_with(b"HTTP/1.1 204 "),
        "{}",
        String::from_utf8_lossy(&response)
    );
    assert_eq!(served.request.as_deref(), Ok(REQUEST));
    served
}

/// The handshake with a server presenting `chain`/`key` fails with `failure`.
fn assert_refused(chain: &Path, key: &Path, host: &str, settings: &TlsSettings, failure: NetFailure) {
    let (addr, server) = tls_server(chain, key, &[&TLS13]);
    let result = exchange(addr, host, settings, CLIENT_TIMEOUT);
    let served = server.join().expect("server thread");
    assert_eq!(result.map_err(|e| e.failure), Err(failure), "{}", chain.display());
    assert!(
        served.request.is_err(),
        "the server got a request: {:?}",
        served.request
    );
}

#[test]
fn p256_leaf_verified_by_ip_address_without_sni() {
    let served = assert_accepted("leaf", "127.0.0.1", &trusting_a());
    assert_eq!(served.sni, None, "an IP literal is not sent as SNI");
}

#[test]
fn p256_leaf_verified_by_dns_name_with_der_anchor() {
    let anchors = parse_ca_certs(&read(&trusted("ca.der"))).expect("ca.der parses");
    assert_eq!(anchors.len(), 1);
    let settings = TlsSettings::new(&anchors, true).expect("settings");
    let served = assert_accepted("leaf", "localhost", &settings);
    assert_eq!(served.sni.as_deref(), Some("localhost"));
}

#[test]
fn rsa_leaf_verified() {
    assert_accepted("leaf-rsa", "127.0.0.1", &trusting_a());
}

#[test]
fn chain_through_an_intermediate_verified() {
    assert_accepted("chain", "localhost", &trusting_a());
}

#[test]
fn chain_without_its_intermediate_refused() {
    // The leaf of chain.pem alone: the client must not find the intermediate by itself.
    let chain = String::from_utf8(read(&trusted("chain.pem"))).expect("PEM is text");
    let end = "-----END CERTIFICATE-----";
    let leaf_only = &chain[..chain.find(end).expect("a PEM block") + end.len()];
    let path = cert_dirs().0.join("chain-leaf-only.pem");
    std::fs::write(&path, leaf_only).expect("write leaf");
    assert_refused(
        &path,
        &trusted("chain.key"),
        "127.0.0.1",
        &trusting_a(),
        NetFailure::TlsCert,
    );
}

/// Like the default endpoint's chain (ECDSA leaf ← RSA-2048 intermediate ← RSA-4096 root,
/// RSA PKCS#1 signatures above the leaf), made with openssl in `dir`.
fn rsa_rooted_chain(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("ext.cnf"),
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
         [leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
    )
    .expect("write ext.cnf");
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:4096",
        "-out",
        "root.key",
    ]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/CN=test root R1",
        "-days",
        "30",
        "-sha384",
        "-config",
        "ext.cnf",
        "-extensions",
        "ca",
        "-out",
        "root.pem",
    ]);
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "int.key",
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        "int.key",
        "-subj",
        "/CN=test WR3",
        "-out",
        "int.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "int.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-extensions",
        "ca",
        "-out",
        "int.pem",
    ]);
    run(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "leaf.key",
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        "leaf.key",
        "-subj",
        "/CN=localhost",
        "-out",
        "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "int.pem",
        "-CAkey",
        "int.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-extensions",
        "leaf",
        "-out",
        "leaf.pem",
    ]);
    let chain = [read(&dir.join("leaf.pem")), read(&dir.join("int.pem"))].concat();
    std::fs::write(dir.join("chain.pem"), chain).expect("write chain");
}

#[test]
fn chain_under_an_rsa_root_verified() {
    let dir = cert_dirs().0.with_file_name("rsa-rooted");
    rsa_rooted_chain(&dir);
    let anchors = parse_ca_certs(&read(&dir.join("root.pem"))).expect("root parses");
    let settings = TlsSettings::new(&anchors, true).expect("settings");
    let (addr, server) = tls_server(&dir.join("chain.pem"), &dir.join("leaf.key"), &[&TLS13]);
    let response = exchange(addr, "localhost", &settings, CLIENT_TIMEOUT);
    let served = server.join().expect("server thread");
    assert_eq!(served.request.as_deref(), Ok(REQUEST));
    assert!(response.expect("verified").starts_with(b"HTTP/1.1 204 "));
}

#[test]
fn expired_leaf_refused() {
    let (pem, key) = (trusted("expired.pem"), trusted("expired.key"));
    assert_refused(&pem, &key, "127.0.0.1", &trusting_a(), NetFailure::TlsCert);
}

#[test]
fn wrong_host_refused() {
    let (pem, key) = (trusted("wrong-host.pem"), trusted("wrong-host.key"));
    assert_refused(&pem, &key, "127.0.0.1", &trusting_a(), NetFailure::TlsCert);
    // A valid leaf for 127.0.0.1 and localhost is still not one for another name.
    let (pem, key) = (trusted("leaf.pem"), trusted("leaf.key"));
    assert_refused(&pem, &key, "other.example", &trusting_a(), NetFailure::TlsCert);
}

#[test]
fn self_signed_leaf_refused() {
    let (pem, key) = (trusted("self-signed.pem"), trusted("self-signed.key"));
    assert_refused(&pem, &key, "127.0.0.1", &trusting_a(), NetFailure::TlsCert);
}

#[test]
fn leaf_from_an_unknown_ca_refused() {
    let other = &cert_dirs().1;
    assert_refused(
        &other.join("leaf.pem"),
        &other.join("leaf.key"),
        "127.0.0.1",
        &trusting_a(),
        NetFailure::TlsCert,
    );
    // The bundled default trusts only GTS Root R1.
    let (pem, key) = (trusted("leaf.pem"), trusted("leaf.key"));
    assert_refused(
        &pem,
        &key,
        "127.0.0.1",
        &TlsSettings::default(),
        NetFailure::TlsCert,
    );
}

#[test]
fn unverified_mode_still_speaks_tls() {
    let settings = TlsSettings::new::<&[u8]>(&[], false).expect("settings");
    assert!(!settings.verifies());
    assert_accepted("self-signed", "127.0.0.1", &settings);
}

#[test]
fn tls12_only_server_fails_the_handshake() {
    let (pem, key) = (trusted("leaf.pem"), trusted("leaf.key"));
    let (addr, server) = tls_server(&pem, &key, &[&TLS12]);
    let result = exchange(addr, "127.0.0.1", &trusting_a(), CLIENT_TIMEOUT);
    assert!(server.join().expect("server thread").request.is_err());
    assert_eq!(result.map_err(|e| e.failure), Err(NetFailure::TlsHandshake));
}

/// A plain TCP server that reads what arrives, then either answers `reply` or, with `None`,
/// stays silent until the client goes away.
fn raw_server(reply: Option<&'static [u8]>) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handle = thread::spawn(move || {
        let Ok(mut tcp) = accept(&listener) else { return };
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf);
        if let Some(reply) = reply {
            let _ = tcp.write_all(reply);
            let _ = tcp.shutdown(Shutdown::Write);
        }
        // Until the client closes (or the patience runs out).
        while matches!(tcp.read(&mut buf), Ok(n) if n > 0) {}
    });
    (addr, handle)
}

#[test]
fn silent_server_fails_the_handshake_at_the_deadline() {
    let (addr, server) = raw_server(None);
    let timeout = Duration::from_millis(600);
    let started = Instant::now();
    let result = exchange(addr, "127.0.0.1", &trusting_a(), timeout);
    let took = started.elapsed();
    server.join().expect("server thread");
    assert_eq!(
        result.map(|_| ()),
        Err(NetError {
            failure: NetFailure::TlsHandshake,
            os_error: ETIMEDOUT
        })
    );
    assert!(took >= timeout, "gave up early, after {took:?}");
    assert!(
        took < timeout + Duration::from_millis(400),
        "overran the deadline: {took:?}"
    );
}

#[test]
fn non_tls_server_fails_the_handshake() {
    let (addr, server) = raw_server(Some(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    let result = exchange(addr, "127.0.0.1", &trusting_a(), CLIENT_TIMEOUT);
    server.join().expect("server thread");
    assert_eq!(result.map_err(|e| e.failure), Err(NetFailure::TlsHandshake));
}

#[test]
fn ca_certs_accepts_pem_bundles_and_der() {
    let mut bundle = read(&trusted("ca.pem"));
    bundle.extend_from_slice(b"\n# comments between blocks are fine\n");
    bundle.extend_from_slice(&read(&trusted("intermediate.pem")));
    let pem = parse_ca_certs(&bundle).expect("PEM bundle");
    assert_eq!(pem.len(), 2);
    assert_eq!(pem[0], read(&trusted("ca.der")));

    let mut der = read(&trusted("ca.der"));
    der.extend_from_slice(&pem[1]);
    assert_eq!(parse_ca_certs(&der), Ok(pem));
}

#[test]
fn ca_certs_refuses_garbage() {
    let ca_der = read(&trusted("ca.der"));
    let ca_pem = String::from_utf8(read(&trusted("ca.pem"))).expect("PEM is text");
    let mut corrupted_body = ca_pem.clone().into_bytes();
    // A byte in the base64 body (after the BEGIN line) that is not base64.
    let body = ca_pem.find('\n').expect("BEGIN line") + 5;
    corrupted_body[body] = b'!';
    let cases: [(&str, Vec<u8>); 7] = [
        ("empty", Vec::new()),
        ("blank", b" \n\t".to_vec()),
        ("text", b"not a certificate".to_vec()),
        ("truncated DER", ca_der[..ca_der.len() - 1].to_vec()),
        ("DER with trailing junk", [ca_der.as_slice(), b"x"].concat()),
        ("corrupted PEM", corrupted_body),
        (
            "unterminated PEM",
            ca_pem.replace("-----END CERTIFICATE-----", "").into_bytes(),
        ),
    ];
    for (what, input) in cases {
        let err = parse_ca_certs(&input).expect_err(what);
        assert!(err.starts_with("ca_certs "), "{what}: {err}");
    }
    // A SEQUENCE that is no certificate.
    assert!(parse_ca_certs(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    // A PEM key is no certificate either.
    assert!(parse_ca_certs(&read(&trusted("ca.key"))).is_err());
    assert!(
        TlsSettings::new::<&[u8]>(&[], true).is_err(),
        "verifying against nothing"
    );
    assert!(TlsSettings::new(&[b"junk".as_slice()], false).is_err());
}

#[test]
fn default_anchor_is_gts_root_r1() {
    assert_eq!(DEFAULT_ANCHORS.len(), 1);
    let parsed = parse_ca_certs(DEFAULT_ANCHORS[0]).expect("bundled root parses");
    assert_eq!(parsed, vec![DEFAULT_ANCHORS[0].to_vec()]);
    assert!(contains(DEFAULT_ANCHORS[0], b"GTS Root R1"));
    assert!(TlsSettings::default().verifies());
}
