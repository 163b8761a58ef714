//! The `tdgen` command: a thin layer from arguments to library calls and exit codes.

#![forbid(unsafe_code)]

mod cli;
mod fleet;
mod integrations;
mod output;

fn main() -> std::process::ExitCode {
    cli::main()
}
