//! The environment-variable parser: `NAME=value` lines, as a process would
//! see them, either load or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        // FAPILOG_CONFIG would read a file named by the input.
        .filter(|(k, _)| !k.eq_ignore_ascii_case("FAPILOG_CONFIG"))
        .map(|(k, v)| (format!("FAPILOG_{k}"), v.to_owned()))
        .collect();
    if let Ok(s) = fapilog::Settings::from_env_vars(vars) {
        assert!(s.validate().is_ok());
    }
});
