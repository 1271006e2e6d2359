//! Throughput of the http sink on loopback (written with the sink).

fn main() {}
