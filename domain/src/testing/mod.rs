//! Test support shared by the store's contract tests and the server's
//! integration tests (`tests/common`, through the `testing` feature): a
//! throwaway PostgreSQL cluster per test binary. Not part of the product.

pub mod postgres;
