//! Throughput of the nats sink on loopback (written with the sink).

fn main() {}
