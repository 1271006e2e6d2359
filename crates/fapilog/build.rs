//! Records the compiler's version for `diagnostics.rust` (the
//! `runtime_info` enricher).

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    if let Ok(out) = std::process::Command::new(rustc).arg("--version").output() {
        if let Ok(v) = String::from_utf8(out.stdout) {
            println!("cargo:rustc-env=FAPILOG_RUSTC_VERSION={}", v.trim());
        }
    }
}
