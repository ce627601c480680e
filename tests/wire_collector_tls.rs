//! The `honch-collector` binary in HTTPS mode, against a rustls client that trusts only a
//! CA made at test time by `tests/tls/make-certs.sh` (openssl is required: without it
//! these tests fail, they do not skip).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

mod common;

use common::{status_of, Collector};
use honch::packed::PackedWriter;
use honch::wire::{write_frame, SourceType};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, StreamOwned};

const KEY: &str = "phc_tls";

/// One certificate directory per test binary: making keys costs about half a second.
fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("honch-tls-certs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/make-certs.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "make-certs.sh failed (is the openssl command installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "make-certs.sh is not quiet"
        );
        dir
    })
}

fn cert(name: &str) -> String {
    certs().join(name).to_str().expect("UTF-8 path").to_owned()
}

/// A collector serving the test certificate `name` over HTTPS.
fn start(name: &str, extra: &[&str]) -> Collector {
    let (cert_file, key_file) = (cert(&format!("{name}.pem")), cert(&format!("{name}.key")));
    let mut args = vec!["--tls-cert", cert_file.as_str(), "--tls-key", key_file.as_str()];
    args.extend_from_slice(extra);
    common::start(KEY, &args)
}

fn client_config(versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let ca = std::fs::read(certs().join("ca.der")).expect("ca.der");
    roots.add(CertificateDer::from(ca)).expect("CA accepted");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn tls13() -> Arc<ClientConfig> {
    client_config(&[&rustls::version::TLS13])
}

struct Exchange {
    /// The raw response ("" when the server closed without answering).
    response: String,
    version: Option<ProtocolVersion>,
}

/// Connects as `host`, sends `request` and reads until the server closes. `Err` is the
/// client's own error: a refused certificate, a timeout, a connection closed mid-record.
fn exchange(
    port: u16,
    config: &Arc<ClientConfig>,
    host: &str,
    request: &[u8],
    timeout: Duration,
) -> std::io::Result<Exchange> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let name = ServerName::try_from(host.to_owned()).expect("server name");
    let conn = ClientConnection::new(Arc::clone(config), name).expect("client connection");
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(request)?;
    tls.flush()?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)?;
    Ok(Exchange {
        response: String::from_utf8_lossy(&response).into_owned(),
        version: tls.conn.protocol_version(),
    })
}

fn message(name: &str) -> Vec<u8> {
    let mut props = [0u8; 64];
    let mut w = PackedWriter::new(&mut props);
    w.put_uvarint(1).expect("count");
    w.key("reason").expect("key");
    w.str("tls").expect("value");
    let n = w.len();
    common::message(name, &props[..n])
}

/// A complete single-frame capture request for event `name`.
fn capture_request(name: &str, id: u32) -> Vec<u8> {
    let message = message(name);
    let mut body = vec![0u8; message.len() + 32];
    let info = write_frame(&message, id, SourceType::CompactEvents, 0, 4096, &mut body).expect("frame");
    body.truncate(info.len);
    let mut request = format!(
        "POST /capture HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.honch.chunk\r\n\
         X-Honch-Project-Key: {KEY}\r\nX-Honch-Stream-Id: tls-test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// Posts event `name`, expects 204 and the event as the collector's next stdout line.
fn deliver(c: &mut Collector, config: &Arc<ClientConfig>, host: &str, name: &str, id: u32) -> Exchange {
    let done = exchange(
        c.port,
        config,
        host,
        &capture_request(name, id),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(status_of(&done.response), 204, "{}", done.response);
    let mut line = String::new();
    c.stdout.read_line(&mut line).expect("event line");
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON event");
    assert_eq!(event["event"], name);
    assert_eq!(event["properties"]["reason"], "tls");
    done
}

#[test]
fn delivers_over_tls_13_and_12_with_ec_rsa_and_chained_certificates() {
    let mut c = start("leaf", &[]);
    let done = deliver(&mut c, &tls13(), "127.0.0.1", "over-tls13", 1);
    assert_eq!(done.version, Some(ProtocolVersion::TLSv1_3));
    assert!(done.response.contains("Connection: close"), "{}", done.response);
    let tls12 = client_config(&[&rustls::version::TLS12]);
    let done = deliver(&mut c, &tls12, "localhost", "over-tls12", 2);
    assert_eq!(done.version, Some(ProtocolVersion::TLSv1_2));

    let mut rsa = start("leaf-rsa", &[]);
    deliver(&mut rsa, &tls12, "127.0.0.1", "rsa-tls12", 1);
    deliver(&mut rsa, &tls13(), "127.0.0.1", "rsa-tls13", 2);

    // The client trusts only the root, so this works only if the intermediate is sent.
    let mut chained = start("chain", &[]);
    deliver(&mut chained, &tls13(), "127.0.0.1", "chained", 1);
}

fn certificate_error(e: &std::io::Error) -> Option<&CertificateError> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(why) => Some(why),
        _ => None,
    }
}

#[test]
fn a_client_trusting_only_the_ca_refuses_bad_certificates() {
    type Reason = fn(&CertificateError) -> bool;
    let cases: [(&str, Reason); 3] = [
        ("expired", |e| {
            matches!(
                e,
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        }),
        ("wrong-host", |e| {
            matches!(
                e,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        }),
        ("self-signed", |e| matches!(e, CertificateError::UnknownIssuer)),
    ];
    for (name, expected) in cases {
        let c = start(name, &[]);
        let result = exchange(
            c.port,
            &tls13(),
            "127.0.0.1",
            &capture_request(name, 1),
            Duration::from_secs(10),
        );
        let err = match result {
            Ok(done) => panic!("{name}: the client accepted it: {:?}", done.response),
            Err(e) => e,
        };
        let why = certificate_error(&err).unwrap_or_else(|| panic!("{name}: not a certificate error: {err}"));
        assert!(expected(why), "{name}: refused for the wrong reason: {why:?}");
    }
}

#[test]
fn scripted_faults_over_tls() {
    let dir = std::env::temp_dir().join(format!("honch-tls-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("faults.json");
    std::fs::write(
        &script,
        r#"[{"stall_handshake_ms": 3000}, {"close": true}, {"hang_ms": 400}, {"status": 503}]"#,
    )
    .expect("script");
    let mut c = start("leaf", &["--script", script.to_str().expect("path")]);
    let config = tls13();
    let request = capture_request("faulty", 1);

    // The stall: no ServerHello ever comes, the client's read timeout ends the handshake.
    let t0 = Instant::now();
    let stalled = exchange(c.port, &config, "127.0.0.1", &request, Duration::from_millis(300));
    let err = stalled.err().expect("a stalled handshake cannot succeed");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_millis(2500), "{:?}", t0.elapsed());

    // close: the handshake and the request go through, then the connection drops without
    // a close_notify.
    let closed = exchange(c.port, &config, "127.0.0.1", &request, Duration::from_secs(10));
    match closed {
        Ok(done) => assert_eq!(done.response, "", "scripted close answers nothing"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}"),
    }

    // hang: after the handshake and the request, nothing for 400 ms.
    let t0 = Instant::now();
    let hung = exchange(c.port, &config, "127.0.0.1", &request, Duration::from_secs(10));
    assert!(t0.elapsed() >= Duration::from_millis(350), "{:?}", t0.elapsed());
    match hung {
        Ok(done) => assert_eq!(done.response, "", "scripted hang answers nothing"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}"),
    }

    let limited = exchange(c.port, &config, "127.0.0.1", &request, Duration::from_secs(10)).expect("503");
    assert_eq!(status_of(&limited.response), 503);

    // A plain-HTTP client gets no HTTP answer, and the collector carries on.
    let mut plain = TcpStream::connect(("127.0.0.1", c.port)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    plain
        .write_all(b"GET /capture HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // The script is used up: the contract applies again.
    deliver(&mut c, &config, "127.0.0.1", "after-faults", 2);
}

/// Runs the collector expecting a usage failure; returns its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_honch-collector"))
        .args(["--port", "0", "--api-key", KEY])
        .args(args)
        .output()
        .expect("collector runs");
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unusable_certificate_or_key_files_exit_2() {
    let (leaf, key) = (cert("leaf.pem"), cert("leaf.key"));
    let missing = cert("no-such.pem");
    let err = refused(&["--tls-cert", &missing, "--tls-key", &key]);
    assert!(
        err.contains("cannot read --tls-cert") && err.contains("no-such.pem"),
        "{err}"
    );
    let err = refused(&["--tls-cert", &leaf, "--tls-key", &missing]);
    assert!(err.contains("cannot read --tls-key"), "{err}");
    // A key file given as the certificate, and the other way round.
    let err = refused(&["--tls-cert", &key, "--tls-key", &key]);
    assert!(err.contains("no CERTIFICATE"), "{err}");
    let err = refused(&["--tls-cert", &leaf, "--tls-key", &leaf]);
    assert!(err.contains("no private key"), "{err}");
    // A key that belongs to another certificate.
    let err = refused(&["--tls-cert", &leaf, "--tls-key", &cert("wrong-host.key")]);
    assert!(err.contains("usable pair"), "{err}");
    let err = refused(&["--tls-cert", &leaf]);
    assert!(err.contains("go together"), "{err}");
}

#[test]
fn the_stall_action_also_works_without_tls() {
    let dir = std::env::temp_dir().join(format!("honch-plain-stall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("stall.json");
    std::fs::write(&script, r#"[{"stall_handshake_ms": 400}]"#).expect("script");
    let mut child = Command::new(env!("CARGO_BIN_EXE_honch-collector"))
        .args(["--port", "0", "--api-key", KEY, "--max-requests", "1"])
        .args(["--script", script.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("collector starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let port: u16 = first
        .trim_end()
        .strip_prefix("honch-collector listening on http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let t0 = Instant::now();
    s.write_all(&capture_request("stalled", 1)).expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    assert!(t0.elapsed() >= Duration::from_millis(350), "{:?}", t0.elapsed());
    let status = child.wait().expect("collector exits after --max-requests 1");
    assert!(status.success());
}
