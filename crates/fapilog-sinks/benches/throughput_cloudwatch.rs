//! Throughput of the cloudwatch sink on loopback (written with the sink).

fn main() {}
