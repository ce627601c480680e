//! `endpoint_url` parsing: `http[s]://host[:port][/path]`, nothing else.
//!
//! The grammar is deliberately narrower than RFC 3986: whatever we accept must produce a
//! request line and `Host` header that no server or resolver can read two ways, so userinfo,
//! queries, fragments, non-ASCII text and the numeric host shorthands that `inet_aton`
//! accepts (`127.1`, `010.0.0.1`) are refused instead of being passed through.

use core::fmt;

/// A parsed `endpoint_url`. Borrows from the URL text; parsing never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// `https` (TLS) or `http`.
    pub tls: bool,
    /// The host to resolve and connect to, and to verify the certificate against. An IPv6
    /// literal is given without its brackets (`::1`), which is what resolvers expect.
    pub host: &'a str,
    /// The explicit port, or 443 / 80 when the URL has none.
    pub port: u16,
    /// The path as written: empty or starting with `/`, possibly with trailing slashes.
    pub base_path: &'a str,
    /// What `host` is. TLS needs it: an IP literal is not sent as SNI and is verified against
    /// the certificate's IP addresses rather than its DNS names.
    pub host_kind: HostKind,
}

/// The form of [`Endpoint::host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A registered name (DNS name such as `i.honch.io` or `localhost`).
    Name,
    /// A dotted-quad IPv4 address.
    Ipv4,
    /// An IPv6 address (written in brackets in the URL and in `Host`).
    Ipv6,
}

/// Why an `endpoint_url` was refused. [`UrlError::message`] is a sentence for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://` or `https://` (any letter case).
    Scheme,
    /// A space, a control byte (≤ 0x20) or DEL (0x7f) somewhere in the URL.
    ForbiddenByte,
    /// A byte ≥ 0x80: the URL must be ASCII (punycode for names, percent-encoding in paths).
    NonAscii,
    /// `user@` or `user:password@` before the host.
    UserInfo,
    /// Nothing between `//` and the port or path.
    EmptyHost,
    /// Not a DNS name (letters, digits, `-`, `_`, dot-separated labels of 1-63 characters,
    /// at most 253 in all) nor a dotted-quad IPv4 address.
    InvalidHost,
    /// A bracketed host that is not a valid IPv6 address (zone ids are not supported).
    InvalidIpv6,
    /// A port that is empty, not decimal, 0 or above 65535.
    InvalidPort,
    /// A path byte that must be percent-encoded, or a bad percent escape.
    InvalidPath,
    /// A `?`: the capture path is fixed, a query would be dropped or misplaced.
    Query,
    /// A `#`.
    Fragment,
}

impl UrlError {
    /// A user-facing sentence (for `InvalidArgumentError`).
    pub const fn message(self) -> &'static str {
        match self {
            UrlError::Scheme => "endpoint_url must start with http:// or https://",
            UrlError::ForbiddenByte => "endpoint_url must not contain spaces or control characters",
            UrlError::NonAscii => {
                "endpoint_url must be ASCII (use punycode for host names and percent-encoding in paths)"
            }
            UrlError::UserInfo => "endpoint_url must not contain a user name or password",
            UrlError::EmptyHost => "endpoint_url has no host",
            UrlError::InvalidHost => "endpoint_url host is not a valid host name or IPv4 address",
            UrlError::InvalidIpv6 => "endpoint_url host is not a valid IPv6 address",
            UrlError::InvalidPort => "endpoint_url port must be a number from 1 to 65535",
            UrlError::InvalidPath => "endpoint_url path contains a character that must be percent-encoded",
            UrlError::Query => "endpoint_url must not contain a query ('?')",
            UrlError::Fragment => "endpoint_url must not contain a fragment ('#')",
        }
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The path segment every upload is posted to, appended to the endpoint's base path.
pub const CAPTURE_SUFFIX: &str = "/capture";

/// Longest DNS name we accept (RFC 1035, without the trailing dot).
const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

impl<'a> Endpoint<'a> {
    /// Parses `http://host[:port][/path]` or `https://...`.
    pub fn parse(url: &'a str) -> Result<Endpoint<'a>, UrlError> {
        // Whole-string checks first: they give the clearest message for a pasted URL with a
        // stray space or newline, and make every later slice index an ASCII boundary.
        for &b in url.as_bytes() {
            if b <= 0x20 || b == 0x7f {
                return Err(UrlError::ForbiddenByte);
            }
        }
        let (tls, rest) = split_scheme(url).ok_or(UrlError::Scheme)?;
        if !url.is_ascii() {
            return Err(UrlError::NonAscii);
        }
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        if rest.contains('?') {
            return Err(UrlError::Query);
        }
        let (authority, base_path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, host_kind, port_text) = split_authority(authority)?;
        let port = match port_text {
            None => default_port(tls),
            Some(text) => parse_port(text).ok_or(UrlError::InvalidPort)?,
        };
        check_path(base_path)?;
        Ok(Endpoint {
            tls,
            host,
            port,
            base_path,
            host_kind,
        })
    }

    /// 443 for https, 80 for http.
    pub const fn default_port(&self) -> u16 {
        default_port(self.tls)
    }

    /// The request target of every upload: the base path without trailing `/`, then
    /// `/capture` (`https://i.honch.io` → `/capture`, `http://h:8080/x/` → `/x/capture`).
    pub fn capture_path(&self) -> CapturePath<'a> {
        CapturePath {
            prefix: self.base_path.trim_end_matches('/'),
        }
    }

    /// The `Host` header value: the host (bracketed if IPv6), plus `:port` when the port is
    /// not the scheme's default.
    pub fn host_header(&self) -> HostHeader<'a> {
        HostHeader {
            host: self.host,
            ipv6: self.host_kind == HostKind::Ipv6,
            port: if self.port == self.default_port() {
                None
            } else {
                Some(self.port)
            },
        }
    }
}

/// See [`Endpoint::capture_path`]. `Display` writes it; [`CapturePath::prefix`] and
/// [`CAPTURE_SUFFIX`] give the two parts for writing into a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapturePath<'a> {
    prefix: &'a str,
}

impl<'a> CapturePath<'a> {
    /// The base path with trailing slashes removed (may be empty).
    pub const fn prefix(&self) -> &'a str {
        self.prefix
    }

    /// Length in bytes of the whole path.
    pub const fn len(&self) -> usize {
        self.prefix.len() + CAPTURE_SUFFIX.len()
    }

    /// Never true (the path always ends in `/capture`); here because clippy pairs it with `len`.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for CapturePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        f.write_str(CAPTURE_SUFFIX)
    }
}

/// See [`Endpoint::host_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostHeader<'a> {
    host: &'a str,
    ipv6: bool,
    port: Option<u16>,
}

impl HostHeader<'_> {
    /// Writes the value into `out`, returning the number of bytes, or `None` if it does not fit.
    pub fn write_to(&self, out: &mut [u8]) -> Option<usize> {
        let mut digits = [0u8; 5];
        let port = match self.port {
            Some(port) => decimal(u64::from(port), &mut digits),
            None => &[],
        };
        let parts: [&[u8]; 5] = [
            if self.ipv6 { b"[" } else { b"" },
            self.host.as_bytes(),
            if self.ipv6 { b"]" } else { b"" },
            if self.port.is_some() { b":" } else { b"" },
            port,
        ];
        let mut at = 0usize;
        for part in parts {
            let end = at.checked_add(part.len())?;
            out.get_mut(at..end)?.copy_from_slice(part);
            at = end;
        }
        Some(at)
    }
}

impl fmt::Display for HostHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ipv6 {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Formats `value` in decimal into `buf` (20 bytes hold any u64) and returns the digits.
pub(crate) fn decimal(mut value: u64, buf: &mut [u8]) -> &[u8] {
    let mut at = buf.len();
    while let Some(next) = at.checked_sub(1) {
        if let Some(slot) = buf.get_mut(next) {
            // `value % 10` < 10, so the cast cannot truncate.
            *slot = b'0' + (value % 10) as u8;
        }
        at = next;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or(&[])
}

const fn default_port(tls: bool) -> u16 {
    if tls {
        443
    } else {
        80
    }
}

fn split_scheme(url: &str) -> Option<(bool, &str)> {
    for (prefix, tls) in [("https://", true), ("http://", false)] {
        if let (Some(head), Some(rest)) = (url.get(..prefix.len()), url.get(prefix.len()..)) {
            if head.eq_ignore_ascii_case(prefix) {
                return Some((tls, rest));
            }
        }
    }
    None
}

/// Splits `host[:port]` or `[v6][:port]`; the port text is returned unparsed.
fn split_authority(authority: &str) -> Result<(&str, HostKind, Option<&str>), UrlError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let close = bracketed.find(']').ok_or(UrlError::InvalidIpv6)?;
        let host = bracketed.get(..close).unwrap_or("");
        let after = bracketed.get(close + 1..).unwrap_or("");
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':').ok_or(UrlError::InvalidIpv6)?)
        };
        if !is_ipv6(host.as_bytes()) {
            return Err(UrlError::InvalidIpv6);
        }
        return Ok((host, HostKind::Ipv6, port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    Ok((host, host_kind(host)?, port))
}

fn host_kind(host: &str) -> Result<HostKind, UrlError> {
    let last_label = host.rsplit('.').next().unwrap_or("");
    // A numeric last label means the resolver would read the host as an address (possibly in
    // a shorthand or octal form), so only the one unambiguous address form is let through.
    if !last_label.is_empty() && last_label.bytes().all(|b| b.is_ascii_digit()) {
        return if is_ipv4(host.as_bytes()) {
            Ok(HostKind::Ipv4)
        } else {
            Err(UrlError::InvalidHost)
        };
    }
    if host.len() > MAX_NAME_LEN {
        return Err(UrlError::InvalidHost);
    }
    for label in host.split('.') {
        let ok_chars = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if label.is_empty() || label.len() > MAX_LABEL_LEN || !ok_chars {
            return Err(UrlError::InvalidHost);
        }
    }
    Ok(HostKind::Name)
}

/// Four decimal octets 0-255 without leading zeros (which some resolvers read as octal).
fn is_ipv4(text: &[u8]) -> bool {
    let mut octets = 0;
    for part in text.split(|&b| b == b'.') {
        octets += 1;
        if octets > 4 || part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if part.len() > 1 && part.first() == Some(&b'0') {
            return false;
        }
        let value = part.iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        if value > 255 {
            return false;
        }
    }
    octets == 4
}

/// RFC 4291 text form: up to 8 groups of 1-4 hex digits, at most one `::`, optionally ending
/// in a dotted-quad IPv4 that stands for two groups.
fn is_ipv6(text: &[u8]) -> bool {
    let mut groups = 0usize;
    let mut elided = false;
    let mut rest = text;
    if let Some(after) = rest.strip_prefix(b"::") {
        elided = true;
        rest = after;
    }
    while !rest.is_empty() {
        let hex = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if rest.get(hex) == Some(&b'.') {
            // The IPv4 tail must be the last thing in the address.
            if !is_ipv4(rest) {
                return false;
            }
            groups += 2;
            break;
        }
        if hex == 0 || hex > 4 {
            return false;
        }
        groups += 1;
        rest = rest.get(hex..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix(b"::") {
            if elided {
                return false;
            }
            elided = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b":") {
            if after.is_empty() {
                return false;
            }
            rest = after;
        } else {
            return false;
        }
        if groups > 8 {
            return false;
        }
    }
    if elided {
        groups <= 7
    } else {
        groups == 8
    }
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = text.bytes().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(value).ok().filter(|&p| p != 0)
}

/// RFC 3986 path characters: unreserved, sub-delims, `:`, `@`, `/` and `%XX` escapes.
fn check_path(path: &str) -> Result<(), UrlError> {
    let mut bytes = path.bytes();
    while let Some(b) = bytes.next() {
        let ok = match b {
            b'%' => {
                let hi = bytes.next().is_some_and(|h| h.is_ascii_hexdigit());
                let lo = bytes.next().is_some_and(|l| l.is_ascii_hexdigit());
                hi && lo
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' => true,
            b';' | b'=' | b':' | b'@' | b'/' => true,
            _ => false,
        };
        if !ok {
            return Err(UrlError::InvalidPath);
        }
    }
    Ok(())
}
