//! `honch-collector`: the local development collector (product.md §6).
//!
//! ```text
//! honch-collector --port N --api-key K [--out events.jsonl] [--script faults.json]
//!                 [--allow-binary] [--max-requests N] [--tls-cert CERT.pem --tls-key KEY.pem]
//! ```
//! Listens on 127.0.0.1 only, HTTPS (TLS 1.3 and 1.2) when given a certificate chain and its
//! key. The first stdout line is `honch-collector listening on http://127.0.0.1:<port>`
//! (`https://` with TLS); every accepted event follows as one JSON line. One log line per
//! request goes to stderr. Usage errors, including unusable certificate or key files, exit
//! with status 2.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use honch::capture::http::{parse_script, Collector, CollectorConfig};
use honch::capture::tls;

const USAGE: &str = "usage: honch-collector --port N --api-key K [--out events.jsonl] \
[--script faults.json] [--allow-binary] [--max-requests N] [--tls-cert CERT.pem --tls-key KEY.pem]";

fn parse_args(args: &[String]) -> Result<(u16, CollectorConfig), String> {
    let mut port = None;
    let mut api_key = None;
    let mut config = CollectorConfig::new("");
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = Some(v.parse::<u16>().map_err(|_| format!("bad port {v:?}"))?);
            }
            "--api-key" => api_key = Some(value("--api-key")?),
            "--out" => config.out = Some(PathBuf::from(value("--out")?)),
            "--script" => {
                let path = value("--script")?;
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read script {path}: {e}"))?;
                config.script = parse_script(&text)?;
            }
            "--allow-binary" => config.limits.allow_binary = true,
            "--max-requests" => {
                let v = value("--max-requests")?;
                config.max_requests = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("bad --max-requests {v:?}"))?,
                );
            }
            "--tls-cert" => tls_cert = Some(PathBuf::from(value("--tls-cert")?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value("--tls-key")?)),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let port = port.ok_or_else(|| format!("--port is required\n{USAGE}"))?;
    let api_key = api_key.ok_or_else(|| format!("--api-key is required\n{USAGE}"))?;
    if api_key.is_empty() {
        return Err("--api-key must not be empty".into());
    }
    config.api_key = api_key;
    config.tls = match (tls_cert, tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(tls::server_config(&cert, &key)?),
        _ => return Err(format!("--tls-cert and --tls-key go together\n{USAGE}")),
    };
    Ok((port, config))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, config) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("honch-collector: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let collector = match Collector::new(config) {
        Ok(collector) => Arc::new(collector),
        Err(e) => {
            eprintln!("honch-collector: cannot open --out: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(e) => {
            eprintln!("honch-collector: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "honch-collector listening on {scheme}://127.0.0.1:{bound}"
        );
        let _ = stdout.flush();
    }
    match collector.run(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("honch-collector: {e}");
            ExitCode::FAILURE
        }
    }
}
