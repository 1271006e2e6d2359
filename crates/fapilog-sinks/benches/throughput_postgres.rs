//! Throughput of the postgres sink on loopback (written with the sink).

fn main() {}
