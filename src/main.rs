use clap::Parser;

fn main() -> std::process::ExitCode {
    return_large_allocations_to_the_system();
    let cli = portcullis::cli::Cli::parse();
    portcullis::cli::run(cli)
}

/// Memory blocks of 1 MiB and more (argon2 takes 19 MiB per password
/// check) are mapped for each use and given back when freed. By default
/// glibc raises this threshold after the first such block is freed and then
/// keeps freed blocks in its heaps: each password check left about 19 MiB
/// resident, so a burst of sign-ins grew the server by hundreds of MiB for
/// good.
#[allow(unsafe_code)] // the one call into libc: no safe wrapper exists
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
