//! Your own regexes (`field_mask.patterns`, `regex_mask.value_patterns`):
//! the `regex` crate behind the `regex` cargo feature. Without it, a
//! configuration that uses them fails to build with an error naming the
//! setting; the built-in redaction (presets, value kinds, URL credentials)
//! needs no regex at all.

/// A compiled user regex.
#[derive(Debug)]
pub(crate) struct UserRegex {
    #[cfg(feature = "regex")]
    re: regex::Regex,
    #[cfg(not(feature = "regex"))]
    _never: std::convert::Infallible,
}

impl UserRegex {
    /// Compiles `pattern`; the error says why it cannot be used.
    pub(crate) fn new(pattern: &str) -> Result<UserRegex, String> {
        #[cfg(feature = "regex")]
        {
            regex::Regex::new(pattern)
                .map(|re| UserRegex { re })
                .map_err(|e| format!("valid regular expressions ({e})"))
        }
        #[cfg(not(feature = "regex"))]
        {
            let _ = pattern;
            Err("regular expressions, which need fapilog's `regex` cargo feature".to_owned())
        }
    }

    /// `true` when the regex matches somewhere in `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        #[cfg(feature = "regex")]
        {
            self.re.is_match(s)
        }
        #[cfg(not(feature = "regex"))]
        {
            let _ = s;
            match self._never {}
        }
    }

    /// Replaces every match with `mask`; `None` when nothing matched.
    pub(crate) fn mask_all(&self, s: &str, mask: &str, n: &mut u64) -> Option<String> {
        #[cfg(feature = "regex")]
        {
            let mut hits = 0u64;
            let out = self.re.replace_all(s, |_: &regex::Captures<'_>| {
                hits += 1;
                mask.to_owned()
            });
            *n += hits;
            (hits > 0).then(|| out.into_owned())
        }
        #[cfg(not(feature = "regex"))]
        {
            let _ = (s, mask, n);
            match self._never {}
        }
    }
}
