//! One module per page; the console's and the portal's pages sit beside
//! their frame (the parent route they render in, see [`crate::routes`]).

pub mod console;
pub mod home;
pub mod not_found;
pub mod portal;
pub mod set_password;
pub mod signin;
