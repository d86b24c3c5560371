//! The first-run set-up code: when a fresh server listens on a non-loopback
//! address, whoever reaches it first creates the organization only with a
//! one-time code from the log (as Jenkins does).

use domain::ParseError;

/// A new one-time set-up code: 24 hex digits (96 random bits).
pub fn new_setup_code() -> String {
    let (token, _) = domain::token_cache::new_token();
    domain::token_cache::hash_token(&token)[..24].to_owned()
}

/// Whether `input` is the set-up code `expected` (compared as hashes, so
/// the time taken says nothing about how much of a guess was right).
pub fn check_setup_code(expected: &str, input: &str) -> Result<(), ParseError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ParseError(
            "Enter the set-up code from the server's log.".into(),
        ));
    }
    let hash = domain::token_cache::hash_token;
    if hash(&input.to_ascii_lowercase()) == hash(expected) {
        Ok(())
    } else {
        Err(ParseError(
            "That is not the set-up code. Copy it from the server's log.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_checked_without_case() {
        let code = new_setup_code();
        assert_eq!(code.len(), 24);
        assert!(check_setup_code(&code, &code.to_ascii_uppercase()).is_ok());
        assert!(check_setup_code(&code, "").is_err());
        assert!(check_setup_code(&code, "0").is_err());
    }
}
