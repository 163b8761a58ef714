//! Rules for the NetworkPolicy: client and DNS peers as Kubernetes writes them (label selectors
//! or an IP block), DNS ports, and the checks the API server makes on them
//! (`ValidateNetworkPolicyPeer`, `ValidateNetworkPolicyPort` and `ValidateLabelSelector` in
//! `pkg/apis/networking/validation` and `apimachinery/pkg/apis/meta/v1/validation`).

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Validator;
use super::names::{dns_1035_label, label_value, qualified_name};
use crate::model::{NetworkPolicySettings, defaults};
use crate::spec;

impl Validator {
    pub(super) fn network_policy(&mut self, policy: spec::NetworkPolicy) -> Option<NetworkPolicySettings> {
        if !policy.enabled.unwrap_or(false) {
            return None;
        }
        let clients = policy.clients.unwrap_or_default();
        self.peers("spec.networkPolicy.clients", &clients);
        if clients.is_empty() {
            self.note(
                "network-policy-no-clients",
                "spec.networkPolicy",
                "no clients are allowed: only the dnodes reach each other".into(),
                "list the clients as NetworkPolicy peers, e.g. `clients: [{podSelector: {matchLabels: {app: ingest}}}]`",
            );
        }
        let dns = policy.dns.unwrap_or_default();
        let dns_to = dns.to.unwrap_or_else(defaults::dns_peers);
        if dns_to.is_empty() {
            self.error(
                "network-policy-no-dns",
                "spec.networkPolicy.dns.to",
                "no DNS server is reachable: no dnode could resolve another's FQDN".into(),
                "leave spec.networkPolicy.dns.to out for the kube-dns pods, or name your DNS (e.g. `[{ipBlock: {cidr: 169.254.20.10/32}}]` for NodeLocal DNSCache)",
            );
        }
        self.peers("spec.networkPolicy.dns.to", &dns_to);
        let dns_ports = dns.ports.unwrap_or_else(defaults::dns_ports);
        for (i, port) in dns_ports.iter().enumerate() {
            self.policy_port(&format!("spec.networkPolicy.dns.ports[{i}]"), port);
        }
        Some(NetworkPolicySettings {
            clients,
            dns_to,
            dns_ports,
        })
    }

    pub(super) fn peers(&mut self, base: &str, peers: &[NetworkPolicyPeer]) {
        for (i, peer) in peers.iter().enumerate() {
            self.peer(&format!("{base}[{i}]"), peer);
        }
    }

    /// A peer selects pods (and their namespaces) or an IP block, never both, never nothing.
    fn peer(&mut self, path: &str, peer: &NetworkPolicyPeer) {
        let selects = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
        match (&peer.ip_block, selects) {
            (None, false) => self.error(
                "network-policy-peer",
                path,
                "the peer selects nothing".into(),
                "the API server requires podSelector, namespaceSelector or ipBlock; `podSelector: {}` is every pod of the namespace",
            ),
            (Some(_), true) => self.error(
                "network-policy-peer",
                path,
                "the peer has an ipBlock and a selector".into(),
                "the API server refuses ipBlock together with podSelector or namespaceSelector: make them two peers",
            ),
            (Some(block), false) => self.ip_block(&format!("{path}.ipBlock"), block),
            (None, true) => {}
        }
        if let Some(selector) = &peer.pod_selector {
            self.label_selector(&format!("{path}.podSelector"), selector);
        }
        if let Some(selector) = &peer.namespace_selector {
            self.label_selector(&format!("{path}.namespaceSelector"), selector);
        }
    }

    fn ip_block(&mut self, path: &str, block: &IPBlock) {
        let Some(outer) = Cidr::parse(&block.cidr) else {
            self.error(
                "invalid-cidr",
                &format!("{path}.cidr"),
                format!("`{}` is not a CIDR", block.cidr),
                "write it like `10.0.0.0/8` or `2001:db8::/32`",
            );
            return;
        };
        for (i, except) in block.except.iter().flatten().enumerate() {
            let within = Cidr::parse(except).map(|inner| outer.contains(&inner));
            if within != Some(true) {
                self.error(
                    "invalid-cidr",
                    &format!("{path}.except[{i}]"),
                    format!("`{except}` is not a CIDR inside {}", block.cidr),
                    "the API server requires every `except` to be a strict subset of `cidr`",
                );
            }
        }
    }

    /// `matchLabels` as label maps, `matchExpressions` with the operators' rules.
    fn label_selector(&mut self, path: &str, selector: &LabelSelector) {
        if let Some(labels) = &selector.match_labels {
            self.label_map(&format!("{path}.matchLabels"), labels.clone(), false);
        }
        for (i, expression) in selector.match_expressions.iter().flatten().enumerate() {
            let at = format!("{path}.matchExpressions[{i}]");
            if let Err(why) = qualified_name(&expression.key) {
                self.error(
                    "invalid-label-selector",
                    &format!("{at}.key"),
                    format!("`{}` is not a label key: {why}", expression.key),
                    "keys are `[prefix/]name`, as in matchLabels",
                );
            }
            let values = expression.values.as_deref().unwrap_or_default();
            let needs_values = match expression.operator.as_str() {
                "In" | "NotIn" => true,
                "Exists" | "DoesNotExist" => false,
                other => {
                    self.one_of(
                        &format!("{at}.operator"),
                        other,
                        &["In", "NotIn", "Exists", "DoesNotExist"],
                    );
                    continue;
                }
            };
            if needs_values == values.is_empty() {
                let (message, help) = if needs_values {
                    ("has no values", "In and NotIn need at least one value")
                } else {
                    ("has values", "Exists and DoesNotExist take no values")
                };
                self.error(
                    "invalid-label-selector",
                    &at,
                    format!("the `{}` expression {message}", expression.operator),
                    help,
                );
            }
            for (j, value) in values.iter().enumerate() {
                if let Err(why) = label_value(value) {
                    self.error(
                        "invalid-label-selector",
                        &format!("{at}.values[{j}]"),
                        format!("`{value}` is not a label value: {why}"),
                        "values are at most 63 letters, digits, `-`, `_`, `.`",
                    );
                }
            }
        }
    }

    /// A port by number (1..65535, with an optional `endPort` range) or by name, over TCP, UDP
    /// or SCTP.
    fn policy_port(&mut self, path: &str, port: &NetworkPolicyPort) {
        if let Some(protocol) = &port.protocol {
            self.one_of(&format!("{path}.protocol"), protocol, &["TCP", "UDP", "SCTP"]);
        }
        let number = match &port.port {
            Some(IntOrString::Int(n)) if (1..=65535).contains(n) => Some(*n),
            Some(IntOrString::Int(n)) => {
                self.error(
                    "invalid-port",
                    &format!("{path}.port"),
                    format!("{n} is not a port"),
                    "use 1 to 65535",
                );
                None
            }
            Some(IntOrString::String(name)) => {
                if dns_1035_label(name).is_err() || name.len() > 15 {
                    self.error(
                        "invalid-port",
                        &format!("{path}.port"),
                        format!("`{name}` is neither a port number nor a port name"),
                        "use a number, or a container port's name (at most 15 lowercase letters, digits and `-`)",
                    );
                }
                None
            }
            None => None,
        };
        if let Some(end) = port.end_port {
            match number {
                Some(start) if end >= start && end <= 65535 => {}
                _ => self.error(
                    "invalid-port",
                    &format!("{path}.endPort"),
                    format!("endPort {end} does not end a range of port numbers"),
                    "endPort needs a numeric port at most as large, and is at most 65535",
                ),
            }
        }
    }
}

/// Whether `text` is an IPv4 or IPv6 CIDR.
pub(super) fn is_cidr(text: &str) -> bool {
    Cidr::parse(text).is_some()
}

/// An address range: an address and a prefix length.
struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        let prefix: u8 = prefix.parse().ok()?;
        let address: IpAddr = address.parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { address, prefix })
    }

    /// Whether `inner` lies inside this range (and is not the whole of it).
    fn contains(&self, inner: &Cidr) -> bool {
        let same_family = self.address.is_ipv4() == inner.address.is_ipv4();
        let mask = match self.prefix {
            0 => 0,
            n => u128::MAX << (128 - u32::from(n)),
        };
        same_family && inner.prefix > self.prefix && inner.bits() & mask == self.bits() & mask
    }

    /// The address as the high bits of a 128-bit number (an IPv4 address in the top 32).
    fn bits(&self) -> u128 {
        match self.address {
            IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
            IpAddr::V6(v6) => u128::from(v6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn except_ranges_must_lie_inside_the_block() {
        let cidr = |t: &str| Cidr::parse(t).unwrap();
        assert!(cidr("10.0.0.0/8").contains(&cidr("10.1.0.0/16")));
        assert!(!cidr("10.0.0.0/8").contains(&cidr("11.1.0.0/16")));
        assert!(!cidr("10.0.0.0/8").contains(&cidr("10.0.0.0/8")), "a strict subset");
        assert!(cidr("0.0.0.0/0").contains(&cidr("169.254.20.10/32")));
        assert!(cidr("2001:db8::/32").contains(&cidr("2001:db8:1::/48")));
        assert!(!cidr("2001:db8::/32").contains(&cidr("10.0.0.0/8")));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("10.0.0.0").is_none());
    }
}
