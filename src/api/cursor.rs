//! Keyset paging for the list endpoints: a page is asked for with `limit` and
//! the previous page's `next`, passed back as `after`. A cursor names the last
//! row listed (a time and a key), so a page is as cheap deep in the list as at
//! its start, and rows that arrive meanwhile neither repeat nor shift the pages.

use super::ApiError;

/// The cursor of a row: its time in epoch ms and its key (alert id, sensor).
pub fn encode(ms: i64, key: &str) -> String {
    format!("{ms}:{key}")
}

/// Reads a cursor back; anything else is a 400 that says where cursors come from.
pub fn decode(cursor: &str) -> Result<(i64, String), ApiError> {
    cursor
        .split_once(':')
        .and_then(|(ms, key)| Some((ms.parse().ok()?, key.to_owned())))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "after: `{}` is not a cursor: pass the `next` of the page before",
                crate::untrusted::quote(cursor, &[], 80)
            ))
        })
}

/// `rows` fetched with one more than `limit`: the page, and the cursor of the
/// next one when there is more.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor);
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_made_up_one_is_refused() {
        assert_eq!(
            decode(&encode(-5, "a:b/c")).ok(),
            Some((-5, "a:b/c".into()))
        );
        let e = decode("yesterday\u{1b}")
            .err()
            .map(|e| e.1)
            .unwrap_or_default();
        assert!(
            e.contains("`yesterday\\u{1b}` is not a cursor: pass the `next`"),
            "{e}"
        );
        assert!(decode("12x:a").is_err());
        let (rows, next) = page(vec![1, 2, 3], 2, |r| r.to_string());
        assert_eq!((rows, next.as_deref()), (vec![1, 2], Some("2")));
        assert_eq!(page(vec![1, 2], 2, |r| r.to_string()), (vec![1, 2], None));
    }
}
