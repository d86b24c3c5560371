//! The SSRF guard: before every request to an upstream, its host is
//! resolved and every address checked ([`domain::upstreams::check_address`]).
//! `oci-client` 0.18 builds its own `reqwest` client (no resolver or client
//! can be passed in), so the check runs right before each call rather than
//! inside the connector; any refused address refuses the host.

use super::error::{Kind, SyncError};
use domain::upstreams::{check_address, UpstreamUrl};

pub async fn check(url: &UpstreamUrl, allow_private: bool) -> Result<(), SyncError> {
    let registry = url.registry();
    let addrs: Vec<std::net::IpAddr> = match url.host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((url.host.as_str(), url.port_or_default()))
            .await
            .map_err(|_| {
                SyncError::new(
                    Kind::Unreachable,
                    format!("unreachable: the name {} does not resolve", url.host),
                )
            })?
            .map(|a| a.ip())
            .collect(),
    };
    for ip in addrs {
        if let Err(r) = check_address(ip, allow_private) {
            return Err(SyncError::new(
                Kind::Refused,
                format!("refused: {registry} is {r}, which this server does not connect to"),
            ));
        }
    }
    Ok(())
}
