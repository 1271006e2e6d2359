//! Throughput of the otlp sink on loopback (written with the sink).

fn main() {}
