//! The TOML configuration parser: any text either loads into valid settings
//! or fails with an error; it never panics, and an error never shows a
//! password that was in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = fapilog::settings::Loader::new()
        .toml_str("fuzz.toml", text)
        .env_vars(Vec::<(String, String)>::new())
        .load();
    match result {
        Ok(settings) => {
            // What loads is valid, and prints.
            assert!(settings.validate().is_ok());
            let _ = settings.effective();
        }
        Err(e) => {
            let shown = e.to_string();
            if text.contains("://fuzzuser:fuzzsecret@") {
                assert!(!shown.contains("fuzzsecret"), "{shown}");
            }
        }
    }
});
