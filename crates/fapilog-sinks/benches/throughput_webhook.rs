//! Throughput of the webhook sink on loopback (written with the sink).

fn main() {}
