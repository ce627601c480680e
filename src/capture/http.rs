//! The local collector (product.md §6): a small, strict HTTP/1.1 server on std threads
//! that speaks the capture contract of wire.md §8-§9, with scripted fault injection.
//!
//! One request per connection (`Connection: close`), so a slow or broken client only ever
//! holds its own thread, and every socket read has a timeout. With a TLS configuration the
//! same exchange runs inside a rustls server connection (HTTPS).

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::Value as Json;

use super::{Capture, CaptureLimits, FrameOutcome};

/// Request line plus headers, at most.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once; more get 503 straight away.
pub const MAX_CONNECTIONS: usize = 64;
/// The paths that accept frames.
pub const CAPTURE_PATHS: [&str; 3] = ["/capture", "/e", "/chunks"];
/// The content type of a chunk frame.
pub const CHUNK_CONTENT_TYPE: &str = "application/vnd.honch.chunk";

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target without its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The values of header `name` (case-insensitive).
    pub fn header_values<'r>(&'r self, name: &'r str) -> impl Iterator<Item = &'r str> + 'r {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The single value of header `name`; `Err` if it is given more than once.
    pub fn header<'r>(&'r self, name: &'r str) -> Result<Option<&'r str>, Response> {
        let mut values = self.header_values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Response::new(400, format!("{name} given more than once")));
        }
        Ok(first)
    }
}

/// A response: always empty-bodied, always `Connection: close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub extra_headers: Vec<(String, String)>,
    /// For the log line only.
    pub note: String,
}

impl Response {
    pub fn new(status: u16, note: impl Into<String>) -> Self {
        Self {
            status,
            extra_headers: Vec::new(),
            note: note.into(),
        }
    }

    /// The bytes sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = format!("HTTP/1.1 {} {}\r\n", self.status, reason_phrase(self.status));
        for (name, value) in &self.extra_headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
        text.into_bytes()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client sent nothing, or went away mid-request, or timed out: answer nothing.
    Gone(String),
    /// The request is malformed or too big: answer this.
    Refuse(Response),
}

fn find_header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads one request: headers up to [`MAX_HEADER_BYTES`], then exactly `Content-Length`
/// body bytes, at most `max_body` (413 beyond, without reading the body).
pub fn read_request<R: Read>(reader: &mut R, max_body: usize) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = find_header_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err(ReadError::Refuse(Response::new(431, "headers too large")));
        }
        let n = reader
            .read(&mut chunk)
            .map_err(|e| ReadError::Gone(format!("read failed: {e}")))?;
        if n == 0 {
            return Err(ReadError::Gone(if buf.is_empty() {
                "connection closed before a request".into()
            } else {
                "connection closed inside the headers".into()
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if header_end > MAX_HEADER_BYTES {
        return Err(ReadError::Refuse(Response::new(431, "headers too large")));
    }
    let refuse = |why: &str| ReadError::Refuse(Response::new(400, why));
    let head = std::str::from_utf8(&buf[..header_end]).map_err(|_| refuse("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("malformed request line"));
    };
    if !is_token(method) || !target.starts_with('/') {
        return Err(refuse("malformed request line"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(refuse("unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(refuse("malformed header line"));
        };
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        if !is_token(name) || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(refuse("malformed header line"));
        }
        headers.push((name.to_owned(), value.to_owned()));
    }
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let mut request = Request {
        method: method.to_owned(),
        path,
        headers,
        body: Vec::new(),
    };
    if request.header_values("Transfer-Encoding").next().is_some() {
        return Err(ReadError::Refuse(Response::new(
            411,
            "Transfer-Encoding is not supported; send Content-Length",
        )));
    }
    let lengths: Vec<&str> = request.header_values("Content-Length").collect();
    let length = match lengths.as_slice() {
        [] => 0,
        [one] if !one.is_empty() && one.bytes().all(|b| b.is_ascii_digit()) => {
            one.parse::<u64>().map_err(|_| refuse("bad Content-Length"))?
        }
        _ => return Err(refuse("bad or repeated Content-Length")),
    };
    if lengths.is_empty() && method == "POST" {
        return Err(ReadError::Refuse(Response::new(
            411,
            "POST without Content-Length",
        )));
    }
    if length > max_body as u64 {
        return Err(ReadError::Refuse(Response::new(
            413,
            format!("body of {length} bytes (limit {max_body})"),
        )));
    }
    let length = length as usize;
    let mut body = buf.split_off(header_end + 4);
    if body.len() > length {
        // Bytes past the body belong to no request (one request per connection).
        body.truncate(length);
    }
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = reader
            .read(&mut chunk[..want])
            .map_err(|e| ReadError::Gone(format!("read failed in the body: {e}")))?;
        if n == 0 {
            return Err(ReadError::Gone("connection closed inside the body".into()));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    request.body = body;
    Ok(request)
}

/// A scripted answer for one request (`--script`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptAction {
    /// Answer `status` without processing the body; optionally with `Retry-After`.
    Status { status: u16, retry_after: Option<u64> },
    /// Drop the connection without answering.
    Close,
    /// Read the request, answer nothing for this long, then close.
    Hang(Duration),
    /// Taken by the next connection to arrive, before anything is read from it: read and
    /// answer nothing (no TLS handshake either) for this long, then close.
    StallHandshake(Duration),
}

/// Parses a `--script` file: a JSON list of `{"status": N[, "retry_after": S]}`,
/// `{"close": true}`, `{"hang_ms": N}` or `{"stall_handshake_ms": N}`.
pub fn parse_script(text: &str) -> Result<Vec<ScriptAction>, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("script is not JSON: {e}"))?;
    let list = json.as_array().ok_or("script must be a JSON list")?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let obj = item
                .as_object()
                .ok_or_else(|| format!("script entry {i} is not an object"))?;
            let number = |key: &str| -> Result<Option<u64>, String> {
                match obj.get(key) {
                    None => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .map(Some)
                        .ok_or_else(|| format!("script entry {i}: {key} is not a number")),
                }
            };
            if let Some(unknown) = obj.keys().find(|k| !SCRIPT_KEYS.contains(&k.as_str())) {
                return Err(format!("script entry {i}: unknown key {unknown:?}"));
            }
            if obj.get("close") == Some(&Json::Bool(true)) && obj.len() == 1 {
                return Ok(ScriptAction::Close);
            }
            if let (Some(ms), 1) = (number("hang_ms")?, obj.len()) {
                return Ok(ScriptAction::Hang(Duration::from_millis(ms)));
            }
            if let (Some(ms), 1) = (number("stall_handshake_ms")?, obj.len()) {
                return Ok(ScriptAction::StallHandshake(Duration::from_millis(ms)));
            }
            // Every other action stands alone, so a status entry naming one of them is a
            // mistake to report rather than a status to send.
            let status_only = obj.keys().all(|k| k == "status" || k == "retry_after");
            match number("status")? {
                Some(status @ 100..=599) if status_only => Ok(ScriptAction::Status {
                    status: status as u16,
                    retry_after: number("retry_after")?,
                }),
                _ => Err(format!(
                    "script entry {i}: expected {{\"status\": 100-599[, \"retry_after\": S]}}, \
                     {{\"close\": true}}, {{\"hang_ms\": N}} or {{\"stall_handshake_ms\": N}}"
                )),
            }
        })
        .collect()
}

const SCRIPT_KEYS: [&str; 5] = ["status", "retry_after", "close", "hang_ms", "stall_handshake_ms"];

/// Collector settings (the command line).
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub api_key: String,
    pub out: Option<PathBuf>,
    pub script: Vec<ScriptAction>,
    pub limits: CaptureLimits,
    /// Exit after this many connections have been served.
    pub max_requests: Option<u64>,
    pub read_timeout: Duration,
    /// Serve HTTPS with this configuration (see [`super::tls::server_config`]).
    pub tls: Option<Arc<ServerConfig>>,
}

impl CollectorConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            out: None,
            script: Vec::new(),
            limits: CaptureLimits::default(),
            max_requests: None,
            read_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// How a connection ended, for whether TLS says goodbye (`close_notify`) before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Answered,
    /// Closed without an answer: a scripted fault, or the client went away.
    Dropped,
}

/// Where accepted events go: stdout, one JSON object per line, and the `--out` file.
struct EventOutput {
    file: Option<File>,
}

/// The collector's shared state.
pub struct Collector {
    config: CollectorConfig,
    capture: Mutex<Capture>,
    script: Mutex<VecDeque<ScriptAction>>,
    output: Mutex<EventOutput>,
    live: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler thread must not take the whole collector down with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn valid_stream_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Collector {
    pub fn new(config: CollectorConfig) -> io::Result<Self> {
        let file = match &config.out {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        };
        Ok(Self {
            capture: Mutex::new(Capture::new(config.limits.clone())),
            script: Mutex::new(config.script.iter().cloned().collect()),
            output: Mutex::new(EventOutput { file }),
            live: AtomicUsize::new(0),
            config,
        })
    }

    /// Applies the capture contract to one request (no script involved).
    pub fn route(&self, request: &Request) -> Response {
        match self.route_inner(request) {
            Ok(response) | Err(response) => response,
        }
    }

    fn route_inner(&self, request: &Request) -> Result<Response, Response> {
        if !CAPTURE_PATHS.contains(&request.path.as_str()) {
            return Err(Response::new(404, "unknown path"));
        }
        if request.method != "POST" {
            let mut response = Response::new(405, "only POST");
            response.extra_headers.push(("Allow".into(), "POST".into()));
            return Err(response);
        }
        match request.header("X-Honch-Project-Key")? {
            Some(key) if key == self.config.api_key => {}
            _ => return Err(Response::new(401, "missing or wrong project key")),
        }
        if request.header_values("Content-Encoding").next().is_some() {
            return Err(Response::new(415, "Content-Encoding is not accepted"));
        }
        let content_type = request.header("Content-Type")?.unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case(CHUNK_CONTENT_TYPE) {
            return Err(Response::new(415, format!("content type {content_type:?}")));
        }
        let stream = request.header("X-Honch-Stream-Id")?;
        if let Some(stream) = stream {
            if !valid_stream_id(stream) {
                return Err(Response::new(
                    400,
                    "X-Honch-Stream-Id must be 1-64 of [A-Za-z0-9_-]",
                ));
            }
        }
        let outcome = lock(&self.capture).handle_frame(&self.config.api_key, stream, &request.body);
        match outcome {
            Err(reject) => Err(Response::new(reject.status, reject.reason)),
            Ok(FrameOutcome::Accepted {
                events,
                resend,
                message_len,
                ..
            }) => {
                let note = if resend {
                    format!("resend of an accepted {message_len}-byte message, not re-emitted")
                } else {
                    format!("{} event(s) from {message_len} bytes", events.len())
                };
                self.emit(&events);
                Ok(Response::new(204, note))
            }
            Ok(outcome @ FrameOutcome::Stored) => Ok(Response::new(outcome.status(), "chunk stored")),
            Ok(outcome @ FrameOutcome::Duplicate) => {
                Ok(Response::new(outcome.status(), "duplicate chunk, not appended"))
            }
        }
    }

    fn emit(&self, events: &[Json]) {
        let mut output = lock(&self.output);
        let stdout = io::stdout();
        let mut stdout = stdout.lock();
        for event in events {
            let line = event.to_string();
            // A closed stdout must not stop capture; the events still reach --out.
            let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
            if let Some(file) = output.file.as_mut() {
                if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                    eprintln!("honch-collector: cannot write --out: {e}");
                }
            }
        }
    }

    /// The action for a request that has been read. A stall at the front of the script
    /// belongs to the next connection to arrive (it acts before any request exists), so it
    /// is left there.
    fn next_request_action(&self) -> Option<ScriptAction> {
        let mut script = lock(&self.script);
        match script.front() {
            Some(ScriptAction::StallHandshake(_)) | None => None,
            Some(_) => script.pop_front(),
        }
    }

    /// The stall for a connection that has just arrived, if the script's next entry is one.
    fn next_connection_stall(&self) -> Option<Duration> {
        let mut script = lock(&self.script);
        match script.front() {
            Some(&ScriptAction::StallHandshake(pause)) => {
                script.pop_front();
                Some(pause)
            }
            _ => None,
        }
    }

    /// Serves one connection: one request, one answer (or a scripted fault), over TLS when
    /// the configuration has it.
    pub fn serve_connection(&self, mut stream: TcpStream) {
        let timeout = Some(self.config.read_timeout);
        if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
            return;
        }
        if let Some(pause) = self.next_connection_stall() {
            eprintln!(
                "- - - (script: stall {} ms before the handshake)",
                pause.as_millis()
            );
            thread::sleep(pause);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let Some(tls) = &self.config.tls else {
            self.serve_request(&mut stream);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        };
        let mut conn = match ServerConnection::new(Arc::clone(tls)) {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("- - - (TLS setup failed: {e})");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        };
        // The handshake is driven here rather than by the first read so that its failure
        // (a client refusing our certificate, a plain-HTTP client) gets a log line of its own.
        while conn.is_handshaking() {
            let failure = match conn.complete_io(&mut stream) {
                Ok((0, 0)) if conn.is_handshaking() => Some("no progress".to_owned()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = failure {
                eprintln!("- - - (TLS handshake failed: {why})");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
        let mut tls_stream = StreamOwned::new(conn, stream);
        if self.serve_request(&mut tls_stream) == Ending::Answered {
            tls_stream.conn.send_close_notify();
            let _ = tls_stream.flush();
        }
        let _ = tls_stream.sock.shutdown(Shutdown::Both);
    }

    /// Reads one request from `stream` and answers it; the caller closes the connection.
    fn serve_request<S: Read + Write>(&self, stream: &mut S) -> Ending {
        let max_body = self.config.limits.max_frame_bytes;
        let request = match read_request(stream, max_body) {
            Ok(request) => request,
            Err(ReadError::Gone(why)) => {
                eprintln!("- - - ({why})");
                return Ending::Dropped;
            }
            Err(ReadError::Refuse(response)) => {
                eprintln!("? ? {} ({})", response.status, response.note);
                let _ = stream.write_all(&response.to_bytes());
                let _ = stream.flush();
                return Ending::Answered;
            }
        };
        let (method, path) = (&request.method, &request.path);
        let response = match self.next_request_action() {
            Some(ScriptAction::Close) => {
                eprintln!("{method} {path} - (script: connection dropped)");
                return Ending::Dropped;
            }
            Some(ScriptAction::Hang(pause)) => {
                eprintln!("{method} {path} - (script: hang {} ms)", pause.as_millis());
                thread::sleep(pause);
                return Ending::Dropped;
            }
            Some(ScriptAction::Status { status, retry_after }) => {
                let mut response = Response::new(status, "script");
                if let Some(seconds) = retry_after {
                    response
                        .extra_headers
                        .push(("Retry-After".into(), seconds.to_string()));
                }
                response
            }
            // next_request_action never yields a stall.
            Some(ScriptAction::StallHandshake(_)) | None => self.route(&request),
        };
        eprintln!("{method} {path} {} ({})", response.status, response.note);
        let _ = stream.write_all(&response.to_bytes());
        let _ = stream.flush();
        Ending::Answered
    }

    /// Accepts connections until `max_requests` have been served (forever without it).
    pub fn run(self: Arc<Self>, listener: TcpListener) -> io::Result<()> {
        let mut handles = Vec::new();
        let mut served: u64 = 0;
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(stream) => stream,
                Err(e) => {
                    eprintln!("honch-collector: accept failed: {e}");
                    continue;
                }
            };
            served += 1;
            if self.live.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                self.live.fetch_sub(1, Ordering::SeqCst);
                let mut stream = stream;
                if self.config.tls.is_some() {
                    // A TLS handshake here would stall the accept loop; the client sees a
                    // dropped connection and retries like after any transport failure.
                    eprintln!("- - - (too many connections, dropped before the TLS handshake)");
                } else {
                    let _ = stream.write_all(&Response::new(503, "busy").to_bytes());
                    eprintln!("- - 503 (too many connections)");
                }
            } else {
                let me = Arc::clone(&self);
                let handle = thread::spawn(move || {
                    me.serve_connection(stream);
                    me.live.fetch_sub(1, Ordering::SeqCst);
                });
                handles.push(handle);
            }
            handles.retain(|h| !h.is_finished());
            if self.config.max_requests.is_some_and(|max| served >= max) {
                break;
            }
        }
        for handle in handles {
            let _ = handle.join();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_stall_action_alone_only() {
        let script = parse_script(r#"[{"stall_handshake_ms": 250}, {"hang_ms": 5}]"#).expect("script");
        assert_eq!(
            script,
            [
                ScriptAction::StallHandshake(Duration::from_millis(250)),
                ScriptAction::Hang(Duration::from_millis(5)),
            ]
        );
        for bad in [
            r#"[{"stall_handshake_ms": 250, "status": 503}]"#,
            r#"[{"stall_handshake_ms": -1}]"#,
            r#"[{"stall_handshake_ms": "250"}]"#,
        ] {
            assert!(parse_script(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stall_waits_for_the_next_connection() {
        let mut config = CollectorConfig::new("k");
        config.script =
            parse_script(r#"[{"status": 503}, {"stall_handshake_ms": 1}, {"close": true}]"#).expect("script");
        let collector = Collector::new(config).expect("collector");
        // A connection arriving first finds a request action at the front: no stall.
        assert_eq!(collector.next_connection_stall(), None);
        assert_eq!(
            collector.next_request_action(),
            Some(ScriptAction::Status {
                status: 503,
                retry_after: None
            })
        );
        // A request read while the stall is at the front leaves it for the next connection.
        assert_eq!(collector.next_request_action(), None);
        assert_eq!(collector.next_connection_stall(), Some(Duration::from_millis(1)));
        assert_eq!(collector.next_connection_stall(), None);
        assert_eq!(collector.next_request_action(), Some(ScriptAction::Close));
        assert_eq!(collector.next_request_action(), None);
    }
}
