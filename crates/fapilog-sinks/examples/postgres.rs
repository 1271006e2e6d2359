//! The postgres sink in a pipeline (written with the sink).

fn main() {}
