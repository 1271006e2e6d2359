//! The RFC 5424 formatter and the RFC 6587 framing: one batch line in, one
//! framed syslog message out, appended to a request's bytes.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID k="v"…] MSG`:
//! the event's own time with microseconds, header fields already validated
//! by the builder, SD param values escaped, MSG cut at a UTF-8 boundary so
//! the whole message fits the maximum size, and an octet count that is the
//! exact length of what follows it.

use std::borrow::Cow;
use std::io::Write as _;
use std::time::SystemTime;

use fapilog::BatchLine;
use serde::Deserialize;

use super::options::{severity, Facility, Framing, MessageBody};

/// The fields of the envelope the formatter reads back (the batch line's
/// metadata has the level, time and message id already).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    log: LogFields<'a>,
}

#[derive(Deserialize)]
struct LogFields<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    logger: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    context: Option<ContextFields<'a>>,
}

#[derive(Deserialize)]
struct ContextFields<'a> {
    #[serde(borrow, default)]
    correlation_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    span_id: Option<Cow<'a, str>>,
}

/// Everything that shapes one message, fixed when the sink is built.
#[derive(Clone, Debug)]
pub(crate) struct Formatter {
    pub(crate) facility: Facility,
    /// Header fields, each valid (printable ASCII, within its cap) or `-`.
    pub(crate) hostname: String,
    pub(crate) app_name: String,
    pub(crate) procid: String,
    pub(crate) msg_id: String,
    /// `None`: no structured data (`-`).
    pub(crate) sd_id: Option<String>,
    pub(crate) body: MessageBody,
    /// Largest message in bytes, framing excluded.
    pub(crate) max_message: usize,
    /// `None` on UDP (a datagram is its own frame).
    pub(crate) framing: Option<Framing>,
}

impl Formatter {
    /// Appends `line` as one framed message to `out`; `scratch` is reused
    /// between calls. Fails (appending nothing) when even the header and
    /// structured data do not fit the maximum size.
    pub(crate) fn write(
        &self,
        line: &BatchLine<'_>,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), String> {
        let parsed = if self.sd_id.is_some() || self.body == MessageBody::Message {
            serde_json::from_slice::<Envelope<'_>>(line.bytes).ok()
        } else {
            None
        };
        let log = parsed.as_ref().map(|e| &e.log);

        let msg = scratch;
        msg.clear();
        let pri = u16::from(self.facility.code()) * 8 + u16::from(severity(line.level));
        // Writing into a Vec cannot fail.
        let _ = write!(msg, "<{pri}>1 ");
        write_timestamp(msg, line.time);
        for field in [&self.hostname, &self.app_name, &self.procid, &self.msg_id] {
            msg.push(b' ');
            msg.extend_from_slice(field.as_bytes());
        }
        msg.push(b' ');
        match &self.sd_id {
            None => msg.push(b'-'),
            Some(id) => {
                let _ = write!(msg, "[{id} message_id=\"{}\"", line.message_id);
                if let Some(logger) = log.and_then(|l| l.logger.as_deref()) {
                    write_param(msg, "logger", logger);
                }
                write_param(msg, "level", line.level.name());
                if let Some(ctx) = log.and_then(|l| l.context.as_ref()) {
                    for (name, value) in [
                        ("correlation_id", &ctx.correlation_id),
                        ("request_id", &ctx.request_id),
                        ("trace_id", &ctx.trace_id),
                        ("span_id", &ctx.span_id),
                    ] {
                        if let Some(v) = value.as_deref() {
                            write_param(msg, name, v);
                        }
                    }
                }
                msg.push(b']');
            }
        }
        let header_len = msg.len();
        if header_len + 1 > self.max_message {
            return Err(format!(
                "the syslog header and structured data take {header_len} bytes, more than the maximum message size of {}",
                self.max_message
            ));
        }
        let text: &[u8] = match (self.body, log.and_then(|l| l.message.as_deref())) {
            (MessageBody::Message, Some(m)) => m.as_bytes(),
            _ => line.bytes,
        };
        if !text.is_empty() {
            msg.push(b' ');
            if self.framing == Some(Framing::NonTransparent) {
                for &b in text {
                    match b {
                        b'\n' => msg.extend_from_slice(b"\\n"),
                        b => msg.push(b),
                    }
                }
            } else {
                msg.extend_from_slice(text);
            }
        }
        let len = utf8_floor(msg, self.max_message);
        match self.framing {
            None => out.extend_from_slice(&msg[..len]),
            Some(Framing::OctetCounting) => {
                let _ = write!(out, "{len} ");
                out.extend_from_slice(&msg[..len]);
            }
            Some(Framing::NonTransparent) => {
                out.extend_from_slice(&msg[..len]);
                out.push(b'\n');
            }
        }
        Ok(())
    }
}

/// ` name="value"` with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn write_param(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    for &b in value.as_bytes() {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The largest length `<= max` that does not split a UTF-8 character.
pub(crate) fn utf8_floor(bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    let mut end = max;
    // A continuation byte (0b10xx_xxxx) is never a character's first byte.
    while end > 0 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    end
}

/// `YYYY-MM-DDThh:mm:ss.uuuuuuZ` (RFC 3339, UTC, microseconds).
pub(crate) fn write_timestamp(out: &mut Vec<u8>, t: SystemTime) {
    let _ = write!(out, "{}", crate::civil::Rfc3339Micros(t));
}

/// `true` when `s` is a valid header field value: 1..=`max` printable
/// US-ASCII characters (33–126), RFC 5424 §6.
pub(crate) fn is_printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

/// `s` made into a header field: invalid characters become `_`, cut to
/// `max`; `-` (nil) when nothing is left.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if (33..=126).contains(&(c as u32)) {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect();
    if out.is_empty() {
        "-".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Batch, Event, Format, Level};
    use std::time::{Duration, UNIX_EPOCH};

    fn formatter(framing: Option<Framing>, max: usize) -> Formatter {
        Formatter {
            facility: Facility::Local3,
            hostname: "host1".into(),
            app_name: "app".into(),
            procid: "42".into(),
            msg_id: "-".into(),
            sd_id: Some("fapilog@32473".into()),
            body: MessageBody::Envelope,
            max_message: max,
            framing,
        }
    }

    fn one(event: &Event<'_>, f: &Formatter) -> Vec<u8> {
        let mut batch = Batch::new(Format::Json);
        batch.push(event);
        let line = batch.lines().next().unwrap();
        let mut out = Vec::new();
        f.write(&line, &mut out, &mut Vec::new()).unwrap();
        out
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let mut out = Vec::new();
        let t = UNIX_EPOCH + Duration::from_micros(1_709_251_199_123_456);
        write_timestamp(&mut out, t);
        assert_eq!(out, b"2024-02-29T23:59:59.123456Z");
        out.clear();
        write_timestamp(&mut out, UNIX_EPOCH);
        assert_eq!(out, b"1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn a_message_has_pri_header_sd_and_the_envelope() {
        let mut ev = Event::new(Level::ERROR, "boom \"quoted\" ]");
        ev.timestamp = UNIX_EPOCH + Duration::from_secs(86_400);
        let out = one(&ev, &formatter(None, 8192));
        let s = String::from_utf8(out).unwrap();
        // local3 (19) × 8 + error (3)
        let prefix =
            "<155>1 1970-01-02T00:00:00.000000Z host1 app 42 - [fapilog@32473 message_id=\"";
        assert!(s.starts_with(prefix), "{s}");
        assert!(s.contains(" level=\"ERROR\"]"), "{s}");
        let json = &s[s.find("] {").unwrap() + 2..];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["log"]["message"], "boom \"quoted\" ]");
    }

    #[test]
    fn param_values_escape_quote_backslash_and_bracket() {
        let mut out = Vec::new();
        write_param(&mut out, "logger", r#"a"b\c]d"#);
        assert_eq!(out, br#" logger="a\"b\\c\]d""#);
    }

    #[test]
    fn truncation_keeps_utf8_whole_and_the_octet_count_exact() {
        let long = "é".repeat(3000);
        let out = one(
            &Event::new(Level::INFO, long.as_str()),
            &formatter(Some(Framing::OctetCounting), 1001),
        );
        let sp = out.iter().position(|&b| b == b' ').unwrap();
        let count: usize = std::str::from_utf8(&out[..sp]).unwrap().parse().unwrap();
        let msg = &out[sp + 1..];
        assert_eq!(count, msg.len(), "the count is the bytes that follow");
        assert!((1000..=1001).contains(&count), "{count}");
        assert!(
            std::str::from_utf8(msg).is_ok(),
            "cut at a character boundary"
        );
    }

    #[test]
    fn lf_framing_escapes_embedded_line_feeds() {
        let mut f = formatter(Some(Framing::NonTransparent), 8192);
        f.body = MessageBody::Message;
        let out = one(&Event::new(Level::INFO, "one\ntwo"), &f);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(
            out.ends_with(b" one\\ntwo\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn a_header_larger_than_the_maximum_is_refused() {
        let mut batch = Batch::new(Format::Json);
        batch.push(&Event::new(Level::INFO, "x"));
        let line = batch.lines().next().unwrap();
        let mut out = Vec::new();
        let err = formatter(None, 60)
            .write(&line, &mut out, &mut Vec::new())
            .unwrap_err();
        assert!(err.contains("maximum message size of 60"), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn header_fields_are_validated_and_sanitized() {
        assert!(is_printable("my-app", 48));
        assert!(!is_printable("my app", 48));
        assert!(!is_printable("", 48));
        assert!(!is_printable(&"a".repeat(49), 48));
        assert_eq!(sanitize("my app\u{e9}", 5), "my_ap");
        assert_eq!(sanitize("", 5), "-");
    }
}
