//! `fapilog pretty` input: any bytes as a line, with and without filters,
//! render without panicking, as exactly one newline-terminated output line
//! or nothing.
#![no_main]

use fapilog_cli::pretty::{Filter, Renderer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = match data.iter().position(|b| *b == b'\n') {
        Some(i) => &data[..i],
        None => data,
    };
    let mut plain = Renderer::new(Filter::default(), true);
    let mut out = Vec::new();
    assert!(plain.line(line, &mut out));
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    assert!(out.ends_with(b"\n"));

    let mut f = Filter::default();
    f.min_level = Some(fapilog::Level::WARNING);
    f.loggers = vec!["app".to_owned()];
    f.wheres = vec![("data.user_id".to_owned(), "7".to_owned())];
    f.grep = Some("a".to_owned());
    let mut filtered = Renderer::new(f, false);
    out.clear();
    if filtered.line(line, &mut out) {
        assert!(out.ends_with(b"\n"));
    }
});
