//! The client's address: the peer, or, when the peer is a trusted proxy,
//! the right-most untrusted address of `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use http::{Extensions, HeaderMap};

use crate::ConfigError;

/// An address block (`10.0.0.0/8`, `::1`, `fd00::/8`) of trusted proxies.
///
/// The block arithmetic is `ipnet`'s; this type adds what `ipnet` leaves to
/// the caller: a bare address is a one-address block, and IPv4-mapped IPv6
/// addresses count as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr(ipnet::IpNet);

impl Cidr {
    /// `true` when `ip` is in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Cidr, ConfigError> {
        let err = || ConfigError::InvalidProxy {
            value: s.to_owned(),
        };
        let s = s.trim();
        let net = match s.split_once('/') {
            Some((a, p)) => {
                let addr = IpAddr::from_str(a.trim()).map_err(|_| err())?;
                let prefix = p.trim().parse::<u8>().map_err(|_| err())?;
                match addr.to_canonical() {
                    // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
                    IpAddr::V4(v4) if addr.is_ipv6() => {
                        ipnet::IpNet::new(IpAddr::V4(v4), prefix.checked_sub(96).ok_or_else(err)?)
                    }
                    a => ipnet::IpNet::new(a, prefix),
                }
                .map_err(|_| err())?
            }
            None => ipnet::IpNet::from(IpAddr::from_str(s).map_err(|_| err())?.to_canonical()),
        };
        Ok(Cidr(net.trunc()))
    }
}

/// The peer's address, from what the server put in the request's extensions
/// (axum's `ConnectInfo<SocketAddr>`, or a plain `SocketAddr`).
pub(crate) fn peer(ext: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "connect-info")]
    if let Some(ci) = ext.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(ci.0.ip());
    }
    ext.get::<SocketAddr>().map(SocketAddr::ip)
}

/// The client address: the peer unless it is a trusted proxy, in which case
/// `X-Forwarded-For` is read from the right, skipping trusted hops.
pub(crate) fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops: Vec<&str> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else { return Some(peer) };
        hops.extend(v.split(',').map(str::trim));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            // A garbled hop ends what can be believed.
            return Some(client);
        };
        client = ip;
        if !is_trusted(ip) {
            return Some(ip);
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarded_for_only_through_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "6.6.6.6, 1.2.3.4".parse().unwrap());
        h.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        let trusted = cidrs(&["10.0.0.0/8"]);
        let peer = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            client_ip(&h, peer, &trusted),
            Some("1.2.3.4".parse().unwrap())
        );
        // An untrusted peer's header is ignored.
        let outsider = Some("5.5.5.5".parse().unwrap());
        assert_eq!(client_ip(&h, outsider, &trusted), outsider);
        // No trusted proxies configured: the header is never believed.
        assert_eq!(client_ip(&h, peer, &[]), peer);
        assert_eq!(client_ip(&h, None, &trusted), None);
        let mut garbled = HeaderMap::new();
        garbled.insert("x-forwarded-for", "1.2.3.4, junk".parse().unwrap());
        assert_eq!(client_ip(&garbled, peer, &trusted), peer);
    }
}
