//! The subject each line is published to: static, or with a `{level}`
//! placeholder rendered from the line's level.

use async_nats::Subject;
use fapilog::Level;

use crate::config::ConfigError;

/// The placeholder a subject template may hold once.
const LEVEL: &str = "{level}";

/// A validated subject template.
#[derive(Clone, Debug)]
pub(crate) struct SubjectTemplate {
    text: String,
    /// `(before, after)` around `{level}`, when the template has it.
    split: Option<(String, String)>,
    /// Rendered subjects by level, built as levels are met.
    cache: Vec<(Level, Subject)>,
}

impl SubjectTemplate {
    /// Parses `text`: dot-separated tokens, no whitespace, no empty token,
    /// no wildcard (`*`, `>`), at most one `{level}`.
    pub(crate) fn parse(text: &str) -> Result<SubjectTemplate, ConfigError> {
        let bad = |why: &str| ConfigError::invalid("subject", text, why);
        if text.matches(LEVEL).count() > 1 {
            return Err(bad("at most one {level} placeholder"));
        }
        // Check the template with the placeholder as an ordinary token.
        let probe = text.replace(LEVEL, "info");
        if probe.is_empty() {
            return Err(bad("a non-empty NATS subject such as logs.{level}"));
        }
        for token in probe.split('.') {
            if token.is_empty() {
                return Err(bad("dot-separated non-empty tokens"));
            }
            if token.contains(['*', '>']) {
                return Err(bad("a subject without wildcards (* or >) to publish to"));
            }
            if token
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
            {
                return Err(bad(
                    "no whitespace, control characters or braces besides {level}",
                ));
            }
        }
        let split = text
            .split_once(LEVEL)
            .map(|(a, b)| (a.to_owned(), b.to_owned()));
        Ok(SubjectTemplate {
            text: text.to_owned(),
            split,
            cache: Vec::new(),
        })
    }

    /// The template as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The subjects a stream must bind to take every line: `{level}`
    /// becomes `*`.
    pub(crate) fn stream_subject(&self) -> String {
        self.text.replace(LEVEL, "*")
    }

    /// The subject of a line at `level`.
    pub(crate) fn render(&mut self, level: Level) -> Subject {
        if let Some((_, s)) = self.cache.iter().find(|(l, _)| *l == level) {
            return s.clone();
        }
        let subject = match &self.split {
            None => Subject::from(self.text.as_str()),
            Some((before, after)) => {
                let name: String = level
                    .name()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                Subject::from(format!("{before}{name}{after}"))
            }
        };
        self.cache.push((level, subject.clone()));
        subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_and_level_subjects_render() {
        let mut s = SubjectTemplate::parse("app.logs").unwrap();
        assert_eq!(s.render(Level::ERROR).as_str(), "app.logs");
        let mut s = SubjectTemplate::parse("app.{level}.x").unwrap();
        assert_eq!(s.render(Level::WARNING).as_str(), "app.warning.x");
        assert_eq!(
            s.render(Level::custom(25, "NO TICE")).as_str(),
            "app.no_tice.x"
        );
        assert_eq!(s.stream_subject(), "app.*.x");
    }

    #[test]
    fn bad_subjects_are_refused_naming_the_value() {
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "a.*",
            "a.>",
            "a b",
            "{level}.{level}",
            "a.{x}",
        ] {
            let err = SubjectTemplate::parse(bad).unwrap_err().to_string();
            assert!(err.contains("subject"), "{bad:?}: {err}");
            assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
    }
}
