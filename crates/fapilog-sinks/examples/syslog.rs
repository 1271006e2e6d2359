//! The syslog sink in a pipeline (written with the sink).

fn main() {}
