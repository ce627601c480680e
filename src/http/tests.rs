//! Unit tests for `src/http`: URL rules, the request head, the response parser (including
//! every split of a few responses and a deterministic random-input run).

use super::*;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

// ---------------------------------------------------------------------------------------------
// Endpoint URLs

fn endpoint(url: &str) -> Endpoint<'_> {
    match Endpoint::parse(url) {
        Ok(e) => e,
        Err(error) => panic!("{url:?} should parse, got {error:?}"),
    }
}

fn url_error(url: &str) -> UrlError {
    match Endpoint::parse(url) {
        Ok(e) => panic!("{url:?} should be refused, parsed as {e:?}"),
        Err(error) => error,
    }
}

#[test]
fn url_default_endpoint() {
    let e = endpoint("https://i.honch.io");
    assert_eq!(
        e,
        Endpoint {
            tls: true,
            host: "i.honch.io",
            port: 443,
            base_path: "",
            host_kind: HostKind::Name
        }
    );
    assert_eq!(format!("{}", e.capture_path()), "/capture");
    assert_eq!(format!("{}", e.host_header()), "i.honch.io");
}

#[test]
fn url_default_ports_and_host_header_forms() {
    let cases: &[(&str, bool, u16, &str)] = &[
        ("http://h", false, 80, "h"),
        ("http://h:80", false, 80, "h"),
        ("http://h:443", false, 443, "h:443"),
        ("https://h:443/", true, 443, "h"),
        ("https://h:80/", true, 80, "h:80"),
        ("http://h:8080/x/", false, 8080, "h:8080"),
        ("https://h:1", true, 1, "h:1"),
        ("https://h:65535", true, 65535, "h:65535"),
        ("http://192.168.1.10:8080/", false, 8080, "192.168.1.10:8080"),
        ("http://[::1]:8080/", false, 8080, "[::1]:8080"),
        ("https://[2001:db8::1]", true, 443, "[2001:db8::1]"),
        ("https://[2001:db8::1]:443", true, 443, "[2001:db8::1]"),
    ];
    for &(url, tls, port, host_header) in cases {
        let e = endpoint(url);
        assert_eq!((e.tls, e.port), (tls, port), "{url}");
        assert_eq!(format!("{}", e.host_header()), host_header, "{url}");
        let mut buf = [0u8; 64];
        let n = e.host_header().write_to(&mut buf).expect("fits");
        assert_eq!(&buf[..n], host_header.as_bytes(), "{url}");
        // One byte short must fail rather than truncate.
        assert_eq!(e.host_header().write_to(&mut buf[..n - 1]), None, "{url}");
    }
}

#[test]
fn url_scheme_is_case_insensitive() {
    assert!(endpoint("HTTPS://I.HONCH.IO").tls);
    assert!(!endpoint("HtTp://x").tls);
    assert_eq!(endpoint("HTTPS://I.HONCH.IO").host, "I.HONCH.IO");
}

#[test]
fn url_capture_path() {
    let cases = [
        ("https://i.honch.io", "/capture"),
        ("https://i.honch.io/", "/capture"),
        ("https://i.honch.io//", "/capture"),
        ("http://h:8080/x/", "/x/capture"),
        ("http://h/x", "/x/capture"),
        ("http://h/a/b//", "/a/b/capture"),
        ("http://h/a%20b/@:;=+", "/a%20b/@:;=+/capture"),
    ];
    for (url, path) in cases {
        let capture = endpoint(url).capture_path();
        assert_eq!(format!("{capture}"), path, "{url}");
        assert_eq!(capture.len(), path.len(), "{url}");
        assert!(!capture.is_empty());
    }
    assert_eq!(endpoint("http://h/x/").base_path, "/x/");
}

#[test]
fn url_host_kinds() {
    assert_eq!(endpoint("http://10.0.0.1").host_kind, HostKind::Ipv4);
    assert_eq!(endpoint("http://0.0.0.0").host_kind, HostKind::Ipv4);
    assert_eq!(endpoint("http://255.255.255.255").host_kind, HostKind::Ipv4);
    assert_eq!(endpoint("http://localhost").host_kind, HostKind::Name);
    assert_eq!(endpoint("http://123abc.example").host_kind, HostKind::Name);
    assert_eq!(endpoint("http://my_host-1.lan").host_kind, HostKind::Name);
    let v6 = endpoint("http://[::ffff:192.0.2.1]/x");
    assert_eq!(
        (v6.host, v6.host_kind, v6.base_path),
        ("::ffff:192.0.2.1", HostKind::Ipv6, "/x")
    );
}

#[test]
fn url_ipv6_literals() {
    for ok in [
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "fe80::1:2",
        "2001:DB8::abcd",
        "1:2:3:4:5:6:1.2.3.4",
        "::1.2.3.4",
    ] {
        let url = format!("http://[{ok}]:81/");
        assert_eq!(endpoint(&url).host, ok, "{ok}");
    }
    for bad in [
        "[::1",
        "[]",
        "[:]",
        "[:::]",
        "[1::2::3]",
        "[1:2:3:4:5:6:7]",
        "[1:2:3:4:5:6:7:8:9]",
        "[1:2:3:4:5:6:7:8::]",
        "[12345::]",
        "[1:]",
        "[:1]",
        "[g::1]",
        "[fe80::1%25eth0]",
        "[::1]x",
        "[::1]:",
        "[1.2.3.4]",
        "[::1.2.3]",
        "[::1.2.3.4:5]",
        "[1:2:3:4:5:6:7:1.2.3.4]",
    ] {
        let url = format!("http://{bad}/");
        let expected = if bad == "[::1]:" {
            UrlError::InvalidPort
        } else {
            UrlError::InvalidIpv6
        };
        assert_eq!(url_error(&url), expected, "{bad}");
    }
}

#[test]
fn url_refuses_bad_schemes() {
    for url in [
        "",
        "i.honch.io",
        "ftp://h",
        "https:/h",
        "https:h",
        "//h",
        "httpx://h",
        "http:",
        "ws://h",
    ] {
        assert_eq!(url_error(url), UrlError::Scheme, "{url}");
    }
    assert_eq!(
        UrlError::Scheme.message(),
        "endpoint_url must start with http:// or https://"
    );
}

#[test]
fn url_refuses_spaces_and_control_bytes_anywhere() {
    for url in [
        " https://h",
        "https://h ",
        "https://h /x",
        "https://h/a b",
        "https://h\t",
        "https://h/x\n",
        "https://h\r\nX-Injected: 1",
        "https://h/\x7f",
        "https://h/\x00",
        "http s://h",
    ] {
        assert_eq!(url_error(url), UrlError::ForbiddenByte, "{url:?}");
    }
    assert_eq!(url_error("https://hé.example"), UrlError::NonAscii);
    assert_eq!(url_error("https://h/é"), UrlError::NonAscii);
}

#[test]
fn url_refuses_userinfo_query_and_fragment() {
    assert_eq!(url_error("http://user@h"), UrlError::UserInfo);
    assert_eq!(url_error("http://user:pw@h:80/"), UrlError::UserInfo);
    assert_eq!(url_error("http://@h"), UrlError::UserInfo);
    // In the path an '@' is an ordinary character.
    assert_eq!(endpoint("http://h/a@b").base_path, "/a@b");
    assert_eq!(url_error("http://h/?a=1"), UrlError::Query);
    assert_eq!(url_error("http://h?"), UrlError::Query);
    assert_eq!(url_error("http://h#top"), UrlError::Fragment);
    assert_eq!(url_error("http://h/x?y#z"), UrlError::Fragment);
    assert!(UrlError::Query.message().contains("query"));
    assert!(UrlError::Fragment.message().contains("fragment"));
}

#[test]
fn url_refuses_empty_host() {
    for url in ["http://", "https://", "http:///x", "http://:80", "http://:80/x"] {
        assert_eq!(url_error(url), UrlError::EmptyHost, "{url}");
    }
}

#[test]
fn url_refuses_bad_ports() {
    for url in [
        "http://h:",
        "http://h:/",
        "http://h:0",
        "http://h:65536",
        "http://h:99999",
        "http://h:123456",
        "http://h:8a",
        "http://h:-1",
        "http://h:+80",
        "http://h:80:80",
        "http://[::1]:0",
        "http://[::1]:70000",
    ] {
        assert_eq!(url_error(url), UrlError::InvalidPort, "{url}");
    }
}

#[test]
fn url_refuses_bad_hosts() {
    let long_label = "a".repeat(64);
    let ok_label = "a".repeat(63);
    // 4 labels of 63 + 3 dots = 255 bytes.
    let too_long_name = [ok_label.as_str(); 4].join(".");
    let max_name = format!("{}.{}.{}.{}", ok_label, ok_label, ok_label, "a".repeat(61));
    assert_eq!(max_name.len(), 253);
    assert_eq!(endpoint(&format!("http://{ok_label}.io")).host.len(), 66);
    assert_eq!(endpoint(&format!("http://{max_name}")).host.len(), 253);
    for host in [
        "a..b",
        ".a",
        "a.",
        ".",
        "a\\b",
        "a%20b",
        "a,b",
        "<h>",
        "127.1",
        "010.0.0.1",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.1000",
        "foo.123",
        "0x7f.1",
        long_label.as_str(),
        too_long_name.as_str(),
    ] {
        let url = format!("http://{host}:81");
        assert_eq!(url_error(&url), UrlError::InvalidHost, "{host}");
    }
}

#[test]
fn url_refuses_bad_paths() {
    for url in [
        "http://h/a%2",
        "http://h/a%zz",
        "http://h/%",
        "http://h/a\\b",
        "http://h/<x>",
        "http://h/\"",
        "http://h/{}",
    ] {
        assert_eq!(url_error(url), UrlError::InvalidPath, "{url}");
    }
    assert_eq!(endpoint("http://h/a%2Fb%aa").base_path, "/a%2Fb%aa");
}

#[test]
fn url_error_messages_are_user_sentences() {
    let all = [
        UrlError::Scheme,
        UrlError::ForbiddenByte,
        UrlError::NonAscii,
        UrlError::UserInfo,
        UrlError::EmptyHost,
        UrlError::InvalidHost,
        UrlError::InvalidIpv6,
        UrlError::InvalidPort,
        UrlError::InvalidPath,
        UrlError::Query,
        UrlError::Fragment,
    ];
    for (i, error) in all.iter().enumerate() {
        assert!(error.message().starts_with("endpoint_url "), "{error:?}");
        assert_eq!(format!("{error}"), error.message());
        // Distinct, so the user can tell what to fix.
        assert!(all[..i].iter().all(|other| other.message() != error.message()));
    }
}

// ---------------------------------------------------------------------------------------------
// Request head

fn head(e: &Endpoint<'_>, key: &str, stream: &str, ua: &str, len: usize) -> Result<String, HeadError> {
    let mut buf = [0u8; 1024];
    let n = write_request_head(&mut buf, e, key, stream, ua, len)?;
    assert_eq!(n, request_head_len(e, key, stream, ua, len));
    Ok(String::from_utf8(buf[..n].to_vec()).expect("ASCII"))
}

#[test]
fn request_head_exact_bytes() {
    let e = endpoint("https://i.honch.io");
    let text = head(&e, "phc_key", "0a1b2c3d", "honch-micropython/0.4.0", 123).expect("valid");
    assert_eq!(
        text,
        "POST /capture HTTP/1.1\r\n\
         Host: i.honch.io\r\n\
         User-Agent: honch-micropython/0.4.0\r\n\
         Content-Type: application/vnd.honch.chunk\r\n\
         Content-Length: 123\r\n\
         X-Honch-Project-Key: phc_key\r\n\
         X-Honch-Stream-Id: 0a1b2c3d\r\n\
         Connection: close\r\n\
         \r\n"
    );
}

#[test]
fn request_head_path_port_and_ipv6() {
    let e = endpoint("http://h:8080/x/");
    let text = head(&e, "k", "s", "ua", 0).expect("valid");
    assert!(
        text.starts_with("POST /x/capture HTTP/1.1\r\nHost: h:8080\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nContent-Length: 0\r\n"));
    let e = endpoint("http://[::1]:9000");
    let text = head(&e, "k", "s", "ua", usize::MAX).expect("valid");
    assert!(
        text.starts_with("POST /capture HTTP/1.1\r\nHost: [::1]:9000\r\n"),
        "{text}"
    );
    assert!(text.contains(&format!("\r\nContent-Length: {}\r\n", usize::MAX)));
}

#[test]
fn request_head_buffer_too_small_at_every_size() {
    let e = endpoint("http://[::1]:9000/base");
    let args = ("key", "stream", "honch-cpython/0.4.0 extra", 4096usize);
    let need = request_head_len(&e, args.0, args.1, args.2, args.3);
    let mut buf = [0u8; 512];
    for size in 0..need {
        assert_eq!(
            write_request_head(&mut buf[..size], &e, args.0, args.1, args.2, args.3),
            Err(HeadError::BufferTooSmall),
            "size {size}"
        );
    }
    assert_eq!(
        write_request_head(&mut buf[..need], &e, args.0, args.1, args.2, args.3),
        Ok(need)
    );
}

#[test]
fn request_head_refuses_header_injection_and_bad_values() {
    let e = endpoint("https://i.honch.io");
    let stream64 = "a".repeat(64);
    let stream65 = "a".repeat(65);
    for key in [
        "",
        "a b",
        "k\r\nX-Evil: 1",
        "k\n",
        "k\r",
        "\x7f",
        "k\x00",
        "ké",
        "k\t",
    ] {
        assert_eq!(
            head(&e, key, "s", "ua", 1),
            Err(HeadError::InvalidApiKey),
            "{key:?}"
        );
    }
    for stream in ["", stream65.as_str(), "a b", "ab\r\n", "a.b", "é", "a/b", "a:b"] {
        assert_eq!(
            head(&e, "k", stream, "ua", 1),
            Err(HeadError::InvalidStreamId),
            "{stream:?}"
        );
    }
    for stream in [stream64.as_str(), "A-b_9", "0a1b2c3d", "-"] {
        assert!(head(&e, "k", stream, "ua", 1).is_ok(), "{stream:?}");
    }
    for ua in ["", " ", " a", "a ", "a  b", "a\tb", "a\r\nX: y", "a\x7f", "é"] {
        assert_eq!(
            head(&e, "k", "s", ua, 1),
            Err(HeadError::InvalidUserAgent),
            "{ua:?}"
        );
    }
    assert!(head(&e, "k", "s", "honch-cpython/0.4.0 (linux; x86_64)", 1).is_ok());
    assert!(validate_api_key("phc_ABC-123.xyz").is_ok());
}

#[test]
fn request_head_rechecks_hand_built_endpoints() {
    let good = endpoint("http://h/x");
    let bad_hosts = ["", "h\r\nX-Evil: 1", "h h", "h/x"];
    for host in bad_hosts {
        let e = Endpoint { host, ..good };
        assert_eq!(
            head(&e, "k", "s", "ua", 1),
            Err(HeadError::InvalidEndpoint),
            "{host:?}"
        );
    }
    for base_path in ["x", "/a b", "/a?b", "/a#b", "/\r\n"] {
        let e = Endpoint { base_path, ..good };
        assert_eq!(
            head(&e, "k", "s", "ua", 1),
            Err(HeadError::InvalidEndpoint),
            "{base_path:?}"
        );
    }
}

#[test]
fn user_agent_helper() {
    let mut buf = [0u8; 64];
    assert_eq!(
        user_agent(&mut buf, "0.4.0", "micropython"),
        Ok("honch-micropython/0.4.0")
    );
    assert_eq!(
        user_agent(&mut buf, "0.4.0", "cpython"),
        Ok("honch-cpython/0.4.0")
    );
    assert_eq!(
        user_agent(&mut buf, "1.0.0-rc.1+g1234", "cpython"),
        Ok("honch-cpython/1.0.0-rc.1+g1234")
    );
    let exact = "honch-cpython/0.4.0".len();
    assert_eq!(
        user_agent(&mut buf[..exact - 1], "0.4.0", "cpython"),
        Err(HeadError::BufferTooSmall)
    );
    assert_eq!(
        user_agent(&mut buf[..exact], "0.4.0", "cpython"),
        Ok("honch-cpython/0.4.0")
    );
    for (version, platform) in [
        ("", "cpython"),
        ("0.4.0", ""),
        ("0.4/1", "cpython"),
        ("0.4.0", "micro python"),
    ] {
        assert_eq!(
            user_agent(&mut buf, version, platform),
            Err(HeadError::InvalidUserAgent)
        );
    }
    let mut buf = [0u8; 64];
    let ua = user_agent(&mut buf, "0.4.0", "micropython").expect("valid");
    let mut ua_copy = [0u8; 64];
    ua_copy[..ua.len()].copy_from_slice(ua.as_bytes());
    let ua = core::str::from_utf8(&ua_copy[..ua.len()]).expect("ASCII");
    assert!(validate_user_agent(ua).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Response parser

/// Everything observable after feeding a response.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    error: Option<ResponseError>,
    consumed: usize,
    head_complete: bool,
    complete: bool,
    status: Option<u16>,
    retry_after_ms: Option<u32>,
    body: Option<BodyKind>,
    keep_alive: bool,
}

/// Feeds `input` cut at `cuts` (ascending offsets), then signals EOF if `eof`. Checks the
/// `consumed` contract on the way.
fn run_cut(input: &[u8], cuts: &[usize], eof: bool) -> Outcome {
    let mut parser = ResponseParser::new();
    let mut consumed = 0;
    let mut error = None;
    let mut start = 0;
    let ends = cuts.iter().copied().chain(core::iter::once(input.len()));
    for end in ends {
        let piece = &input[start..end];
        start = end;
        match parser.feed(piece) {
            Err(e) => {
                error = Some(e);
                break;
            }
            Ok(p) => {
                assert!(p.consumed <= piece.len());
                assert_eq!(p.complete, parser.is_complete());
                assert_eq!(p.head_complete, parser.is_head_complete());
                consumed += p.consumed;
                if p.complete {
                    break;
                }
                assert_eq!(
                    p.consumed,
                    piece.len(),
                    "an incomplete response consumes all it is given"
                );
            }
        }
    }
    if eof && error.is_none() {
        error = parser.finish().err();
    }
    if let Some(e) = error {
        // A failed parser stays failed.
        assert_eq!(parser.feed(b"HTTP/1.1 200 OK\r\n\r\n"), Err(e));
        assert_eq!(parser.finish(), Err(e));
    }
    Outcome {
        error,
        // What was consumed before an error depends on where the input was cut; it has no use.
        consumed: if error.is_some() { 0 } else { consumed },
        head_complete: parser.is_head_complete(),
        complete: parser.is_complete(),
        status: parser.status(),
        retry_after_ms: parser.retry_after_ms(),
        body: parser.body_kind(),
        keep_alive: parser.keep_alive(),
    }
}

fn run(input: &[u8]) -> Outcome {
    run_cut(input, &[], false)
}

fn run_eof(input: &[u8]) -> Outcome {
    run_cut(input, &[], true)
}

fn error_of(input: &[u8]) -> Option<ResponseError> {
    run(input).error
}

/// The same outcome for every way of cutting `input` in two, and for byte-at-a-time feeding.
fn assert_split_invariant(input: &[u8], eof: bool) -> Outcome {
    let whole = run_cut(input, &[], eof);
    for cut in 0..=input.len() {
        assert_eq!(run_cut(input, &[cut], eof), whole, "cut at {cut}");
    }
    let every: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run_cut(input, &every, eof), whole, "byte at a time");
    whole
}

#[test]
fn response_minimal_204() {
    let o = assert_split_invariant(b"HTTP/1.1 204 No Content\r\n\r\n", false);
    assert_eq!(o.error, None);
    assert_eq!(
        (o.status, o.complete, o.body, o.keep_alive),
        (Some(204), true, Some(BodyKind::None), true)
    );
    assert_eq!(o.consumed, 27);
    assert_eq!(o.retry_after_ms, None);
}

#[test]
fn response_split_everywhere_interim_then_429_with_body_and_pipelined_bytes() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 429 Too Many Requests\r\n\
                  content-length: 5\r\n\
                  Retry-After: 120\r\n\
                  Server: test\r\n\r\n\
                  helloHTTP/1.1 204 x\r\n\r\n";
    let o = assert_split_invariant(input, false);
    assert_eq!(o.error, None);
    assert_eq!(
        (o.status, o.retry_after_ms, o.body),
        (Some(429), Some(120_000), Some(BodyKind::Length(5)))
    );
    assert!(o.complete && o.keep_alive);
    // The next response's bytes are left to the caller.
    assert_eq!(&input[o.consumed..], b"HTTP/1.1 204 x\r\n\r\n");
}

#[test]
fn response_split_everywhere_chunked_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 503 Service Unavailable\r\n\
                  Transfer-Encoding: chunked\r\n\
                  Retry-After: 7\r\n\r\n\
                  5;name=value;q=\"a b\"\r\nhello\r\n\
                  00A \t;x\r\n0123456789\r\n\
                  0\r\n\
                  X-Trailer: a\r\n\
                  Other: b\r\n\r\n";
    let o = assert_split_invariant(input, false);
    assert_eq!(o.error, None);
    assert_eq!(
        (o.status, o.retry_after_ms, o.body),
        (Some(503), Some(7000), Some(BodyKind::Chunked))
    );
    assert!(o.complete && o.keep_alive);
    assert_eq!(o.consumed, input.len());
    // Three-way cuts too, on this one.
    for a in 0..input.len() {
        for b in a..input.len() {
            assert_eq!(run_cut(input, &[a, b], false), o, "cuts {a} {b}");
        }
    }
}

#[test]
fn response_split_everywhere_body_until_close() {
    let input = b"HTTP/1.0 400 Bad Request\nContent-Type: text/plain\n\nbad chunk";
    let o = assert_split_invariant(input, true);
    assert_eq!(o.error, None);
    assert_eq!(
        (o.status, o.body, o.complete, o.keep_alive),
        (Some(400), Some(BodyKind::UntilClose), true, false)
    );
    // Without EOF it is not complete, but the head is there to act on.
    let open = run(input);
    assert_eq!(
        (open.head_complete, open.complete, open.status),
        (true, false, Some(400))
    );
}

#[test]
fn response_caller_may_stop_after_the_head() {
    let mut parser = ResponseParser::new();
    let p = parser
        .feed(b"HTTP/1.1 202 Accepted\r\nContent-Length: 1000\r\n\r\npartial")
        .expect("valid");
    assert!(p.head_complete && !p.complete);
    assert_eq!(parser.status(), Some(202));
    assert_eq!(parser.content_length(), Some(1000));
    assert_eq!(parser.finish(), Err(ResponseError::Truncated));
}

#[test]
fn response_skips_interim_responses() {
    let o = run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nRetry-After: 99\r\nConnection: close\r\n\r\n\
                  HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(o.error, None);
    assert_eq!((o.status, o.complete), (Some(202), true));
    // Nothing from the interim heads leaks into the final one.
    assert_eq!(o.retry_after_ms, None);
    assert!(o.keep_alive);
    // Until the final head, there is no status.
    let mut parser = ResponseParser::new();
    let p = parser.feed(b"HTTP/1.1 100 Continue\r\n\r\n").expect("valid");
    assert!(!p.head_complete);
    assert_eq!(parser.status(), None);
    assert_eq!(
        error_of(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
        Some(ResponseError::Malformed)
    );
}

#[test]
fn response_retry_after_values() {
    let cases: &[(&str, Option<u32>)] = &[
        ("120", Some(120_000)),
        ("0", Some(0)),
        ("  7  ", Some(7000)),
        ("\t7", Some(7000)),
        ("007", Some(7000)),
        ("4294967", Some(4_294_967_000)),
        ("4294968", Some(u32::MAX)),
        ("99999999999999999999999999999999999999", Some(u32::MAX)),
        ("-1", None),
        ("+5", None),
        ("1.5", None),
        ("5s", None),
        ("5 5", None),
        ("abc", None),
        ("", None),
        ("Fri, 31 Dec 1999 23:59:59 GMT", None),
    ];
    for &(value, expected) in cases {
        let input = format!("HTTP/1.1 429 x\r\nRetry-After: {value}\r\nContent-Length: 0\r\n\r\n");
        let o = run(input.as_bytes());
        assert_eq!(o.error, None, "{value:?}");
        assert_eq!(o.retry_after_ms, expected, "{value:?}");
    }
    let o = run(
        b"HTTP/1.1 503 x\r\nRETRY-AFTER: 5\r\nretry-after: 60\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(o.retry_after_ms, Some(60_000), "the longest of repeated values");
    assert_eq!(
        run(b"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n").retry_after_ms,
        None
    );
    let mut parser = ResponseParser::new();
    parser
        .feed(b"HTTP/1.1 429 x\r\nRetry-After: 5\r\n")
        .expect("valid so far");
    assert_eq!(parser.retry_after_ms(), None, "not before the head is complete");
}

#[test]
fn response_status_lines() {
    for (line, status) in [
        ("HTTP/1.1 200 OK", 200),
        ("HTTP/1.1 200", 200),
        ("HTTP/1.1 200 ", 200),
        ("HTTP/1.0 503 Service Unavailable", 503),
        ("HTTP/1.1 599 \t odd\u{e9}reason", 599),
        ("HTTP/1.1 100 x\r\n\r\nHTTP/1.1 401 Unauthorized", 401),
    ] {
        let input = format!("{line}\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(run(input.as_bytes()).status, Some(status), "{line:?}");
    }
    for line in [
        "",
        "HTTP/1.2 200 OK",
        "HTTP/2 200",
        "HTTP/2.0 200 OK",
        "http/1.1 200 OK",
        "HTTP/1.1 20 OK",
        "HTTP/1.1 2000 OK",
        "HTTP/1.1  200 OK",
        "HTTP/1.1 200OK",
        "HTTP/1.1 abc OK",
        "HTTP/1.1 -20 OK",
        "HTTP/1.1 099 x",
        "HTTP/1.1 600 x",
        "HTTP/1.1\t200 OK",
        "HTTP/1.1",
        "HTTP/1.1 ",
        "ICY 200 OK",
        " HTTP/1.1 200 OK",
        "HTTP/1.1 200 O\x01K",
    ] {
        let input = format!("{line}\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            error_of(input.as_bytes()),
            Some(ResponseError::Malformed),
            "{line:?}"
        );
    }
}

#[test]
fn response_header_syntax() {
    for bad in [
        "HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty-name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : space-before-colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: 1\r\n\tfolded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: bare\rCR\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: nul\x00\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: del\x7f\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA(b): 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\r\n\r\n",
    ] {
        assert_eq!(
            error_of(bad.as_bytes()),
            Some(ResponseError::Malformed),
            "{bad:?}"
        );
    }
    // LF-only line ends, tabs and obs-text in values are accepted.
    let o = run(b"HTTP/1.1 200 OK\nX-A:\tv\xff al\nContent-Length: 0\n\n");
    assert_eq!((o.error, o.status, o.complete), (None, Some(200), true));
}

#[test]
fn response_head_size_limits() {
    // 17 (status line) + 7 + n + 2 (header) + 2 (end) = MAX_HEAD_BYTES exactly.
    let n = MAX_HEAD_BYTES - 28;
    let at_limit = format!("HTTP/1.1 200 OK\r\nX-Pad: {}\r\n\r\n", "a".repeat(n));
    assert_eq!(at_limit.len(), MAX_HEAD_BYTES);
    let o = run_eof(at_limit.as_bytes());
    assert_eq!((o.error, o.status), (None, Some(200)));
    let over = format!("HTTP/1.1 200 OK\r\nX-Pad: {}\r\n\r\n", "a".repeat(n + 1));
    assert_eq!(error_of(over.as_bytes()), Some(ResponseError::HeadTooLarge));
    // Many short headers count as much as one long one.
    let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "A: b\r\n".repeat(2000));
    assert_eq!(error_of(many.as_bytes()), Some(ResponseError::HeadTooLarge));
    // Interim heads share the budget.
    let interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(400);
    assert_eq!(error_of(interim.as_bytes()), Some(ResponseError::HeadTooLarge));
}

#[test]
fn response_long_lines() {
    let filler = "v".repeat(1000);
    // An ignored header may be longer than the line buffer.
    let o = run(format!("HTTP/1.1 200 OK\r\nX-Long: {filler}\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert_eq!((o.error, o.complete), (None, true));
    // But it is still checked for control bytes after the buffer filled.
    let bad = format!("HTTP/1.1 200 OK\r\nX-Long: {filler}\x01\r\n\r\n");
    assert_eq!(error_of(bad.as_bytes()), Some(ResponseError::Malformed));
    let bad = format!("HTTP/1.1 200 OK\r\nX-Long: {filler}\rX\r\n\r\n");
    assert_eq!(error_of(bad.as_bytes()), Some(ResponseError::Malformed));
    // Headers we act on must fit.
    for name in ["Retry-After", "content-length", "Transfer-Encoding", "CONNECTION"] {
        let value = format!("{}1", " ".repeat(300));
        let input = format!("HTTP/1.1 200 OK\r\n{name}: {value}\r\n\r\n");
        assert_eq!(
            error_of(input.as_bytes()),
            Some(ResponseError::LineTooLong),
            "{name}"
        );
    }
    // A line that fits exactly (256 bytes before CR LF) is buffered whole.
    let value = " ".repeat(MAX_LINE_BYTES - "Retry-After: 9".len());
    let line = format!("Retry-After: {value}9");
    assert_eq!(line.len(), MAX_LINE_BYTES);
    let o = run(format!("HTTP/1.1 429 x\r\n{line}\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert_eq!((o.error, o.retry_after_ms), (None, Some(9000)));
    // A header name that does not fit.
    let input = format!("HTTP/1.1 200 OK\r\n{}: 1\r\n\r\n", "N".repeat(300));
    assert_eq!(error_of(input.as_bytes()), Some(ResponseError::LineTooLong));
    // A long reason phrase is dropped, the code kept; a bad one is still refused.
    let o = run(format!("HTTP/1.1 404 {filler}\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert_eq!((o.error, o.status), (None, Some(404)));
    let input = format!("HTTP/1.1 404 {filler}\x00\r\n\r\n");
    assert_eq!(error_of(input.as_bytes()), Some(ResponseError::Malformed));
    let input = format!("HTTP/1.1 404{filler}\r\n\r\n");
    assert_eq!(error_of(input.as_bytes()), Some(ResponseError::Malformed));
}

#[test]
fn response_content_length() {
    let o = run(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(
        (o.error, o.body, o.complete),
        (None, Some(BodyKind::Length(3)), true)
    );
    let max = run(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc");
    assert_eq!(
        (max.error, max.body, max.complete),
        (None, Some(BodyKind::Length(u64::MAX)), false)
    );
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n"),
        Some(ResponseError::SizeOverflow)
    );
    for value in ["", "abc", "-1", "+1", "1, 1", "1 1", "0x10", "1.0"] {
        let input = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            error_of(input.as_bytes()),
            Some(ResponseError::InvalidContentLength),
            "{value:?}"
        );
    }
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        Some(ResponseError::InvalidContentLength)
    );
    // 204 and 304 have no body whatever they declare.
    for status in [204, 304] {
        let input = format!("HTTP/1.1 {status} x\r\nContent-Length: 10\r\n\r\nHTTP/1.1");
        let o = run(input.as_bytes());
        assert_eq!((o.body, o.complete), (Some(BodyKind::None), true));
        assert_eq!(o.consumed, input.len() - "HTTP/1.1".len());
    }
}

#[test]
fn response_transfer_encoding_and_connection() {
    let cases: &[(&str, BodyKind, bool)] = &[
        ("Transfer-Encoding: chunked", BodyKind::Chunked, true),
        ("Transfer-Encoding: CHUNKED", BodyKind::Chunked, true),
        ("Transfer-Encoding: gzip, chunked", BodyKind::Chunked, true),
        ("Transfer-Encoding: gzip,,chunked ,", BodyKind::Chunked, true),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
            BodyKind::UntilClose,
            false,
        ),
        ("Transfer-Encoding: chunked, gzip", BodyKind::UntilClose, false),
        (
            "Transfer-Encoding: gzip\r\nContent-Length: 5",
            BodyKind::UntilClose,
            false,
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            BodyKind::Chunked,
            false,
        ),
        (
            "Content-Length: 0\r\nConnection: close",
            BodyKind::Length(0),
            false,
        ),
        (
            "Content-Length: 0\r\nConnection: Upgrade, CLOSE",
            BodyKind::Length(0),
            false,
        ),
        (
            "Content-Length: 0\r\nConnection: keep-alive",
            BodyKind::Length(0),
            true,
        ),
        ("", BodyKind::UntilClose, false),
    ];
    for &(headers, body, keep_alive) in cases {
        let input = format!("HTTP/1.1 500 x\r\n{headers}\r\n\r\n");
        let o = run(input.as_bytes());
        assert_eq!(
            (o.error, o.body, o.keep_alive),
            (None, Some(body), keep_alive),
            "{headers:?}"
        );
    }
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n"),
        Some(ResponseError::Malformed)
    );
    // HTTP/1.0 keeps the connection only when asked to.
    assert!(!run(b"HTTP/1.0 204 x\r\n\r\n").keep_alive);
    assert!(run(b"HTTP/1.0 204 x\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    let mut parser = ResponseParser::new();
    parser
        .feed(b"HTTP/1.1 204 x\r\nConnection: close\r\n\r\n")
        .expect("valid");
    assert!(parser.connection_close());
}

fn chunked(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
}

#[test]
fn response_chunked_bodies() {
    for ok in [
        "0\r\n\r\n",
        "0\n\n",
        "1\r\na\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "000a\r\n0123456789\r\n0000\r\n\r\n",
        "3 \r\nabc\r\n0\r\n\r\n",
        "3;ext\r\nabc\r\n0;last=\"\u{e9}\"\r\nT: 1\r\n\r\n",
        "3\nabc\n0\nT: 1\n\n",
    ] {
        let o = run(chunked(ok).as_bytes());
        assert_eq!((o.error, o.complete), (None, true), "{ok:?}");
    }
    let overflow = chunked("10000000000000000\r\n");
    assert_eq!(error_of(overflow.as_bytes()), Some(ResponseError::SizeOverflow));
    let biggest = run(chunked("ffffffffffffffff\r\nabc").as_bytes());
    assert_eq!((biggest.error, biggest.complete), (None, false));
    for bad in [
        "\r\n",
        ";ext\r\n",
        " 5\r\n",
        "g\r\n",
        "-1\r\n",
        "0x5\r\n",
        "5 5\r\n",
        "5\r\nhelloX",
        "5\r\nhello\rX",
        "5\r\nhello\r\r\n",
        "5\r5\r\n",
        "5;a\x01\r\n",
        "5;a\x7f\r\n",
    ] {
        assert_eq!(
            error_of(chunked(bad).as_bytes()),
            Some(ResponseError::InvalidChunk),
            "{bad:?}"
        );
    }
    let long_ext = chunked(&format!("5;{}\r\n", "e".repeat(MAX_CHUNK_LINE_BYTES)));
    assert_eq!(error_of(long_ext.as_bytes()), Some(ResponseError::InvalidChunk));
    let fits = chunked(&format!(
        "5;{}\r\nhello\r\n0\r\n\r\n",
        "e".repeat(MAX_CHUNK_LINE_BYTES - 2)
    ));
    assert_eq!(run(fits.as_bytes()).error, None);
    // Trailers: checked like headers, bounded like the head.
    assert_eq!(
        error_of(chunked("0\r\nbad trailer\r\n\r\n").as_bytes()),
        Some(ResponseError::Malformed)
    );
    assert_eq!(
        error_of(chunked("0\r\n folded\r\n\r\n").as_bytes()),
        Some(ResponseError::Malformed)
    );
    let big_trailer = chunked(&format!("0\r\nT: {}\r\n\r\n", "t".repeat(MAX_HEAD_BYTES)));
    assert_eq!(
        error_of(big_trailer.as_bytes()),
        Some(ResponseError::HeadTooLarge)
    );
    let long_trailer = chunked(&format!("0\r\nT: {}\r\n\r\n", "t".repeat(1000)));
    assert_eq!(run(long_trailer.as_bytes()).error, None);
    // Trailers never change what the head said.
    let o = run(chunked("0\r\nRetry-After: 60\r\nContent-Length: x\r\n\r\n").as_bytes());
    assert_eq!((o.error, o.retry_after_ms), (None, None));
}

#[test]
fn response_end_of_stream() {
    let mut parser = ResponseParser::new();
    assert_eq!(parser.finish(), Err(ResponseError::NoResponse));
    let mut parser = ResponseParser::new();
    assert!(parser.feed(&[]).is_ok());
    assert_eq!(parser.finish(), Err(ResponseError::NoResponse));
    for partial in [
        &b"H"[..],
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ] {
        assert_eq!(
            run_eof(partial).error,
            Some(ResponseError::Truncated),
            "{partial:?}"
        );
    }
    let mut parser = ResponseParser::new();
    let p = parser.feed(b"HTTP/1.1 204 x\r\n\r\n").expect("valid");
    assert!(p.complete);
    assert_eq!(
        parser.feed(b"more"),
        Ok(Progress {
            consumed: 0,
            head_complete: true,
            complete: true
        })
    );
    assert_eq!(parser.finish(), Ok(()));
}

#[test]
fn response_parser_state_is_small() {
    // The parser lives on MicroPython's small C stack; keep it near the line buffer's size.
    assert!(core::mem::size_of::<ResponseParser>() <= MAX_LINE_BYTES + 128);
}

// ---------------------------------------------------------------------------------------------
// Random input: never panics, and cutting the input never changes the outcome.

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&[u8]] = &[
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 x\r\nRetry-After: 30\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"HTTP/1.0 503 x\nConnection: keep-alive\nContent-Length: 1\n\nz",
    b"HTTP/1.1 400 Bad\r\nX: y\r\n\r\nbody until close",
];

const ALPHABET: &[u8] = b"HTTP/1.0 23456789abcdefABCDEF\r\n\t:;,=-\x00\x7f\xff";

fn random_input(rng: &mut SplitMix) -> Vec<u8> {
    let mut input: Vec<u8> = if rng.below(4) == 0 {
        let len = rng.below(200);
        (0..len)
            .map(|_| {
                if rng.below(2) == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len())]
                }
            })
            .collect()
    } else {
        SEEDS[rng.below(SEEDS.len())].to_vec()
    };
    for _ in 0..rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if at < input.len() => input[at] = rng.next() as u8,
            1 => input.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 if at < input.len() => {
                input.remove(at);
            }
            3 => {
                let end = (at + rng.below(40)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(
                    at..at,
                    copy.iter().copied().cycle().take(copy.len() * rng.below(50)),
                );
            }
            _ => input.truncate(at),
        }
    }
    input
}

#[test]
fn response_random_input_never_panics_and_is_split_invariant() {
    let mut rng = SplitMix(0x686f_6e63_6820_6874);
    let mut outcomes = [0usize; 3];
    for _ in 0..20_000 {
        let input = random_input(&mut rng);
        let eof = rng.below(2) == 0;
        let whole = run_cut(&input, &[], eof);
        let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(input.len() + 1)).collect();
        cuts.sort_unstable();
        assert_eq!(
            run_cut(&input, &cuts, eof),
            whole,
            "input {input:?} cuts {cuts:?}"
        );
        outcomes[match (whole.error, whole.complete) {
            (Some(_), _) => 0,
            (None, true) => 1,
            (None, false) => 2,
        }] += 1;
    }
    // The generator must reach errors, complete responses and pending ones alike, or the run
    // proves little.
    assert!(outcomes.iter().all(|&n| n > 500), "{outcomes:?}");
}

#[test]
fn url_random_input_never_panics() {
    let mut rng = SplitMix(7);
    let alphabet = b"hHtTpPsS:/[]@?#%.0123456789abcdef-_ \x7f";
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut text: Vec<u8> = b"http://".to_vec();
        text.truncate(rng.below(8));
        for _ in 0..rng.below(30) {
            text.push(alphabet[rng.below(alphabet.len())]);
        }
        let Ok(url) = core::str::from_utf8(&text) else {
            continue;
        };
        if let Ok(e) = Endpoint::parse(url) {
            parsed += 1;
            // Whatever parses must make a valid request head.
            let mut buf = [0u8; 256];
            assert!(
                write_request_head(&mut buf, &e, "k", "s", "ua", 1).is_ok(),
                "{url:?}"
            );
        }
    }
    assert!(parsed > 100, "{parsed}");
}
