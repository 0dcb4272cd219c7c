//! `lol-ocr`: the scoreboard reader as a command. `extract` reads one capture for a job input
//! and prints the output; `serve` answers the same question over HTTP for many callers.

mod extract;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "lol-ocr", version, about = "Reads a League of Legends post-game scoreboard screenshot")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the capture of a job input and print the output JSON.
    Extract(extract::ExtractArgs),
    /// Serve `POST /v1/extract` (multipart: the job input and the image) until SIGTERM.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Extract(args) => extract::run(&args),
        Command::Serve(args) => serve::run(args),
    }
}
