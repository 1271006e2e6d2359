//! Throughput of the loki sink on loopback (written with the sink).

fn main() {}
