//! Helpers shared by the collector tests (plain and TLS): starting the collector, a
//! one-event message and the status code of a raw HTTP response.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use honch::packed::Pairs;
use honch::wire::{encode_message, BatchContext, DeviceTimeSource, EventView};

/// A one-event compact message for event `name` with packed properties `props`.
pub fn message(name: &str, props: &[u8]) -> Vec<u8> {
    let (properties, _) = Pairs::parse(props).expect("props");
    let ctx = BatchContext {
        distinct_id: "user-1",
        device_id: "device-1",
        device_model: "model-x",
        firmware_version: "1.0.0",
        sdk_platform: "posix",
        sdk_version: "0.4.0",
        environment: "test",
        session_id: None,
        device_time_source: Some(DeviceTimeSource::RealtimeClock),
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    };
    let events = [EventView {
        name,
        timestamp_ms: 1_700_000_000_123,
        properties,
    }];
    let mut out = [0u8; 4096];
    let n = encode_message(&ctx, &events[..], &mut out).expect("encodes");
    out[..n].to_vec()
}

/// The status code of an `HTTP/1.1` response.
pub fn status_of(response: &str) -> u16 {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// A running `honch-collector`, killed when dropped.
pub struct Collector {
    pub child: Child,
    pub port: u16,
    pub stdout: BufReader<ChildStdout>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the collector on a free port with project key `key` and more `args`; its stderr
/// (one line per request) is piped for tests that read it.
pub fn start(key: &str, args: &[&str]) -> Collector {
    let mut child = Command::new(env!("CARGO_BIN_EXE_honch-collector"))
        .args(["--port", "0", "--api-key", key])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("collector starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let port = first
        .trim_end()
        .strip_prefix("honch-collector listening on ")
        .and_then(|url| {
            url.strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
        })
        .and_then(|hostport| hostport.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    Collector { child, port, stdout }
}
