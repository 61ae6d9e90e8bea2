//! `overunlearn`: the lab's command-line host. It translates flags into the core's configs and
//! prints the core's reports; the science lives in the library.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
