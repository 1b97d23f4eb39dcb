//! The files a config names (secrets, CA bundles, client certificates and keys),
//! opened the way `run` opens them, so check-config refuses a config `run` would
//! exit on, and `run` refuses it as a config error (exit 78, which systemd does
//! not retry) instead of failing later with a generic one.

use super::{Config, ConfigIssue};
use crate::issues::Issues;

/// Every named file that is missing, unreadable, empty or not what it should be.
pub(super) fn check(c: &Config) -> Vec<ConfigIssue> {
    let mut v = Issues::default();
    if let Some(f) = &c.api.token_file {
        v.secret_file("api.token-file".into(), f);
    }
    c.sources.check_files(&mut v);
    c.sinks.check_files(&mut v);
    v.into_vec().into_iter().map(ConfigIssue::from).collect()
}
