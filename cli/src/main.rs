//! The `tdgen` command: a thin layer from arguments to library calls and exit codes.

#![forbid(unsafe_code)]

mod args;
mod commands;
mod fleet;
mod integrations;
mod interrupt;
mod output;

fn main() -> std::process::ExitCode {
    commands::main()
}
