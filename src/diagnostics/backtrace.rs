//! The compact crash backtrace of micropython.md §2.6:
//! `sensor.py:42 in read <- app.py:10 in loop <- app.py:88 in <module>`, crash site first.
//!
//! The CPython binding walks the traceback object and calls [`format_backtrace`]; the
//! MicroPython binding captures `sys.print_exception` output and calls
//! [`format_printed_exception`]. Either way the result fits the `$crash` `backtrace` bound,
//! which matters because the core drops an over-long backtrace whole.

/// Must equal [`super::CRASH_BACKTRACE_MAX`]: a longer text would be dropped, not cut.
pub const BACKTRACE_MAX_BYTES: usize = 192;
/// Frames kept, counted from the crash site.
pub const BACKTRACE_MAX_FRAMES: usize = 10;

const SEPARATOR: &str = " <- ";

/// One traceback entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub file: &'a str,
    pub line: u32,
    pub function: &'a str,
}

const NO_FRAME: Frame<'static> = Frame {
    file: "",
    line: 0,
    function: "",
};

/// Decimal digits of `n`, right-aligned in a small buffer.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(d) = buf.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..)
        .and_then(|d| core::str::from_utf8(d).ok())
        .unwrap_or("0")
}

/// Formats `frames`, given in traceback order (outermost first, as Python prints them), as
/// `<file>:<line> in <func>` joined with ` <- `, crash site first, at most
/// [`BACKTRACE_MAX_FRAMES`] frames, stopping before the first frame that would take the text
/// past [`BACKTRACE_MAX_BYTES`]. `None` if not even the crash site fits (or there are no frames).
///
/// Whole strings are copied, so the result is always valid UTF-8.
pub fn format_backtrace<'a, 'o>(
    frames: impl IntoIterator<Item = Frame<'a>>,
    out: &'o mut [u8; BACKTRACE_MAX_BYTES],
) -> Option<&'o str> {
    // The crash site is the last frame, so keep a ring of the last ten seen.
    let mut ring = [NO_FRAME; BACKTRACE_MAX_FRAMES];
    let mut next = 0usize;
    let mut kept = 0usize;
    for frame in frames {
        if let Some(slot) = ring.get_mut(next) {
            *slot = frame;
        }
        next = (next + 1) % BACKTRACE_MAX_FRAMES;
        kept = (kept + 1).min(BACKTRACE_MAX_FRAMES);
    }

    let mut len = 0usize;
    let mut digits = [0u8; 10];
    for k in 1..=kept {
        let index = (next + BACKTRACE_MAX_FRAMES - k) % BACKTRACE_MAX_FRAMES;
        let Some(frame) = ring.get(index) else { break };
        let line = decimal(frame.line, &mut digits);
        let sep = if len == 0 { "" } else { SEPARATOR };
        let parts = [sep, frame.file, ":", line, " in ", frame.function];
        let need: usize = parts.iter().map(|p| p.len()).sum();
        if len + need > BACKTRACE_MAX_BYTES {
            break;
        }
        for part in parts {
            let end = len + part.len();
            let Some(dst) = out.get_mut(len..end) else { break };
            dst.copy_from_slice(part.as_bytes());
            len = end;
        }
    }
    if len == 0 {
        return None;
    }
    let out: &'o [u8] = out;
    out.get(..len).and_then(|b| core::str::from_utf8(b).ok())
}

/// The frames of a `sys.print_exception` text, in printed order (outermost first).
///
/// A frame line reads `File "<file>", line <n>, in <func>` once stripped; without `, in` the
/// function is `?`. Lines that do not parse are skipped. Only lines ended by a newline count:
/// MicroPython ends every frame line with one (the exception line follows), so an unended
/// last line is a capture buffer that filled up mid-line, and its line number may be cut.
pub fn printed_frames(text: &str) -> PrintedFrames<'_> {
    PrintedFrames {
        lines: text.split_inclusive('\n'),
    }
}

/// `format_backtrace(printed_frames(text), out)`: the whole MicroPython path.
pub fn format_printed_exception<'o>(text: &str, out: &'o mut [u8; BACKTRACE_MAX_BYTES]) -> Option<&'o str> {
    format_backtrace(printed_frames(text), out)
}

/// Iterator returned by [`printed_frames`].
#[derive(Clone, Debug)]
pub struct PrintedFrames<'a> {
    lines: core::str::SplitInclusive<'a, char>,
}

impl<'a> Iterator for PrintedFrames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        loop {
            let raw = self.lines.next()?;
            if !raw.ends_with('\n') {
                continue;
            }
            if let Some(frame) = parse_frame_line(raw.trim()) {
                return Some(frame);
            }
        }
    }
}

fn parse_frame_line(line: &str) -> Option<Frame<'_>> {
    if !line.starts_with("File ") {
        return None;
    }
    let (_, quoted) = line.split_once('"')?;
    let (file, after_file) = quoted.split_once('"')?;
    // Looked for after the file name, so a file name containing ", line " cannot confuse it.
    let (_, after_line) = after_file.split_once(", line ")?;
    let (number, rest) = after_line.split_once(',').unwrap_or((after_line, ""));
    let line_no = number.trim().parse::<u32>().ok()?;
    let function = rest.split_once(" in ").map(|(_, f)| f.trim()).unwrap_or("?");
    Some(Frame {
        file,
        line: line_no,
        function,
    })
}
