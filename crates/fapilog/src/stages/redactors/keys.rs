//! Matching keys by name: exact names, name fragments and suffixes, dotted
//! paths with wildcards, and (for fapilog's `patterns`) regexes over the
//! dotted path. Names compare ASCII-case-insensitively with `-` equal to `_`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::user_regex::UserRegex;
use super::walk::{lower, Path};
use crate::error::Error;

/// Lowercases and maps `-` to `_`.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn norm_eq(key: &str, lit: &[u8]) -> bool {
    key.len() == lit.len()
        && key.bytes().zip(lit).all(|(k, l)| {
            let k = if k == b'-' {
                b'_'
            } else {
                k.to_ascii_lowercase()
            };
            k == *l
        })
}

#[derive(Debug)]
enum Seg {
    Lit(Box<[u8]>),
    Any,
}

#[derive(Debug)]
struct PathRule {
    segs: Vec<Seg>,
    anchored: bool,
}

impl PathRule {
    fn matches(&self, path: &Path<'_>) -> bool {
        if self.anchored && path.depth + 1 != self.segs.len() {
            return false;
        }
        let mut node = Some(path);
        for seg in self.segs.iter().rev() {
            let Some(p) = node else { return false };
            if let Seg::Lit(l) = seg {
                if !norm_eq(p.key, l) {
                    return false;
                }
            }
            node = p.parent;
        }
        true
    }
}

/// Substrings to find in short keys: a bitmap of the fragments' first two
/// bytes rules out most positions with one lookup, and only a hit compares.
#[derive(Debug)]
struct Fragments {
    bigrams: Box<[u64; 1024]>,
    singles: [bool; 256],
    list: Vec<Box<[u8]>>,
}

impl Fragments {
    fn new(frags: &[String]) -> Fragments {
        let mut f = Fragments {
            bigrams: Box::new([0; 1024]),
            singles: [false; 256],
            list: Vec::new(),
        };
        for x in frags {
            let b = x.as_bytes();
            match b {
                [] => continue,
                [one] => f.singles[*one as usize] = true,
                [a, c, ..] => {
                    let i = (usize::from(*a) << 8) | usize::from(*c);
                    f.bigrams[i / 64] |= 1 << (i % 64);
                }
            }
            f.list.push(b.to_vec().into_boxed_slice());
        }
        f
    }

    #[inline]
    fn found_in(&self, k: &[u8]) -> bool {
        for (i, &a) in k.iter().enumerate() {
            if self.singles[a as usize] {
                return true;
            }
            let Some(&c) = k.get(i + 1) else { break };
            let bg = (usize::from(a) << 8) | usize::from(c);
            if self.bigrams[bg / 64] & (1 << (bg % 64)) != 0
                && self
                    .list
                    .iter()
                    .any(|f| f.len() >= 2 && f[0] == a && f[1] == c && k[i..].starts_with(f))
            {
                return true;
            }
        }
        false
    }
}

/// Keys seen on this thread and whether they matched, per matcher: events
/// repeat their keys, so most lookups are one hash and one compare. The
/// entry holds the whole key (no hash-only decisions), and matcher ids are
/// never reused.
struct Slot {
    owner: u64,
    len: usize,
    key: [u8; 64],
    hit: bool,
}

const SLOTS: usize = 1024;

/// This thread's cache of key decisions (see [`Slot`]).
pub(crate) struct Seen(Vec<Slot>);

thread_local! {
    static SEEN: RefCell<Seen> = const { RefCell::new(Seen(Vec::new())) };
}

/// Runs `f` with this thread's key cache (taken once per event, not per key).
pub(crate) fn with_seen<R>(f: impl FnOnce(&mut Seen) -> R) -> R {
    SEEN.with(|s| match s.try_borrow_mut() {
        Ok(mut seen) => f(&mut seen),
        // Re-entered (a redactor inside a redactor): a private, empty cache.
        Err(_) => f(&mut Seen(Vec::new())),
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn load8(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|x| x.try_into().ok()).unwrap_or([0; 8]))
}

/// `a == b` for equal-length keys, without a library call for short ones.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = b.len();
    if a.len() != n {
        return false;
    }
    if n <= 16 {
        if n >= 8 {
            return load8(a) == load8(b) && load8(&a[n - 8..]) == load8(&b[n - 8..]);
        }
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

/// The slot of a key: its length and first and last eight bytes are enough
/// to spread keys (a collision only costs a lookup, never a wrong answer).
fn slot_of(owner: u64, b: &[u8]) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let (first, last) = if b.len() >= 8 {
        (load8(b), load8(&b[b.len() - 8..]))
    } else {
        (b.iter().fold(0u64, |x, &c| (x << 8) | u64::from(c)), 0)
    };
    let h = (owner ^ (b.len() as u64)).wrapping_mul(K) ^ first;
    let h = h.wrapping_mul(K) ^ last;
    (h.wrapping_mul(K) >> 40) as usize % SLOTS
}

/// A compiled set of key rules.
#[derive(Debug, Default)]
pub(crate) struct KeyMatcher {
    id: u64,
    by_len: Vec<Vec<Box<[u8]>>>,
    fragments: Option<Fragments>,
    min_fragment: usize,
    suffixes: Vec<Box<[u8]>>,
    paths: Vec<PathRule>,
    path_regex: Option<UserRegex>,
}

/// What a [`KeyMatcher`] is built from.
#[derive(Default)]
pub(crate) struct KeyRules<'a> {
    /// Names or dotted paths (`password`, `headers.authorization`, `*.token`, `items[*].pin`).
    pub(crate) fields: Vec<&'a str>,
    /// Substrings of a normalized key (`password` matches `db_password`).
    pub(crate) fragments: Vec<&'a str>,
    /// Endings of a normalized key (`token` matches `csrf_token`).
    pub(crate) suffixes: Vec<&'a str>,
    /// Regexes that must match the whole dotted path (fapilog's `patterns`).
    pub(crate) path_patterns: Vec<&'a str>,
    /// The setting these came from, for errors.
    pub(crate) key: &'a str,
}

const SECTIONS: [&str; 3] = ["data", "context", "diagnostics"];

impl KeyMatcher {
    pub(crate) fn new(rules: &KeyRules<'_>) -> Result<KeyMatcher, Error> {
        let mut m = KeyMatcher {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ..KeyMatcher::default()
        };
        for f in &rules.fields {
            let segs: Vec<Seg> = f
                .split('.')
                .map(|s| s.split('[').next().unwrap_or(""))
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if s == "*" {
                        Seg::Any
                    } else {
                        Seg::Lit(normalize(s).into_bytes().into_boxed_slice())
                    }
                })
                .collect();
            match segs.as_slice() {
                [] => {
                    return Err(Error::InvalidSetting {
                        key: rules.key.to_owned(),
                        value: (*f).to_owned(),
                        expected: "a field name or dotted path".to_owned(),
                    })
                }
                [Seg::Lit(name)] => m.add_name(name.clone()),
                _ => {
                    let anchored = matches!(&segs[0], Seg::Lit(l) if SECTIONS.iter().any(|s| s.as_bytes() == &**l));
                    m.paths.push(PathRule { segs, anchored });
                }
            }
        }
        let frags: Vec<String> = rules
            .fragments
            .iter()
            .map(|f| normalize(f))
            .filter(|f| !f.is_empty())
            .collect();
        if !frags.is_empty() {
            m.min_fragment = frags.iter().map(String::len).min().unwrap_or(0);
            m.fragments = Some(Fragments::new(&frags));
        }
        m.suffixes = rules
            .suffixes
            .iter()
            .map(|s| normalize(s).into_bytes().into_boxed_slice())
            .collect();
        if !rules.path_patterns.is_empty() {
            let joined = rules
                .path_patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            let re = UserRegex::new(&format!("^(?:{joined})$")).map_err(|expected| {
                Error::InvalidSetting {
                    key: rules.key.to_owned(),
                    value: rules.path_patterns.join(", "),
                    expected,
                }
            })?;
            m.path_regex = Some(re);
        }
        Ok(m)
    }

    fn add_name(&mut self, name: Box<[u8]>) {
        let len = name.len();
        if self.by_len.len() <= len {
            self.by_len.resize_with(len + 1, Vec::new);
        }
        if !self.by_len[len].contains(&name) {
            self.by_len[len].push(name);
        }
    }

    /// `true` when nothing is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_len.iter().all(Vec::is_empty)
            && self.fragments.is_none()
            && self.suffixes.is_empty()
            && self.paths.is_empty()
            && self.path_regex.is_none()
    }

    /// `true` when every rule is about the key alone (no paths, no regexes).
    pub(crate) fn by_key_only(&self) -> bool {
        self.paths.is_empty() && self.path_regex.is_none()
    }

    /// Whether the key alone matches (through this thread's cache).
    pub(crate) fn key_hit(&self, key: &str) -> bool {
        with_seen(|seen| self.key_matches_cached(key, seen))
    }

    /// Whether the key alone matches a name, fragment or suffix.
    fn key_matches(&self, key: &str) -> bool {
        let mut buf = [0u8; 64];
        if let Some(k) = lower(key, &mut buf) {
            for b in k.iter_mut() {
                if *b == b'-' {
                    *b = b'_';
                }
            }
            let k: &[u8] = k;
            if let Some(names) = self.by_len.get(k.len()) {
                // First and last bytes before the full compare: most keys fail there.
                if names
                    .iter()
                    .any(|n| n.first() == k.first() && n.last() == k.last() && **n == *k)
                {
                    return true;
                }
            }
            if k.len() >= self.min_fragment {
                if let Some(f) = &self.fragments {
                    if f.found_in(k) {
                        return true;
                    }
                }
            }
            if self
                .suffixes
                .iter()
                .any(|s| s.last() == k.last() && k.ends_with(s))
            {
                return true;
            }
        } else {
            // Longer than any name: fragments and suffixes still apply.
            let k = normalize(key);
            if let Some(f) = &self.fragments {
                if f.found_in(k.as_bytes()) {
                    return true;
                }
            }
            if self.suffixes.iter().any(|s| k.as_bytes().ends_with(s)) {
                return true;
            }
        }
        false
    }

    fn key_matches_cached(&self, key: &str, seen: &mut Seen) -> bool {
        let b = key.as_bytes();
        if b.len() > 64 || self.id == 0 {
            return self.key_matches(key);
        }
        let slots = &mut seen.0;
        if slots.is_empty() {
            slots.resize_with(SLOTS, || Slot {
                owner: 0,
                len: 0,
                key: [0; 64],
                hit: false,
            });
        }
        let slot = &mut slots[slot_of(self.id, b)];
        if slot.owner == self.id && slot.len == b.len() && same(&slot.key[..slot.len], b) {
            return slot.hit;
        }
        let hit = self.key_matches(key);
        slot.owner = self.id;
        slot.len = b.len();
        slot.key[..b.len()].copy_from_slice(b);
        slot.hit = hit;
        hit
    }

    /// Whether the key at `path` (its last step) matches.
    pub(crate) fn matches(&self, path: &Path<'_>, scratch: &mut String, seen: &mut Seen) -> bool {
        if self.key_matches_cached(path.key, seen) {
            return true;
        }
        if self.paths.iter().any(|r| r.matches(path)) {
            return true;
        }
        if let Some(re) = &self.path_regex {
            scratch.clear();
            path.write_dotted(scratch);
            return re.is_match(scratch);
        }
        false
    }
}
