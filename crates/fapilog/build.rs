//! Records the compiler's version for `diagnostics.rust` (the
//! `runtime_info` enricher).
//!
//! The variable's name must not start with `FAPILOG_`: `cargo run` passes it
//! to the program, and the settings loader rejects unknown `FAPILOG_*` names.

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    if let Ok(out) = std::process::Command::new(rustc).arg("--version").output() {
        if let Ok(v) = String::from_utf8(out.stdout) {
            println!(
                "cargo:rustc-env=RUSTC_VERSION_OF_FAPILOG_BUILD={}",
                v.trim()
            );
        }
    }
}
