use clap::Parser;

/// mimalloc rather than glibc's malloc. Measured on registry GETs (issue
/// 13, five benchmark runs): 2–13 % less server CPU per request, for
/// vendors and customers alike.
/// It also gives back the memory of a password check: argon2 takes 19 MiB
/// per check, and glibc kept such blocks in its heaps once the first was
/// freed (a burst of sign-ins grew the server by hundreds of MiB for good,
/// until it was told to map them) — mimalloc maps blocks that large on
/// their own and unmaps them when freed (tests/hardening.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = portcullis::cli::Cli::parse();
    portcullis::cli::run(cli)
}
