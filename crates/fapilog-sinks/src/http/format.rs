//! How a batch becomes request bodies: the envelope lines exactly as the
//! batch holds them, framed as a JSON array, NDJSON or a wrapped array, and
//! split at the request's byte and event limits.

use fapilog::Batch;

use crate::adapter::{Encoded, Request};
use crate::http_client::Compression;

/// How the events of one request are framed. fapilog's default is
/// [`BatchFormat::Array`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchFormat {
    /// `[e1,e2,…]`, `Content-Type: application/json` (an array even for
    /// one event).
    #[default]
    Array,
    /// `e1\ne2\n…` with no trailing newline,
    /// `Content-Type: application/x-ndjson`.
    Ndjson,
    /// `{"<key>":[e1,e2,…]}`, `Content-Type: application/json`.
    Wrapped(String),
}

impl BatchFormat {
    /// `{"<key>":[…]}` (fapilog's `batch_wrapper_key`, default `logs`).
    pub fn wrapped(key: impl Into<String>) -> BatchFormat {
        BatchFormat::Wrapped(key.into())
    }

    /// The `Content-Type` of a body.
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            BatchFormat::Ndjson => "application/x-ndjson",
            BatchFormat::Array | BatchFormat::Wrapped(_) => "application/json",
        }
    }
}

/// The bytes around and between the lines of one body.
#[derive(Clone, Debug)]
pub(crate) struct Framing {
    open: Vec<u8>,
    separator: u8,
    close: Vec<u8>,
}

impl Framing {
    /// The framing of `format`; the wrapper key is JSON-escaped here, once.
    pub(crate) fn of(format: &BatchFormat) -> Framing {
        match format {
            BatchFormat::Array => Framing {
                open: b"[".to_vec(),
                separator: b',',
                close: b"]".to_vec(),
            },
            BatchFormat::Ndjson => Framing {
                open: Vec::new(),
                separator: b'\n',
                close: Vec::new(),
            },
            BatchFormat::Wrapped(key) => {
                let mut open = b"{".to_vec();
                // A string always serialises.
                open.extend_from_slice(serde_json::to_string(key).unwrap_or_default().as_bytes());
                open.extend_from_slice(b":[");
                Framing {
                    open,
                    separator: b',',
                    close: b"]}".to_vec(),
                }
            }
        }
    }

    /// The bytes a body adds around one line.
    pub(crate) fn overhead(&self) -> usize {
        self.open.len() + self.close.len()
    }
}

/// Limits of one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Uncompressed body bytes, framing included.
    pub(crate) max_bytes: usize,
    /// Events per body.
    pub(crate) max_events: usize,
}

/// Splits `batch` into bodies within `limits`, each framed and compressed
/// once; a line that cannot fit even alone is refused (never sent).
pub(crate) fn encode(
    batch: &Batch,
    framing: &Framing,
    limits: Limits,
    compression: Compression,
) -> Encoded<Vec<u8>> {
    let mut out = Encoded::new();
    let mut body: Vec<u8> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    let finish = |body: &mut Vec<u8>, lines: &mut Vec<usize>, out: &mut Encoded<Vec<u8>>| {
        if lines.is_empty() {
            return;
        }
        body.extend_from_slice(&framing.close);
        let bytes = compression.apply(std::mem::take(body));
        out.push(Request::new(bytes, std::mem::take(lines)));
    };
    for (i, line) in batch.lines().enumerate() {
        let len = line.bytes.len();
        if len + framing.overhead() > limits.max_bytes {
            out.reject(
                i,
                format!(
                    "an event of {len} bytes does not fit a request of max_bytes {}",
                    limits.max_bytes
                ),
            );
            continue;
        }
        if !lines.is_empty()
            && (lines.len() >= limits.max_events
                || body.len() + 1 + len + framing.close.len() > limits.max_bytes)
        {
            finish(&mut body, &mut lines, &mut out);
        }
        if lines.is_empty() {
            body.reserve(limits.max_bytes.min(batch.byte_len() + framing.overhead()));
            body.extend_from_slice(&framing.open);
        } else {
            body.push(framing.separator);
        }
        body.extend_from_slice(line.bytes);
        lines.push(i);
    }
    finish(&mut body, &mut lines, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Event, Format, Level};

    fn batch(messages: &[&str]) -> Batch {
        let mut b = Batch::new(Format::Json);
        for m in messages {
            b.push(&Event::new(Level::INFO, *m));
        }
        b
    }

    fn bodies(e: &Encoded<Vec<u8>>) -> Vec<String> {
        e.requests
            .iter()
            .map(|r| String::from_utf8(r.body.clone()).unwrap())
            .collect()
    }

    const WIDE: Limits = Limits {
        max_bytes: 1 << 20,
        max_events: 1000,
    };

    #[test]
    fn each_format_frames_the_lines_as_they_are() {
        let b = batch(&["a", "b"]);
        let lines: Vec<String> = b
            .lines()
            .map(|l| String::from_utf8(l.bytes.to_vec()).unwrap())
            .collect();
        let enc = |f: &BatchFormat| bodies(&encode(&b, &Framing::of(f), WIDE, Compression::None));
        assert_eq!(
            enc(&BatchFormat::Array),
            [format!("[{},{}]", lines[0], lines[1])]
        );
        assert_eq!(
            enc(&BatchFormat::Ndjson),
            [format!("{}\n{}", lines[0], lines[1])]
        );
        assert_eq!(
            enc(&BatchFormat::wrapped("lo\"gs")),
            [format!("{{\"lo\\\"gs\":[{},{}]}}", lines[0], lines[1])]
        );
        let one = batch(&["only"]);
        let body = bodies(&encode(
            &one,
            &Framing::of(&BatchFormat::Array),
            WIDE,
            Compression::None,
        ));
        assert!(
            body[0].starts_with("[{") && body[0].ends_with("}]"),
            "{body:?}"
        );
    }

    #[test]
    fn bodies_split_at_the_limits_and_an_oversize_line_is_refused() {
        let b = batch(&["a", "b", "c", "d", "e"]);
        let framing = Framing::of(&BatchFormat::Array);
        let by_count = encode(
            &b,
            &framing,
            Limits {
                max_bytes: 1 << 20,
                max_events: 2,
            },
            Compression::None,
        );
        let split: Vec<Vec<usize>> = by_count.requests.iter().map(|r| r.lines.clone()).collect();
        assert_eq!(split, [vec![0, 1], vec![2, 3], vec![4]]);

        let line = b.lines().next().unwrap().bytes.len();
        let limits = Limits {
            max_bytes: 2 * line + 3,
            max_events: 100,
        };
        let by_bytes = encode(&b, &framing, limits, Compression::None);
        for r in &by_bytes.requests {
            assert!(r.body.len() <= limits.max_bytes);
        }
        assert_eq!(
            by_bytes
                .requests
                .iter()
                .map(|r| r.lines.len())
                .sum::<usize>(),
            5
        );

        let mut big = batch(&["small"]);
        big.push(&Event::new(Level::INFO, "x".repeat(2000)));
        big.push(&Event::new(Level::INFO, "after"));
        let small = big.lines().next().unwrap().bytes.len();
        let max_bytes = 2 * small + 20;
        let enc = encode(
            &big,
            &framing,
            Limits {
                max_bytes,
                max_events: 10,
            },
            Compression::None,
        );
        assert_eq!(enc.rejected, [1]);
        assert!(enc
            .reason
            .unwrap()
            .contains(&format!("max_bytes {max_bytes}")));
        assert_eq!(enc.requests.len(), 1);
        assert_eq!(enc.requests[0].lines, [0, 2]);
    }
}
