//! The in-process delivery harness shared by the delivery tests: a settable clock, a
//! scripted fake transport whose default answer is a real capture endpoint, configs, and
//! random property values.
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::VecDeque;

use honch::capture::{Capture, CaptureLimits};
use honch::client::{Clock, Properties};
use honch::config::{ConfigBuilder, Field};
use honch::delivery::transport::{NetError, NetFailure, Transport};
use honch::record::{PropsError, PropsWriter};
use serde_json::Value as Json;

/// 2026-05-28: after the release date, so the test clock reads as set.
pub const T0: u64 = 1_780_000_000_000;

pub struct TestClock {
    pub now: Cell<u64>,
    pub up: Cell<u64>,
}

impl TestClock {
    pub fn new() -> Self {
        Self {
            now: Cell::new(T0),
            up: Cell::new(10_000),
        }
    }
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
        self.up.set(self.up.get() + ms);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn uptime_ms(&self) -> u64 {
        self.up.get()
    }
}

/// What the fake server does with the next request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// Answer this status without looking at the body.
    Status(u16, Option<u32>),
    /// Fail at the network level.
    Net(NetFailure),
}

/// A scripted transport whose default is a real capture endpoint.
pub struct FakeNet {
    pub capture: Capture,
    pub script: VecDeque<Reply>,
    request: Vec<u8>,
    response: Vec<u8>,
    /// Every request body (frame) sent, in order.
    pub frames: Vec<Vec<u8>>,
    /// The events capture accepted, expanded.
    pub events: Vec<Json>,
    pub opens: usize,
}

impl FakeNet {
    pub fn new(script: &[Reply]) -> Self {
        let limits = CaptureLimits {
            allow_binary: true,
            ..CaptureLimits::default()
        };
        Self::with_limits(limits, script)
    }

    /// A transport over a capture endpoint with these limits (for example one that refuses
    /// bytes values with 422).
    pub fn with_limits(limits: CaptureLimits, script: &[Reply]) -> Self {
        Self {
            capture: Capture::new(limits),
            script: script.iter().copied().collect(),
            request: Vec::new(),
            response: Vec::new(),
            frames: Vec::new(),
            events: Vec::new(),
            opens: 0,
        }
    }

    fn answer(&mut self) {
        let text = self.request.clone();
        let split = text
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("request head")
            + 4;
        let head = std::str::from_utf8(&text[..split]).expect("ascii head");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                .expect(name)
        };
        let length: usize = header("Content-Length:").parse().unwrap();
        let body = text[split..].to_vec();
        assert_eq!(body.len(), length, "Content-Length matches the body");
        assert!(head.starts_with("POST /capture HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("Content-Type: application/vnd.honch.chunk\r\n"));
        self.frames.push(body.clone());
        let (status, retry_after) = match self.script.pop_front() {
            Some(Reply::Status(s, r)) => (s, r),
            Some(Reply::Net(_)) => unreachable!("network failures happen at open"),
            None => {
                let key = header("X-Honch-Project-Key:");
                let stream = header("X-Honch-Stream-Id:");
                match self.capture.handle_frame(&key, Some(&stream), &body) {
                    Ok(outcome) => {
                        let status = outcome.status();
                        if let honch::capture::FrameOutcome::Accepted { events, .. } = outcome {
                            self.events.extend(events);
                        }
                        (status, None)
                    }
                    Err(reject) => (reject.status, None),
                }
            }
        };
        let mut response = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n");
        if let Some(s) = retry_after {
            response.push_str(&format!("Retry-After: {s}\r\n"));
        }
        response.push_str("\r\n");
        self.response = response.into_bytes();
    }

    pub fn names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Transport for FakeNet {
    fn open(&mut self, host: &str, port: u16, tls: bool, _timeout_ms: u32) -> Result<(), NetError> {
        assert_eq!((host, port, tls), ("127.0.0.1", 8000, false));
        self.opens += 1;
        if let Some(Reply::Net(failure)) = self.script.front().copied() {
            self.script.pop_front();
            return Err(NetError::new(failure, 111));
        }
        self.request.clear();
        self.response.clear();
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.request.extend_from_slice(bytes);
        self.answer();
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let n = buf.len().min(self.response.len());
        buf[..n].copy_from_slice(&self.response[..n]);
        self.response.drain(..n);
        Ok(n)
    }

    fn close(&mut self) {}
}

pub fn config(extra: &[(Field, i64)]) -> honch::config::Config {
    let mut b = ConfigBuilder::new();
    b.set_text(Field::ApiKey, Some("key")).unwrap();
    b.set_text(Field::DeviceId, Some("dev-1")).unwrap();
    b.set_text(Field::DeviceModel, Some("Board")).unwrap();
    b.set_text(Field::FirmwareVersion, Some("1.0")).unwrap();
    b.set_text(Field::EndpointUrl, Some("http://127.0.0.1:8000"))
        .unwrap();
    for &(f, v) in extra {
        b.set_int(f, Some(v)).unwrap();
    }
    b.finish().unwrap()
}

pub struct Props(pub Vec<(String, Json)>);

impl Properties for Props {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        for (k, v) in &self.0 {
            w.key(k)?;
            match v {
                Json::String(s) => w.str(s)?,
                Json::Number(n) if n.is_u64() => w.uint(n.as_u64().unwrap())?,
                Json::Number(n) => w.float(n.as_f64().unwrap())?,
                _ => w.null()?,
            }
        }
        Ok(())
    }
}

pub fn n(i: u64) -> Props {
    Props(vec![("i".into(), Json::from(i))])
}

/// A small deterministic generator (xorshift64*), so failures replay from their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A string of `min + below(n)` bytes (see [`Self::text`]).
    pub fn text_between(&mut self, min: usize, n: u64) -> String {
        let len = min + self.below(n) as usize;
        self.text(len)
    }
    /// A string of `len` bytes, sometimes with multi-byte characters, drawn from a small
    /// alphabet so that repeats (which the wire's string table shares) are common.
    pub fn text(&mut self, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            match self.below(12) {
                0 if s.len() + 2 <= len => s.push('é'),
                1 if s.len() + 3 <= len => s.push('€'),
                _ => s.push((b'a' + self.below(4) as u8) as char),
            }
        }
        s
    }
}

/// A property value as a binding would hand it to the writer.
#[derive(Clone, Debug)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F64(f64),
    F32(f32),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
}

impl Val {
    /// A random value of roughly `budget` bytes, nested at most `depth` more levels.
    pub fn random(rng: &mut Rng, budget: usize, depth: u8) -> Val {
        let budget = budget.max(1);
        match rng.below(if depth == 0 { 8 } else { 10 }) {
            0 => Val::Null,
            1 => Val::Bool(rng.chance(50)),
            2 => Val::Int(rng.next() as i64),
            3 => Val::UInt(rng.next() >> rng.below(64)),
            4 => Val::F64(rng.below(1 << 20) as f64 / 7.0),
            5 => Val::F32(rng.below(1 << 20) as f32 / 3.0),
            6 => {
                let len = rng.below(budget.min(512) as u64 + 1) as usize;
                Val::Str(rng.text(len))
            }
            7 => {
                let len = rng.below(budget as u64 + 1);
                Val::Bytes((0..len).map(|_| rng.next() as u8).collect())
            }
            8 => {
                let n = rng.below(8) as usize;
                Val::List(
                    (0..n)
                        .map(|_| Val::random(rng, budget / (n + 1), depth - 1))
                        .collect(),
                )
            }
            _ => {
                let n = rng.below(8) as usize;
                Val::Map(random_pairs(rng, n, budget, depth - 1, false))
            }
        }
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        match self {
            Val::Null => w.null(),
            Val::Bool(b) => w.bool(*b),
            Val::Int(i) => w.int(*i),
            Val::UInt(u) => w.uint(*u),
            Val::F64(f) => w.float(*f),
            Val::F32(f) => w.float32(*f),
            Val::Str(s) => w.str(s),
            Val::Bytes(b) => w.bytes(b),
            Val::List(items) => {
                w.begin_list(items.len())?;
                for item in items {
                    item.write(w)?;
                }
                w.end();
                Ok(())
            }
            Val::Map(pairs) => {
                w.begin_map(pairs.len())?;
                for (k, v) in pairs {
                    w.key(k)?;
                    v.write(w)?;
                }
                w.end();
                Ok(())
            }
        }
    }
}

/// `n` pairs with distinct keys (as a Python dict has), sharing about `budget` bytes.
/// `top`: the keys of an event's properties (a few collide with reserved names, which the
/// writer refuses; map keys may use them).
pub fn random_pairs(rng: &mut Rng, n: usize, budget: usize, depth: u8, top: bool) -> Vec<(String, Val)> {
    let mut pairs: Vec<(String, Val)> = Vec::new();
    for _ in 0..n {
        let key = match rng.below(20) {
            0 => "state".to_owned(),
            1 => "$battery_level".to_owned(),
            2 if !top => "session_name".to_owned(),
            _ => {
                let max = if rng.chance(10) { 512 } else { 12 };
                let len = 1 + rng.below(max) as usize;
                rng.text(len)
            }
        };
        if pairs.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let value = if key == "state" && rng.chance(70) {
            Val::Str(rng.text(3))
        } else {
            Val::random(rng, budget / n.max(1), depth)
        };
        pairs.push((key, value));
    }
    pairs
}

/// An event's properties: distinct keys, values written through the binding's writer.
pub struct RandProps(pub Vec<(String, Val)>);

impl RandProps {
    pub fn random(rng: &mut Rng, budget: usize) -> Self {
        let max = if rng.chance(10) { 80 } else { 8 };
        let n = rng.below(max) as usize;
        RandProps(random_pairs(rng, n, budget, 8, true))
    }
}

impl Properties for RandProps {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        for (k, v) in &self.0 {
            w.key(k)?;
            v.write(w)?;
        }
        Ok(())
    }
}
