//! Numbered migrations. Append only: never edit a migration that has shipped.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the spine's tables.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    CREATE TABLE sensors (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        unit TEXT,
        labels TEXT,
        first_seen INTEGER,
        last_seen INTEGER,
        last_value REAL,
        last_quality INTEGER
    );
    -- Raw readings, append-only; pruned by age and size.
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        sensor INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        quality INTEGER NOT NULL
    );
    CREATE INDEX journal_ts ON journal(ts);
    -- One row per alert occurrence, updated when it resolves.
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        sensor TEXT NOT NULL,
        severity TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        value REAL,
        limit_value REAL,
        unit TEXT,
        fired_at INTEGER NOT NULL,
        message TEXT NOT NULL,
        resolved_at INTEGER,
        resolved_value REAL,
        resolve_message TEXT
    );
    CREATE INDEX alerts_fired ON alerts(fired_at);
    CREATE INDEX alerts_state ON alerts(state) WHERE state = 'firing';
    -- The lifecycle as a stream (firing, resolved), in commit order.
    CREATE TABLE alert_events (
        seq INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        state TEXT NOT NULL,
        ts INTEGER NOT NULL,
        value REAL,
        message TEXT NOT NULL
    );
    CREATE TABLE aggregates (
        sensor INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        count INTEGER NOT NULL,
        min REAL, max REAL, mean REAL, stddev REAL,
        p50 REAL, p95 REAL, p99 REAL,
        first_ts INTEGER, last_ts INTEGER,
        PRIMARY KEY (sensor, window_start)
    ) WITHOUT ROWID;
    CREATE INDEX aggregates_start ON aggregates(window_start);
    -- Payloads that were refused, kept (truncated) so an engineer can see why.
    CREATE TABLE rejected (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        source TEXT NOT NULL,
        topic TEXT NOT NULL,
        reason TEXT NOT NULL,
        payload BLOB
    );
    -- Ground truth of faults the simulator injected, to score detectors against.
    CREATE TABLE sim_faults (
        id INTEGER PRIMARY KEY,
        sensor TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL
    );
    "#,
    // 2: per-sink outboxes (store-and-forward).
    r#"
    CREATE TABLE outbox (
        sink TEXT NOT NULL,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        created INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (sink, seq)
    ) WITHOUT ROWID;
    CREATE INDEX outbox_kind ON outbox(sink, kind, seq);
    -- Survives an empty outbox: the next sequence number and lifetime totals.
    CREATE TABLE outbox_sinks (
        sink TEXT PRIMARY KEY,
        next_seq INTEGER NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        dropped_alerts INTEGER NOT NULL DEFAULT 0,
        dropped_aggregates INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    "#,
    // 3: local knowledge: documents split into chunks, and embedding vectors of
    // chunks and alerts (384 little-endian f32 per row).
    r#"
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        source TEXT NOT NULL,
        added INTEGER NOT NULL
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX chunks_document ON chunks(document, seq);
    CREATE TABLE vectors (
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (kind, ref)
    ) WITHOUT ROWID;
    "#,
    // 4: summaries of each sensor's aggregates over longer windows (an hour by
    // default), kept with their figures so search can return them after the
    // aggregates they came from are pruned (the text is made from the figures).
    r#"
    CREATE TABLE summaries (
        sensor TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        unit TEXT,
        count INTEGER NOT NULL,
        mean REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        alerts INTEGER NOT NULL,
        PRIMARY KEY (sensor, start_ms)
    ) WITHOUT ROWID;
    CREATE INDEX summaries_start ON summaries(start_ms);
    "#,
    // 5: outbox items a sink can never deliver (too large for the upstream, a
    // topic it refuses, a connection dropped every time it is sent), moved aside
    // so the queue behind them moves; kept until resent or dropped by the CLI.
    r#"
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        sink TEXT NOT NULL,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        created INTEGER NOT NULL,
        body TEXT NOT NULL,
        reason TEXT NOT NULL,
        moved INTEGER NOT NULL
    );
    CREATE INDEX dead_letters_sink ON dead_letters(sink, id);
    "#,
];

/// Brings the database to the newest schema; returns the version it is at.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len())
}
