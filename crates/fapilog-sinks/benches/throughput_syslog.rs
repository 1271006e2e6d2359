//! Throughput of the syslog sink on loopback (written with the sink).

fn main() {}
