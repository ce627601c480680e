use super::*;
use crate::client::Properties;
use crate::packed::{PackedWriter, Pairs, Value};
use crate::record::PropsWriter;
use crate::status::Status;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// Owned copy of a decoded property value (the packed reader borrows the buffer).
#[derive(Debug, PartialEq)]
enum V {
    Str(String),
    UInt(u64),
}

/// Writes `props` through the real property writer and reads the list back.
fn written(props: &dyn Properties) -> Vec<(String, V)> {
    let mut buf = [0u8; 1024];
    let mut w = PropsWriter::new(PackedWriter::new(&mut buf), 0);
    w.begin_properties(props.count()).unwrap();
    props.write(&mut w).unwrap();
    let (out, _) = w.into_inner();
    let (pairs, rest) = Pairs::parse(out.written()).unwrap();
    assert!(rest.is_empty());
    pairs
        .map(|p| {
            let (k, v) = p.unwrap();
            let v = match v {
                Value::Str(s) => V::Str(s.to_string()),
                Value::UInt(n) => V::UInt(n),
                other => panic!("unexpected value {other:?}"),
            };
            (k.to_string(), v)
        })
        .collect()
}

fn s(v: &str) -> V {
    V::Str(v.to_string())
}

fn repeat(c: &str, n: usize) -> String {
    c.repeat(n)
}

// ---------------------------------------------------------------- text helpers

#[test]
fn truncate_keeps_short_text_and_cuts_ascii_at_the_bound() {
    assert_eq!(truncate_utf8("abc", 3), "abc");
    assert_eq!(truncate_utf8("abcd", 3), "abc");
    assert_eq!(truncate_utf8("", 0), "");
}

#[test]
fn truncate_never_splits_a_character() {
    // 2-, 3- and 4-byte characters straddling the cut at byte 32.
    for (ch, keep) in [("é", 31), ("€", 31), ("😀", 31)] {
        let text = format!("{}{}tail", repeat("a", 31), ch);
        let cut = truncate_utf8(&text, 32);
        assert_eq!(cut.len(), keep, "{ch}");
        assert_eq!(cut, repeat("a", 31));
    }
    // A 3-byte character ending exactly on the bound is kept whole.
    let text = format!("{}€x", repeat("a", 29));
    assert_eq!(truncate_utf8(&text, 32), format!("{}€", repeat("a", 29)));
    // Nothing fits: empty, never a partial character.
    assert_eq!(truncate_utf8("😀", 3), "");
}

#[test]
fn blank_means_ascii_whitespace_only() {
    assert!(is_blank(""));
    assert!(is_blank(" \t\r\n"));
    assert!(!is_blank(" x "));
}

// ---------------------------------------------------------------- log slots

#[test]
fn blank_message_is_invalid_and_stores_nothing() {
    let mut slots = LogSlots::new();
    for m in ["", "   ", "\t\n"] {
        let err = slots.report(Some("net"), m).unwrap_err();
        assert_eq!(err, BLANK_LOG_MESSAGE);
        assert_eq!(err.status, Status::InvalidArgument);
    }
    assert!(slots.is_empty());
}

#[test]
fn own_component_is_ignored_but_similar_names_are_not() {
    let mut slots = LogSlots::new();
    assert_eq!(slots.report(Some("honch"), "loop"), Ok(()));
    assert!(slots.is_empty());
    slots.report(Some("Honch"), "a").unwrap();
    slots.report(Some("honch2"), "a").unwrap();
    assert_eq!(slots.len(), 2);
}

#[test]
fn repeats_coalesce_and_components_are_part_of_the_key() {
    let mut slots = LogSlots::new();
    slots.report(Some("net"), "timeout").unwrap();
    slots.report(Some("net"), "timeout").unwrap();
    slots.report(Some("disk"), "timeout").unwrap();
    slots.report(None, "timeout").unwrap();
    // An empty component is the same as none.
    slots.report(Some(""), "timeout").unwrap();
    slots.report(Some("net"), "timeout").unwrap();

    let a = slots.pop().unwrap();
    assert_eq!(
        (a.component(), a.message(), a.report_count()),
        (Some("net"), "timeout", 3)
    );
    let b = slots.pop().unwrap();
    assert_eq!((b.component(), b.report_count()), (Some("disk"), 1));
    let c = slots.pop().unwrap();
    assert_eq!((c.component(), c.report_count()), (None, 2));
    assert!(slots.pop().is_none());
}

#[test]
fn keys_are_the_truncated_texts() {
    let mut slots = LogSlots::new();
    let long_msg = repeat("m", 128);
    let long_comp = repeat("c", 32);
    slots
        .report(Some(&format!("{long_comp}X")), &format!("{long_msg}1"))
        .unwrap();
    slots
        .report(Some(&format!("{long_comp}Y")), &format!("{long_msg}2"))
        .unwrap();
    assert_eq!(slots.len(), 1);
    let e = slots.pop().unwrap();
    assert_eq!(e.component(), Some(long_comp.as_str()));
    assert_eq!(e.message(), long_msg);
    assert_eq!(e.report_count(), 2);
}

#[test]
fn multibyte_text_is_cut_on_a_character_boundary() {
    let mut slots = LogSlots::new();
    // 127 ASCII bytes then a 2-byte character: byte 128 would split it.
    let msg = format!("{}ü and more", repeat("x", 127));
    // 30 ASCII bytes then a 4-byte character crossing the 32-byte bound.
    let comp = format!("{}😀", repeat("k", 30));
    slots.report(Some(&comp), &msg).unwrap();
    let e = slots.pop().unwrap();
    assert_eq!(e.message(), repeat("x", 127));
    assert_eq!(e.component(), Some(repeat("k", 30).as_str()));
    // The event it becomes is a valid record.
    let props = written(&e);
    assert_eq!(props[2], ("message".to_string(), s(&repeat("x", 127))));
}

#[test]
fn full_slots_count_drops_and_the_first_drained_entry_carries_them() {
    let mut slots = LogSlots::new();
    for m in ["a", "b", "c", "d"] {
        slots.report(None, m).unwrap();
    }
    slots.report(None, "e").unwrap();
    slots.report(Some("x"), "f").unwrap();
    // A repeat of a held pair still counts while full: it is not a drop.
    slots.report(None, "b").unwrap();
    assert_eq!(slots.dropped(), 2);

    let drained: Vec<_> = core::iter::from_fn(|| slots.pop()).collect();
    let summary: Vec<_> = drained
        .iter()
        .map(|e| (e.message(), e.report_count(), e.dropped()))
        .collect();
    assert_eq!(
        summary,
        vec![("a", 1, Some(2)), ("b", 2, None), ("c", 1, None), ("d", 1, None)]
    );
    assert_eq!(slots.dropped(), 0);
    assert!(slots.is_empty());

    // The freed slots take new pairs, and a drain without drops carries none.
    for m in ["p", "q", "r", "s"] {
        slots.report(None, m).unwrap();
    }
    assert_eq!(slots.dropped(), 0);
    let first = slots.pop().unwrap();
    assert_eq!((first.message(), first.dropped()), ("p", None));
}

#[test]
fn error_event_properties_follow_the_reference_order() {
    let mut slots = LogSlots::new();
    for m in ["a", "b", "c", "d", "e"] {
        slots.report(Some("net"), m).unwrap();
    }
    slots.report(Some("net"), "a").unwrap();
    slots.report(None, "zzz").unwrap();

    let first = slots.pop().unwrap();
    assert_eq!(first.count(), 5);
    assert_eq!(
        written(&first),
        vec![
            ("level".to_string(), s("error")),
            ("component".to_string(), s("net")),
            ("message".to_string(), s("a")),
            ("count".to_string(), V::UInt(2)),
            ("dropped".to_string(), V::UInt(2)),
        ]
    );
    let second = slots.pop().unwrap();
    assert_eq!(second.count(), 4);
    assert_eq!(written(&second).len(), 4);

    let mut no_comp = LogSlots::new();
    no_comp.report(None, "boom").unwrap();
    let e = no_comp.pop().unwrap();
    assert_eq!(
        written(&e),
        vec![
            ("level".to_string(), s("error")),
            ("message".to_string(), s("boom")),
            ("count".to_string(), V::UInt(1)),
        ]
    );
}

// ---------------------------------------------------------------- crash

fn crash_keys(r: &CrashReport<'_>) -> Vec<&'static str> {
    r.pairs().as_slice().iter().map(|(k, _)| *k).collect()
}

#[test]
fn a_bare_crash_has_source_severity_and_unknown_reset_reason() {
    let r = CrashReport::exception();
    assert_eq!(
        r.pairs().as_slice(),
        &[
            ("source", "exception"),
            ("severity", "fatal"),
            ("reset_reason", "unknown")
        ]
    );
    assert_eq!(CrashReport::default(), r);
}

#[test]
fn a_full_crash_lists_properties_in_reference_order() {
    let r = CrashReport::exception()
        .with_reset_reason(Some("watchdog"))
        .with_exception_cause(Some("ValueError"))
        .with_message(Some("bad reading"))
        .with_backtrace(Some("sensor.py:42 in read"))
        .with_crash_id(Some([
            0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x0f,
        ]));
    assert_eq!(
        r.pairs().as_slice(),
        &[
            ("source", "exception"),
            ("severity", "fatal"),
            ("reset_reason", "watchdog"),
            ("message", "bad reading"),
            ("exception_cause", "ValueError"),
            ("backtrace", "sensor.py:42 in read"),
            ("crash_id", "000123456789abcdefff10203040500f"),
        ]
    );
    let props = written(&r);
    assert_eq!(props.len(), 7);
    assert_eq!(
        props[6],
        ("crash_id".to_string(), s("000123456789abcdefff10203040500f"))
    );
    assert_eq!(props[2], ("reset_reason".to_string(), s("watchdog")));
}

#[test]
fn crash_strings_at_their_bound_are_kept_and_one_byte_more_is_dropped() {
    // (key, bound); multi-byte text shows bounds are in bytes.
    fn set<'a>(key: &str, r: CrashReport<'a>, v: Option<&'a str>) -> CrashReport<'a> {
        match key {
            "message" => r.with_message(v),
            "exception_cause" => r.with_exception_cause(v),
            _ => r.with_backtrace(v),
        }
    }
    let cases = [("message", 160), ("exception_cause", 64), ("backtrace", 192)];
    for (key, bound) in cases {
        let at = repeat("é", bound / 2);
        assert_eq!(at.len(), bound);
        let over = format!("{at}x");
        let kept = set(key, CrashReport::exception(), Some(&at));
        assert!(
            kept.pairs().as_slice().contains(&(key, at.as_str())),
            "{key} at bound"
        );
        for dropped in [Some(over.as_str()), Some(""), Some(" \t"), None] {
            let r = set(key, CrashReport::exception(), dropped);
            assert!(!crash_keys(&r).contains(&key), "{key} {dropped:?}");
        }
    }
}

#[test]
fn reset_reason_falls_back_to_unknown() {
    let at = repeat("r", 64);
    let r = CrashReport::exception().with_reset_reason(Some(&at));
    assert_eq!(r.pairs().as_slice()[2], ("reset_reason", at.as_str()));
    let over = repeat("r", 65);
    for bad in [Some(over.as_str()), Some("  "), None] {
        let r = CrashReport::exception().with_reset_reason(bad);
        assert_eq!(r.pairs().as_slice()[2], ("reset_reason", "unknown"));
    }
}

#[test]
fn crash_id_is_omitted_without_random_bytes() {
    let r = CrashReport::exception().with_crash_id(None);
    assert_eq!(r.crash_id(), None);
    assert!(!crash_keys(&r).contains(&"crash_id"));
    let r = CrashReport::exception().with_crash_id(Some([0xa5; 16]));
    let id = r.crash_id().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(id, repeat("a5", 16));
}

#[test]
fn crash_latch_remembers_only_what_was_marked() {
    let mut latch = CrashLatch::new();
    assert!(!latch.is_reported());
    latch.mark_reported();
    assert!(latch.is_reported());
    assert_eq!(CrashLatch::default(), CrashLatch::new());
}

// ---------------------------------------------------------------- backtrace

const PRINTED: &str = "Traceback (most recent call last):\n  \
                       File \"app.py\", line 88, in <module>\n  \
                       File \"app.py\", line 10, in loop\n  \
                       File \"sensor.py\", line 42, in read\n\
                       ValueError: bad reading\n";

fn frame<'a>(file: &'a str, line: u32, function: &'a str) -> Frame<'a> {
    Frame { file, line, function }
}

#[test]
fn printed_exception_becomes_the_spec_example() {
    let frames: Vec<_> = printed_frames(PRINTED).collect();
    assert_eq!(
        frames,
        vec![
            frame("app.py", 88, "<module>"),
            frame("app.py", 10, "loop"),
            frame("sensor.py", 42, "read")
        ]
    );
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    assert_eq!(
        format_printed_exception(PRINTED, &mut out),
        Some("sensor.py:42 in read <- app.py:10 in loop <- app.py:88 in <module>")
    );
}

#[test]
fn printed_frame_without_function_gets_a_question_mark() {
    let text = "Traceback (most recent call last):\r\n  File \"boot.py\", line 3\r\n  File \"lib/x.py\", line 7, in \r\nOSError: 5\r\n";
    let frames: Vec<_> = printed_frames(text).collect();
    assert_eq!(frames, vec![frame("boot.py", 3, "?"), frame("lib/x.py", 7, "?")]);
}

#[test]
fn unparsable_and_unterminated_lines_are_skipped() {
    let text = "File without quotes, line 1, in f\n\
                File \"a.py\", line x, in f\n\
                File \"a.py\" line 2, in f\n\
                Note: File \"b.py\", line 3, in g\n\
                File \"a, line 9.py\", line 4, in h\n\
                  File \"c.py\", line 5, in i\n\
                  File \"d.py\", line 6";
    let frames: Vec<_> = printed_frames(text).collect();
    assert_eq!(frames, vec![frame("a, line 9.py", 4, "h"), frame("c.py", 5, "i")]);
}

#[test]
fn no_frames_gives_none() {
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    assert_eq!(format_printed_exception("ValueError: x\n", &mut out), None);
    assert_eq!(format_backtrace([], &mut out), None);
}

#[test]
fn at_most_ten_frames_from_the_crash_site() {
    let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let frames = names.iter().enumerate().map(|(i, n)| frame("m.py", i as u32, n));
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    let text = format_backtrace(frames, &mut out).unwrap();
    let parts: Vec<&str> = text.split(" <- ").collect();
    assert_eq!(parts.len(), 10);
    assert_eq!(parts[0], "m.py:11 in f11");
    assert_eq!(parts[9], "m.py:2 in f2");
}

#[test]
fn the_192_byte_limit_stops_before_the_first_frame_that_does_not_fit() {
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    // "a.py:1 in " is 10 bytes.
    let fits = repeat("f", 182);
    let too_long = repeat("f", 183);
    assert_eq!(
        format_backtrace([frame("a.py", 1, &fits)], &mut out).map(str::len),
        Some(192)
    );
    assert_eq!(format_backtrace([frame("a.py", 1, &too_long)], &mut out), None);

    // Crash site 100 bytes; " <- " + a second frame of 88 ends exactly at 192, of 89 does not.
    let site = repeat("s", 90);
    let exact = repeat("g", 78);
    let over = repeat("g", 79);
    let two = format_backtrace([frame("a.py", 1, &exact), frame("a.py", 1, &site)], &mut out).unwrap();
    assert_eq!(two.len(), 192);
    let one = format_backtrace(
        [
            frame("a.py", 1, "x"),
            frame("a.py", 1, &over),
            frame("a.py", 1, &site),
        ],
        &mut out,
    )
    .unwrap();
    // Stops at the first frame that does not fit, even though a later, shorter one would.
    assert_eq!(one, format!("a.py:1 in {site}"));
}

#[test]
fn the_limit_counts_utf8_bytes_and_never_cuts_a_frame() {
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    // 10 + 91 × 2 = 192 bytes: fits; one more character does not.
    let wide = repeat("é", 91);
    let text = format_backtrace([frame("a.py", 1, &wide)], &mut out).unwrap();
    assert_eq!(text.len(), 192);
    let wider = repeat("é", 92);
    assert_eq!(format_backtrace([frame("a.py", 1, &wider)], &mut out), None);
}

#[test]
fn line_numbers_are_printed_in_full() {
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    let text = format_backtrace([frame("a.py", 0, "f"), frame("b.py", u32::MAX, "g")], &mut out).unwrap();
    assert_eq!(text, "b.py:4294967295 in g <- a.py:0 in f");
}

#[test]
fn backtrace_limit_matches_the_crash_bound() {
    assert_eq!(BACKTRACE_MAX_BYTES, CRASH_BACKTRACE_MAX);
    // A formatted backtrace of maximal length is never dropped by the crash builder.
    let mut out = [0u8; BACKTRACE_MAX_BYTES];
    let long = repeat("f", 182);
    let bt = format_backtrace([frame("a.py", 1, &long)], &mut out);
    let r = CrashReport::exception().with_backtrace(bt);
    assert!(crash_keys(&r).contains(&"backtrace"));
}

// ---------------------------------------------------------------- last error

#[test]
fn reasons_have_the_reference_numbers_and_strings() {
    let expected = [
        "none",
        "unknown",
        "dns_failed",
        "connect_refused",
        "connect_timeout",
        "tls_handshake",
        "tls_cert",
        "write_failed",
        "read_failed",
        "http_status",
        "auth_invalid_key",
        "offline",
        "queue_full",
        "encode_failed",
        "out_of_memory",
        "invalid_config",
        "not_initialized",
        "no_network",
    ];
    for (i, (reason, text)) in Reason::ALL.iter().zip(expected).enumerate() {
        assert_eq!(usize::from(reason.code()), i);
        assert_eq!(reason.as_str(), text);
        assert_eq!(Reason::from_code(i as u32), *reason);
    }
    assert_eq!(Reason::from_code(18), Reason::Unknown);
    assert_eq!(Reason::from_code(u32::MAX), Reason::Unknown);
}

#[test]
fn reason_messages_match_the_table() {
    assert_eq!(Reason::None.message(), None);
    assert_eq!(Reason::Unknown.message(), None);
    assert_eq!(
        Reason::DnsFailed.message(),
        Some("DNS resolution failed - check the configured endpoint")
    );
    assert_eq!(
        Reason::TlsCert.message(),
        Some("TLS certificate validation failed (check device clock / CA bundle)")
    );
    assert_eq!(
        Reason::AuthInvalidKey.message(),
        Some("API key invalid or revoked")
    );
    assert_eq!(
        Reason::QueueFull.message(),
        Some("event queue full, dropping oldest events")
    );
    assert_eq!(Reason::NotInitialized.message(), Some("client not initialized"));
    for r in &Reason::ALL[2..] {
        assert!(r.message().is_some(), "{r:?}");
    }
}

#[test]
fn default_last_error_is_ok_none() {
    let e = LastError::default();
    assert_eq!(
        (e.status, e.reason, e.http, e.os_error, e.component),
        (Status::Ok, Reason::None, 0, 0, None)
    );
    assert_eq!(e.message(), None);
    let mut buf = [0u8; LAST_ERROR_LINE_BUF];
    assert_eq!(e.format(&mut buf), "ok (reason=none)");
}

fn err(status: Status, reason: Reason, http: u16, os_error: i32) -> LastError {
    LastError {
        status,
        reason,
        http,
        os_error,
        component: Some("http"),
    }
}

#[test]
fn formatter_has_four_shapes_and_an_os_error_suffix() {
    let mut buf = [0u8; LAST_ERROR_LINE_BUF];
    let cases = [
        (
            err(Status::Rejected, Reason::AuthInvalidKey, 401, 0),
            "rejected: HTTP 401 - API key invalid or revoked (reason=auth_invalid_key)",
        ),
        (
            err(Status::Server, Reason::Unknown, 503, 0),
            "server error: HTTP 503 (reason=unknown)",
        ),
        (
            err(Status::Transport, Reason::ConnectTimeout, 0, 0),
            "transport error: connection timed out (reason=connect_timeout)",
        ),
        (
            err(Status::Transport, Reason::Unknown, 0, 0),
            "transport error (reason=unknown)",
        ),
        (
            err(Status::Transport, Reason::DnsFailed, 0, -2),
            "transport error: DNS resolution failed - check the configured endpoint (reason=dns_failed) os_error=-2",
        ),
        (
            err(Status::Server, Reason::HttpStatus, 500, 104),
            "server error: HTTP 500 - server returned an error status (reason=http_status) os_error=104",
        ),
    ];
    for (e, line) in cases {
        assert_eq!(e.format(&mut buf), line);
    }
}

#[test]
fn longest_possible_line_fits_with_its_suffix() {
    let statuses = [
        Status::Ok,
        Status::InvalidArgument,
        Status::OutOfMemory,
        Status::Io,
        Status::Transport,
        Status::RateLimited,
        Status::Server,
        Status::Rejected,
        Status::NotInitialized,
        Status::AlreadyInitialized,
        Status::QueueFull,
        Status::Timeout,
        Status::Internal,
        Status::Busy,
        Status::NotSupported,
        Status::Offline,
    ];
    let mut buf = [0u8; LAST_ERROR_LINE_BUF];
    for status in statuses {
        for reason in Reason::ALL {
            let line = err(status, reason, u16::MAX, i32::MIN).format(&mut buf);
            assert!(line.len() <= LAST_ERROR_LINE_MAX);
            assert!(line.ends_with(" os_error=-2147483648"), "{line}");
        }
    }
}

#[test]
fn os_error_suffix_is_all_or_nothing() {
    let e = err(Status::Transport, Reason::Unknown, 0, 12345);
    let base = "transport error (reason=unknown)";
    let mut small = [0u8; 64];
    // Room for the base and " os_error=1234" but not the last digit: no suffix at all.
    let limit = base.len() + " os_error=12345".len();
    assert_eq!(e.format_into(&mut small[..limit - 1]), base);
    assert_eq!(
        e.format_into(&mut small[..limit]),
        format!("{base} os_error=12345")
    );
    // A buffer too small for the base line gets a cut (ASCII) line.
    assert_eq!(e.format_into(&mut small[..9]), "transport");
}

#[test]
fn level_is_error_for_failures_a_retry_will_not_cure() {
    let error_reasons = [
        Reason::AuthInvalidKey,
        Reason::TlsCert,
        Reason::EncodeFailed,
        Reason::OutOfMemory,
        Reason::InvalidConfig,
        Reason::NoNetwork,
    ];
    for reason in Reason::ALL {
        let expected = if error_reasons.contains(&reason) {
            LogLevel::Error
        } else {
            LogLevel::Warn
        };
        assert_eq!(
            err(Status::Transport, reason, 0, 0).level(),
            expected,
            "{reason:?}"
        );
        assert_eq!(err(Status::Rejected, reason, 400, 0).level(), LogLevel::Error);
    }
}

#[test]
fn log_once_key_folds_whole_words() {
    // FNV-1a-32 with the reason and the status folded in as single 32-bit words.
    assert_eq!(
        LogOnce::key(&err(Status::Rejected, Reason::AuthInvalidKey, 401, 0)),
        0xfc90_0ea4
    );
    assert_eq!(LogOnce::key(&LastError::default()), 0x1176_97cd);
    assert_eq!(
        LogOnce::key(&err(Status::Server, Reason::HttpStatus, 503, 7)),
        0xca8a_9729
    );
    // Status, os_error and component are not part of the key.
    assert_eq!(
        LogOnce::key(&err(Status::Server, Reason::HttpStatus, 503, 0)),
        LogOnce::key(&err(Status::Transport, Reason::HttpStatus, 503, 9))
    );
}

#[test]
fn log_once_logs_each_failure_once_and_evicts_the_oldest() {
    let mut once = LogOnce::new();
    let a = err(Status::Server, Reason::HttpStatus, 500, 0);
    let b = err(Status::Server, Reason::HttpStatus, 502, 0);
    let c = err(Status::Transport, Reason::DnsFailed, 0, 0);
    let d = err(Status::Transport, Reason::ConnectTimeout, 0, 0);
    let e = err(Status::Offline, Reason::Offline, 0, 0);

    assert!(once.should_log(&a));
    assert!(!once.should_log(&a));
    // The same reason with another HTTP status is a different failure.
    assert!(once.should_log(&b));
    assert!(once.should_log(&c));
    assert!(once.should_log(&d));
    assert!(!once.should_log(&b));
    // A fifth evicts the oldest (a), which is then logged again and evicts b.
    assert!(once.should_log(&e));
    assert!(once.should_log(&a));
    assert!(once.should_log(&b));
    assert!(!once.should_log(&d));
    assert!(!once.should_log(&e));

    once.clear();
    assert_eq!(once, LogOnce::new());
    assert!(once.should_log(&d));
}

// ---------------------------------------------------------------- memory

#[test]
fn client_side_state_stays_small() {
    let word = core::mem::size_of::<usize>();
    assert!(core::mem::size_of::<LogSlots>() <= 4 * word);
    assert_eq!(core::mem::size_of::<CrashLatch>(), 1);
    assert!(core::mem::size_of::<LogOnce>() <= 20);
    assert!(core::mem::size_of::<LastError>() <= 12 + 2 * word);
}
