//! Checks every sink shares whatever its kind: a name fit for dedup keys, its
//! route and outbox tables, the allow-list of hosts.

use super::kind::{Checks, SinkKind};
use crate::issues::Issues;

pub fn validate<K: SinkKind>(c: &K::Config, checks: &Checks, v: &mut Issues, key: &str) {
    let name = K::name(c);
    if name.contains([':', '/', ' ']) {
        v.push(
            format!("{key}.name"),
            format!("`{name}` may not contain `:`, `/` or spaces (it is part of every dedup key)"),
        );
    }
    K::route(c).validate(v, key);
    K::outbox(c).validate(v, key);
    K::validate(c, checks, v, key);
}

pub fn validate_allowed_hosts(v: &mut Issues, allowed: &[String]) {
    for (i, h) in allowed.iter().enumerate() {
        if let Err(e) = crate::allowed_hosts::pattern(h) {
            v.push(format!("sinks.allowed-hosts[{i}]"), e);
        }
    }
}
