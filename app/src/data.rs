//! Page data: [`Resource`]s with a JSON codec that reads from bytes, as
//! server functions read their responses.
//!
//! Pages are rendered on the server only (islands mode), so a page's
//! resource is resolved there and its value is not sent to the browser; a
//! resource made inside an island would be, and [`Json`] keeps its reader
//! the one its server functions already use (Leptos's default codec reads
//! with `serde_json::from_str`, a second copy of every type's
//! `Deserialize` in the bundle).

use crate::server_fns::AppError;
use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// JSON, read from bytes (see the module).
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A page's data, loaded on the server.
pub type Data<T> = Resource<T, Json>;

/// [`Resource::new`] with the [`Json`] codec.
#[track_caller]
pub fn load<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Data<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// [`load`] for a page about one thing named in its address: `source` is
/// `None` when the address names nothing valid, which is answered like a
/// thing that is not there ([`AppError::NotFound`]), without asking the
/// server.
#[track_caller]
pub fn load_by_id<I, T, Fut>(
    source: impl Fn() -> Option<I> + Send + Sync + 'static,
    fetcher: impl Fn(I) -> Fut + Send + Sync + 'static,
) -> Data<Result<T, AppError>>
where
    I: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    load(source, move |id| {
        let fetch = id.map(&fetcher);
        async move {
            match fetch {
                Some(fetch) => fetch.await,
                None => Err(AppError::NotFound),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_the_codec() {
        let value = vec![Some("a".to_owned()), None];
        let encoded = <Json as Encoder<Vec<Option<String>>>>::encode(&value).unwrap();
        assert_eq!(encoded, r#"["a",null]"#);
        let decoded: Vec<Option<String>> = <Json as Decoder<_>>::decode(&encoded).unwrap();
        assert_eq!(decoded, value);
        assert!(<Json as Decoder<Vec<u8>>>::decode("{").is_err());
    }
}
