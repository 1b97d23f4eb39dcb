//! The allow-list of hosts edgewatch may send HTTP requests to
//! (`sinks.allowed-hosts`): glob patterns matched case-insensitively against a
//! URL's host, brackets of IPv6 literals ignored.

/// A compiled pattern, or why it is not one.
pub fn pattern(p: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(&p.to_ascii_lowercase())
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{p}` is not a host pattern: {e}"))
}

/// Whether a URL host is covered by the list.
pub fn allows(allowed: &[String], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.to_ascii_lowercase();
    allowed
        .iter()
        .filter_map(|p| pattern(p.trim_start_matches('[').trim_end_matches(']')).ok())
        .any(|g| g.is_match(&host))
}
