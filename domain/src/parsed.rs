//! What every parsed string type (`Email`, `Tag`, `Digest`, …) has besides
//! its own `parse`: the text back, serde's conversions and `Display`.

/// For a `struct $name(String)` with `fn parse(&str) -> Result<Self, $error>`:
/// `as_str`, `TryFrom<String>` (parses), `From<$name> for String` and
/// `Display` (the text).
macro_rules! parsed_string {
    ($name:ident, $error:ty) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
