//! `make bench`: the performance report. Placeholder until the speed comparison lands.
fn main() {}
