//! `mk`: the MemoryKernel command-line interface (`cli.v1`). Every successful command prints
//! JSON with `contract_version: "cli.v1"`; errors are a JSON object on stderr with a contract
//! error code, exit code 2 for usage/validation errors and 1 for runtime failures.

fn main() {
    println!("mk: the command tree arrives with the API crate");
}
