//! Page data: [`Resource`]s whose server-rendered value is decoded in the
//! browser by the same JSON reader as a server function's response.
//!
//! Leptos's default resource codec reads its hydration data with
//! `serde_json::from_str`, server functions read their responses with
//! `serde_json::from_slice`: two readers, so the bundle held two copies of
//! every page type's `Deserialize` (measured: 66 JSON struct readers, most
//! in pairs). [`Json`] reads from bytes too, so each type is read one way.

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

/// A page's data, loaded on the server and hydrated in the browser.
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
