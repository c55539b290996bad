//! `memory-kernel-service`: the MemoryKernel HTTP service, producer of the `service.v3`
//! contract. It binds 127.0.0.1 by default and serves the application API over JSON envelopes.

fn main() {
    println!("memory-kernel-service: the HTTP surface arrives with the service issue");
}
