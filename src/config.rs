//! Client configuration: the constructor keywords of product.md §3, their defaults, clamps
//! and errors. The bindings look each keyword up with [`field`], convert the Python value to
//! the kind it names, and hand it to a [`ConfigBuilder`]; every rule lives here.

use alloc::boxed::Box;

use crate::status::{try_box_str, Error, Result};

pub const DEFAULT_ENDPOINT_URL: &str = "https://i.honch.io";
pub const DEFAULT_ENVIRONMENT: &str = "production";
/// `flush_min_interval_ms` value that disables spacing between uploads (as 0 does).
pub const FLUSH_MIN_INTERVAL_DISABLED_MS: u32 = 0xFFFF_FFFF;
/// `flush_min_interval_ms` when the keyword is absent or `None`.
pub const DEFAULT_FLUSH_MIN_INTERVAL_MS: u32 = 15_000;
pub const MAX_BATCH_SIZE: u32 = 50;
pub const MAX_TRANSPORT_TIMEOUT_MS: u32 = 10_000;

/// What a constructor keyword holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A `str` (or `None`).
    Text,
    /// An `int` (or `None`); `bool` is refused.
    Integer,
    /// The writable buffer that stores the queue.
    Buffer,
    /// A callable (or `None`).
    Callback,
    /// A hook of the pure-Python reference SDK that this SDK does not take.
    Unsupported,
    /// CA certificates: PEM text (`str` or bytes-like) or one DER certificate (bytes-like).
    Certificates,
    /// A `bool` (or `None` for the default).
    Flag,
}

/// Every keyword `Honch(...)` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    ApiKey,
    EndpointUrl,
    DeviceId,
    DeviceModel,
    FirmwareVersion,
    Environment,
    EventBuffer,
    BatchSize,
    MaxQueuedEvents,
    MaxEventBytes,
    TransportTimeoutMs,
    FlushIntervalSeconds,
    FlushMinIntervalMs,
    FlushEventThreshold,
    FlushRetryInitialMs,
    FlushRetryMaxMs,
    BatteryLowThreshold,
    ConnectivityCallback,
    Platform,
    Transport,
    BatteryCallback,
    AutoPropertiesCallback,
    CaCerts,
    VerifyTls,
}

impl Field {
    pub const ALL: [Field; 24] = [
        Field::ApiKey,
        Field::EndpointUrl,
        Field::DeviceId,
        Field::DeviceModel,
        Field::FirmwareVersion,
        Field::Environment,
        Field::EventBuffer,
        Field::BatchSize,
        Field::MaxQueuedEvents,
        Field::MaxEventBytes,
        Field::TransportTimeoutMs,
        Field::FlushIntervalSeconds,
        Field::FlushMinIntervalMs,
        Field::FlushEventThreshold,
        Field::FlushRetryInitialMs,
        Field::FlushRetryMaxMs,
        Field::BatteryLowThreshold,
        Field::ConnectivityCallback,
        Field::Platform,
        Field::Transport,
        Field::BatteryCallback,
        Field::AutoPropertiesCallback,
        Field::CaCerts,
        Field::VerifyTls,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Field::ApiKey => "api_key",
            Field::EndpointUrl => "endpoint_url",
            Field::DeviceId => "device_id",
            Field::DeviceModel => "device_model",
            Field::FirmwareVersion => "firmware_version",
            Field::Environment => "environment",
            Field::EventBuffer => "event_buffer",
            Field::BatchSize => "batch_size",
            Field::MaxQueuedEvents => "max_queued_events",
            Field::MaxEventBytes => "max_event_bytes",
            Field::TransportTimeoutMs => "transport_timeout_ms",
            Field::FlushIntervalSeconds => "flush_interval_seconds",
            Field::FlushMinIntervalMs => "flush_min_interval_ms",
            Field::FlushEventThreshold => "flush_event_threshold",
            Field::FlushRetryInitialMs => "flush_retry_initial_ms",
            Field::FlushRetryMaxMs => "flush_retry_max_ms",
            Field::BatteryLowThreshold => "battery_low_threshold",
            Field::ConnectivityCallback => "connectivity_callback",
            Field::Platform => "platform",
            Field::Transport => "transport",
            Field::BatteryCallback => "battery_callback",
            Field::AutoPropertiesCallback => "auto_properties_callback",
            Field::CaCerts => "ca_certs",
            Field::VerifyTls => "verify_tls",
        }
    }

    pub const fn kind(self) -> FieldKind {
        match self {
            Field::ApiKey
            | Field::EndpointUrl
            | Field::DeviceId
            | Field::DeviceModel
            | Field::FirmwareVersion
            | Field::Environment => FieldKind::Text,
            Field::EventBuffer => FieldKind::Buffer,
            Field::CaCerts => FieldKind::Certificates,
            Field::VerifyTls => FieldKind::Flag,
            Field::ConnectivityCallback => FieldKind::Callback,
            Field::Platform | Field::Transport | Field::BatteryCallback | Field::AutoPropertiesCallback => {
                FieldKind::Unsupported
            }
            _ => FieldKind::Integer,
        }
    }
}

/// The keyword named `name`, if `Honch(...)` takes it.
pub fn field(name: &str) -> Option<Field> {
    Field::ALL.into_iter().find(|f| f.name() == name)
}

/// Error for a keyword `Honch(...)` does not know.
pub const UNKNOWN_KEYWORD: Error = Error::invalid("unknown keyword argument");
/// Error for the reference SDK's Python hooks (`platform`, `transport`, ...).
pub const HOOKS_UNSUPPORTED: Error =
    Error::invalid("Python adapter hooks (platform, transport, battery_callback, auto_properties_callback) are not supported");

/// A validated configuration. Strings are owned (a few hundred bytes at most).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub api_key: Box<str>,
    pub endpoint_url: Box<str>,
    pub device_id: Box<str>,
    pub device_model: Box<str>,
    pub firmware_version: Box<str>,
    pub environment: Box<str>,
    pub batch_size: u32,
    pub max_queued_events: u32,
    pub max_event_bytes: u32,
    pub transport_timeout_ms: u32,
    pub flush_interval_seconds: u32,
    /// 0 when spacing is disabled (the keyword was 0 or `0xFFFFFFFF`).
    pub flush_min_interval_ms: u32,
    pub flush_event_threshold: u32,
    pub flush_retry_initial_ms: u32,
    pub flush_retry_max_ms: u32,
    pub battery_low_threshold: u32,
    /// Verify the server's certificate chain and name over HTTPS (`verify_tls`, default on).
    pub verify_tls: bool,
}

/// Collects keyword values, then applies defaults and checks in [`ConfigBuilder::finish`].
#[derive(Default)]
pub struct ConfigBuilder<'a> {
    text: [Option<&'a str>; 6],
    ints: [Option<i64>; 10],
    verify_tls: Option<bool>,
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn text_slot(field: Field) -> Option<usize> {
    Some(match field {
        Field::ApiKey => 0,
        Field::EndpointUrl => 1,
        Field::DeviceId => 2,
        Field::DeviceModel => 3,
        Field::FirmwareVersion => 4,
        Field::Environment => 5,
        _ => return None,
    })
}

fn int_slot(field: Field) -> Option<usize> {
    Some(match field {
        Field::BatchSize => 0,
        Field::MaxQueuedEvents => 1,
        Field::MaxEventBytes => 2,
        Field::TransportTimeoutMs => 3,
        Field::FlushIntervalSeconds => 4,
        Field::FlushMinIntervalMs => 5,
        Field::FlushEventThreshold => 6,
        Field::FlushRetryInitialMs => 7,
        Field::FlushRetryMaxMs => 8,
        Field::BatteryLowThreshold => 9,
        _ => return None,
    })
}

/// `"<field> must be ..."` messages, spelled out so they stay `&'static str`.
macro_rules! per_field {
    ($field:expr, $prefix:literal, $suffix:literal) => {
        match $field {
            Field::ApiKey => concat!($prefix, "api_key", $suffix),
            Field::EndpointUrl => concat!($prefix, "endpoint_url", $suffix),
            Field::DeviceId => concat!($prefix, "device_id", $suffix),
            Field::DeviceModel => concat!($prefix, "device_model", $suffix),
            Field::FirmwareVersion => concat!($prefix, "firmware_version", $suffix),
            Field::Environment => concat!($prefix, "environment", $suffix),
            Field::EventBuffer => concat!($prefix, "event_buffer", $suffix),
            Field::BatchSize => concat!($prefix, "batch_size", $suffix),
            Field::MaxQueuedEvents => concat!($prefix, "max_queued_events", $suffix),
            Field::MaxEventBytes => concat!($prefix, "max_event_bytes", $suffix),
            Field::TransportTimeoutMs => concat!($prefix, "transport_timeout_ms", $suffix),
            Field::FlushIntervalSeconds => concat!($prefix, "flush_interval_seconds", $suffix),
            Field::FlushMinIntervalMs => concat!($prefix, "flush_min_interval_ms", $suffix),
            Field::FlushEventThreshold => concat!($prefix, "flush_event_threshold", $suffix),
            Field::FlushRetryInitialMs => concat!($prefix, "flush_retry_initial_ms", $suffix),
            Field::FlushRetryMaxMs => concat!($prefix, "flush_retry_max_ms", $suffix),
            Field::BatteryLowThreshold => concat!($prefix, "battery_low_threshold", $suffix),
            Field::ConnectivityCallback => concat!($prefix, "connectivity_callback", $suffix),
            Field::Platform => concat!($prefix, "platform", $suffix),
            Field::Transport => concat!($prefix, "transport", $suffix),
            Field::BatteryCallback => concat!($prefix, "battery_callback", $suffix),
            Field::AutoPropertiesCallback => concat!($prefix, "auto_properties_callback", $suffix),
            Field::CaCerts => concat!($prefix, "ca_certs", $suffix),
            Field::VerifyTls => concat!($prefix, "verify_tls", $suffix),
        }
    };
}

/// `InvalidArgumentError` for a keyword whose Python value has the wrong type.
pub fn wrong_type(field: Field) -> Error {
    Error::invalid(match field.kind() {
        FieldKind::Text => per_field!(field, "", " must be a str"),
        FieldKind::Integer => per_field!(field, "", " must be an int"),
        FieldKind::Buffer => per_field!(field, "", " must be a writable buffer such as bytearray"),
        FieldKind::Callback => per_field!(field, "", " must be callable or None"),
        FieldKind::Unsupported => HOOKS_UNSUPPORTED.message,
        FieldKind::Certificates => per_field!(field, "", " must be PEM text or DER bytes of CA certificates"),
        FieldKind::Flag => per_field!(field, "", " must be True or False"),
    })
}

/// `InvalidArgumentError` for a required keyword that is missing or blank.
pub fn missing(field: Field) -> Error {
    Error::invalid(per_field!(field, "missing required config: ", ""))
}

fn not_positive(field: Field) -> Error {
    Error::invalid(per_field!(field, "", " must be positive"))
}

fn negative(field: Field) -> Error {
    Error::invalid(per_field!(field, "", " must not be negative"))
}

fn too_large(field: Field) -> Error {
    Error::invalid(per_field!(field, "", " is too large"))
}

/// `InvalidArgumentError` for a context string the wire cannot carry (product.md §4
/// decision 13): every message sends it, so no event could ever be delivered.
pub fn too_long_for_wire(field: Field) -> Error {
    Error::invalid(per_field!(
        field,
        "",
        " is longer than 512 UTF-8 bytes (the wire's per-string limit)"
    ))
}

/// Longest context string (device id, model, firmware version, environment) a message carries.
pub const MAX_CONTEXT_STRING_BYTES: usize = crate::wire::limits::MAX_STRING_BYTES;

impl<'a> ConfigBuilder<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a text keyword (`None` for Python `None`).
    pub fn set_text(&mut self, field: Field, value: Option<&'a str>) -> Result<()> {
        let slot = text_slot(field).ok_or_else(|| wrong_type(field))?;
        self.text[slot] = value;
        Ok(())
    }

    /// Records a flag keyword (`None` for Python `None`).
    pub fn set_flag(&mut self, field: Field, value: Option<bool>) -> Result<()> {
        match field {
            Field::VerifyTls => self.verify_tls = value,
            _ => return Err(wrong_type(field)),
        }
        Ok(())
    }

    /// Records an integer keyword (`None` for Python `None`).
    pub fn set_int(&mut self, field: Field, value: Option<i64>) -> Result<()> {
        let slot = int_slot(field).ok_or_else(|| wrong_type(field))?;
        self.ints[slot] = value;
        Ok(())
    }

    fn text(&self, field: Field) -> Option<&'a str> {
        text_slot(field).and_then(|i| self.text[i])
    }

    fn required(&self, field: Field) -> Result<Box<str>> {
        match self.text(field) {
            Some(s) if !is_blank(s) => try_box_str(s),
            _ => Err(missing(field)),
        }
    }

    fn or_default(&self, field: Field, default: &str) -> Result<Box<str>> {
        match self.text(field) {
            Some(s) if !is_blank(s) => try_box_str(s),
            _ => try_box_str(default),
        }
    }

    fn int(&self, field: Field) -> Option<i64> {
        int_slot(field).and_then(|i| self.ints[i])
    }

    /// A size or timeout: `None` means the default, anything below 1 is refused.
    fn positive(&self, field: Field, default: u32) -> Result<u32> {
        match self.int(field) {
            None => Ok(default),
            Some(v) if v <= 0 => Err(not_positive(field)),
            Some(v) => Ok(u32::try_from(v).unwrap_or(u32::MAX)),
        }
    }

    /// A tuning knob: `None` or 0 means the default, negative is refused.
    fn zero_is_default(&self, field: Field, default: u32) -> Result<u32> {
        match self.int(field) {
            None | Some(0) => Ok(default),
            Some(v) if v < 0 => Err(negative(field)),
            Some(v) => u32::try_from(v).map_err(|_| too_large(field)),
        }
    }

    /// Applies defaults, clamps and checks (product.md §3), in a stable order so that the
    /// first problem reported is predictable.
    pub fn finish(&self) -> Result<Config> {
        let api_key = self.required(Field::ApiKey)?;
        let device_id = self.required(Field::DeviceId)?;
        let device_model = self.required(Field::DeviceModel)?;
        let firmware_version = self.required(Field::FirmwareVersion)?;
        let endpoint_url = self.or_default(Field::EndpointUrl, DEFAULT_ENDPOINT_URL)?;
        let environment = self.or_default(Field::Environment, DEFAULT_ENVIRONMENT)?;
        for (field, value) in [
            (Field::DeviceId, &device_id),
            (Field::DeviceModel, &device_model),
            (Field::FirmwareVersion, &firmware_version),
            (Field::Environment, &environment),
        ] {
            if value.len() > MAX_CONTEXT_STRING_BYTES {
                return Err(too_long_for_wire(field));
            }
        }

        let batch_size = match self.int(Field::BatchSize) {
            Some(v) if v > 0 => (v.min(i64::from(MAX_BATCH_SIZE))) as u32,
            _ => 20,
        };
        let max_queued_events = self.positive(Field::MaxQueuedEvents, 1000)?;
        let max_event_bytes = self.positive(Field::MaxEventBytes, 8192)?;
        let transport_timeout_ms = self
            .positive(Field::TransportTimeoutMs, 8000)?
            .min(MAX_TRANSPORT_TIMEOUT_MS);
        let flush_interval_seconds = self.zero_is_default(Field::FlushIntervalSeconds, 120)?;
        // Unlike the other knobs, 0 is not "the default" here: it means what it says, no
        // spacing. 0xFFFFFFFF, the reference's "disabled", means the same.
        let flush_min_interval_ms = match self.int(Field::FlushMinIntervalMs) {
            None => DEFAULT_FLUSH_MIN_INTERVAL_MS,
            Some(v) if v < 0 => return Err(negative(Field::FlushMinIntervalMs)),
            Some(v) => match u32::try_from(v).map_err(|_| too_large(Field::FlushMinIntervalMs))? {
                FLUSH_MIN_INTERVAL_DISABLED_MS => 0,
                v => v,
            },
        };
        let flush_event_threshold = self.zero_is_default(Field::FlushEventThreshold, 20)?;
        let flush_retry_initial_ms = self.zero_is_default(Field::FlushRetryInitialMs, 1000)?;
        let flush_retry_max_ms = self
            .zero_is_default(Field::FlushRetryMaxMs, 300_000)?
            .max(flush_retry_initial_ms);
        let battery_low_threshold = self.zero_is_default(Field::BatteryLowThreshold, 15)?;

        Ok(Config {
            api_key,
            endpoint_url,
            device_id,
            device_model,
            firmware_version,
            environment,
            batch_size,
            max_queued_events,
            max_event_bytes,
            transport_timeout_ms,
            flush_interval_seconds,
            flush_min_interval_ms,
            flush_event_threshold,
            flush_retry_initial_ms,
            flush_retry_max_ms,
            battery_low_threshold,
            verify_tls: self.verify_tls.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigBuilder<'static> {
        let mut b = ConfigBuilder::new();
        b.set_text(Field::ApiKey, Some("k")).unwrap();
        b.set_text(Field::DeviceId, Some("dev")).unwrap();
        b.set_text(Field::DeviceModel, Some("m")).unwrap();
        b.set_text(Field::FirmwareVersion, Some("1.0")).unwrap();
        b
    }

    #[test]
    fn defaults() {
        let c = base().finish().unwrap();
        assert_eq!(&*c.endpoint_url, DEFAULT_ENDPOINT_URL);
        assert_eq!(&*c.environment, "production");
        assert_eq!(
            (c.batch_size, c.max_queued_events, c.max_event_bytes),
            (20, 1000, 8192)
        );
        assert_eq!((c.transport_timeout_ms, c.flush_interval_seconds), (8000, 120));
        assert_eq!((c.flush_min_interval_ms, c.flush_event_threshold), (15_000, 20));
        assert_eq!((c.flush_retry_initial_ms, c.flush_retry_max_ms), (1000, 300_000));
        assert_eq!(c.battery_low_threshold, 15);
    }

    #[test]
    fn required_fields_are_named() {
        for f in [
            Field::ApiKey,
            Field::DeviceId,
            Field::DeviceModel,
            Field::FirmwareVersion,
        ] {
            let mut b = base();
            b.set_text(f, Some(" \t")).unwrap();
            let e = b.finish().unwrap_err();
            assert!(e.message.ends_with(f.name()), "{}", e.message);
            assert!(e.message.starts_with("missing required config: "));
        }
    }

    #[test]
    fn clamps_and_errors() {
        let mut b = base();
        b.set_int(Field::BatchSize, Some(500)).unwrap();
        b.set_int(Field::TransportTimeoutMs, Some(60_000)).unwrap();
        b.set_int(Field::FlushMinIntervalMs, Some(0xFFFF_FFFF)).unwrap();
        b.set_int(Field::FlushRetryInitialMs, Some(5000)).unwrap();
        b.set_int(Field::FlushRetryMaxMs, Some(10)).unwrap();
        let c = b.finish().unwrap();
        assert_eq!(c.batch_size, 50);
        assert_eq!(c.transport_timeout_ms, 10_000);
        assert_eq!(c.flush_min_interval_ms, 0);
        assert_eq!(c.flush_retry_max_ms, 5000);
        for f in [
            Field::MaxQueuedEvents,
            Field::MaxEventBytes,
            Field::TransportTimeoutMs,
        ] {
            for v in [0, -1] {
                let mut b = base();
                b.set_int(f, Some(v)).unwrap();
                assert_eq!(b.finish().unwrap_err().message, not_positive(f).message);
            }
        }
        let mut b = base();
        b.set_int(Field::FlushMinIntervalMs, Some(1 << 40)).unwrap();
        assert!(b.finish().is_err());
    }

    #[test]
    fn flush_min_interval_zero_means_no_spacing() {
        for (value, expected) in [
            (None, Ok(15_000)),
            (Some(0), Ok(0)),
            (Some(1), Ok(1)),
            (Some(0xFFFF_FFFE), Ok(0xFFFF_FFFE)),
            (Some(0xFFFF_FFFF), Ok(0)),
            (Some(-1), Err(negative(Field::FlushMinIntervalMs))),
            (Some(1 << 32), Err(too_large(Field::FlushMinIntervalMs))),
        ] {
            let mut b = base();
            b.set_int(Field::FlushMinIntervalMs, value).unwrap();
            assert_eq!(b.finish().map(|c| c.flush_min_interval_ms), expected, "{value:?}");
        }
    }

    #[test]
    fn keyword_table() {
        assert_eq!(field("event_buffer"), Some(Field::EventBuffer));
        assert_eq!(field("nope"), None);
        assert_eq!(Field::Platform.kind(), FieldKind::Unsupported);
        assert_eq!(wrong_type(Field::BatchSize).message, "batch_size must be an int");
    }
}
