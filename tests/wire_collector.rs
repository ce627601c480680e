//! The `honch-collector` binary end to end over loopback: capture contract, scripted
//! faults, output format, and survival of broken clients.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use std::time::{Duration, Instant};

mod common;

use common::{message, status_of, Collector};
use honch::packed::PackedWriter;
use honch::wire::{write_frame_range, SourceType};

const KEY: &str = "phc_test";

/// A plain-HTTP collector with extra arguments.
fn start(extra: &[&str]) -> Collector {
    common::start(KEY, extra)
}

fn frame(message: &[u8], id: u32, start: usize, end: usize) -> Vec<u8> {
    let mut out = vec![0u8; message.len() + 32];
    let n = write_frame_range(message, id, SourceType::CompactEvents, start, end, &mut out).expect("frame");
    out.truncate(n);
    out
}

/// Sends raw bytes and returns the raw response ("" when the server closed silently).
fn exchange(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    exchange(port, &bytes)
}

fn capture(port: u16, stream: &str, body: &[u8]) -> String {
    post(
        port,
        "/capture",
        &[
            ("Content-Type", "application/vnd.honch.chunk"),
            ("X-Honch-Project-Key", KEY),
            ("X-Honch-Stream-Id", stream),
        ],
        body,
    )
}

fn props(f: impl FnOnce(&mut PackedWriter<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let mut w = PackedWriter::new(&mut buf);
    f(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

#[test]
fn serves_the_capture_contract_and_scripted_faults() {
    let dir = std::env::temp_dir().join(format!("honch-collector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("faults.json");
    std::fs::write(
        &script,
        r#"[{"status": 503}, {"status": 429, "retry_after": 7}, {"close": true}, {"hang_ms": 300}]"#,
    )
    .expect("script");
    let out = dir.join("events.jsonl");
    let _ = std::fs::remove_file(&out);
    let requests = 20;
    let mut c = start(&[
        "--script",
        script.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
        "--max-requests",
        &requests.to_string(),
    ]);
    let port = c.port;
    let plain = message(
        "boot",
        &props(|w| {
            w.put_uvarint(1).unwrap();
            w.key("reason").unwrap();
            w.str("power-on").unwrap();
        }),
    );
    let single = frame(&plain, 1, 0, plain.len());

    // 1-4: the script, in order, whatever the request.
    assert_eq!(status_of(&capture(port, "s1", &single)), 503);
    let limited = capture(port, "s1", &single);
    assert_eq!(status_of(&limited), 429);
    assert!(limited.contains("\r\nRetry-After: 7\r\n"), "{limited}");
    assert_eq!(capture(port, "s1", &single), "", "scripted close answers nothing");
    let t0 = Instant::now();
    assert_eq!(capture(port, "s1", &single), "", "scripted hang answers nothing");
    assert!(t0.elapsed() >= Duration::from_millis(250));

    // 5-11: request-level refusals.
    let get = exchange(port, b"GET /capture HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_of(&get), 405);
    assert!(get.contains("Connection: close") && get.contains("Content-Length: 0"));
    assert_eq!(status_of(&post(port, "/v1/batch", &[], b"{}")), 404);
    let wrong_key = post(
        port,
        "/e",
        &[
            ("Content-Type", "application/vnd.honch.chunk"),
            ("X-Honch-Project-Key", "nope"),
        ],
        &single,
    );
    assert_eq!(status_of(&wrong_key), 401);
    let json = post(
        port,
        "/chunks",
        &[("Content-Type", "application/json"), ("X-Honch-Project-Key", KEY)],
        &single,
    );
    assert_eq!(status_of(&json), 415);
    let gzip = post(
        port,
        "/capture",
        &[
            ("Content-Type", "application/vnd.honch.chunk"),
            ("Content-Encoding", "gzip"),
            ("X-Honch-Project-Key", KEY),
        ],
        &single,
    );
    assert_eq!(status_of(&gzip), 415);
    assert_eq!(status_of(&exchange(port, b"NOT A REQUEST\r\n\r\n")), 400);
    let too_big = exchange(
        port,
        b"POST /capture HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n",
    );
    assert_eq!(status_of(&too_big), 413);

    // 12: a client that goes away inside the body; the collector carries on.
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"POST /capture HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc")
            .expect("send");
        s.shutdown(Shutdown::Both).expect("shutdown");
    }

    // 13-15: a three-frame message.
    let long_value = "x".repeat(150);
    let long = message(
        "upload",
        &props(|w| {
            w.put_uvarint(2).unwrap();
            w.key("blob").unwrap();
            w.str(&long_value).unwrap();
            w.key("$battery_level").unwrap();
            w.signed(80).unwrap();
        }),
    );
    let cuts = [0, 60, 120, long.len()];
    let mut codes = Vec::new();
    for w in cuts.windows(2) {
        codes.push(status_of(&capture(port, "s1", &frame(&long, 2, w[0], w[1]))));
    }
    assert_eq!(codes, [202, 202, 204]);
    // 16: a single frame; 17: its resend (204, not printed twice).
    assert_eq!(status_of(&capture(port, "s1", &single)), 204);
    assert_eq!(status_of(&capture(port, "s1", &single)), 204);
    // 18: a continuation the collector does not hold.
    assert_eq!(status_of(&capture(port, "s9", &frame(&long, 2, 60, 120))), 409);
    // 19: bytes are refused by default; 20: a bad CRC.
    let binary = message(
        "raw",
        &props(|w| {
            w.put_uvarint(1).unwrap();
            w.key("b").unwrap();
            w.bytes(&[1, 2]).unwrap();
        }),
    );
    assert_eq!(
        status_of(&capture(port, "s1", &frame(&binary, 3, 0, binary.len()))),
        422
    );
    let mut corrupt = frame(&plain, 4, 0, plain.len());
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x10;
    assert_eq!(status_of(&capture(port, "s1", &corrupt)), 400);

    // The collector exits after --max-requests connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = c.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "collector did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success());
    let mut rest = String::new();
    c.stdout.read_to_string(&mut rest).expect("stdout");
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 2, "{rest}");
    let upload: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON line");
    assert_eq!(upload["event"], "upload");
    assert_eq!(upload["distinct_id"], "user-1");
    assert_eq!(upload["timestamp"], 1_700_000_000_123u64);
    assert_eq!(upload["properties"]["$battery_level"], 80);
    assert_eq!(upload["properties"]["$environment"], "test");
    assert_eq!(upload["properties"]["blob"], long_value.as_str());
    let boot: serde_json::Value = serde_json::from_str(lines[1]).expect("JSON line");
    assert_eq!(boot["properties"]["reason"], "power-on");
    let stored = std::fs::read_to_string(&out).expect("--out file");
    assert_eq!(stored, rest);
    let mut log = String::new();
    if let Some(mut stderr) = c.child.stderr.take() {
        stderr.read_to_string(&mut log).expect("stderr");
    }
    assert!(log.contains("POST /capture 503"), "{log}");
    assert!(log.contains("GET /capture 405"), "{log}");
    assert!(log.contains("POST /capture 204"), "{log}");
}
