//! Reading a recorded CSV for `edgewatch replay`: the shapes plant historians and
//! public benchmarks write, read without configuration.
//!
//! - wide: a time column and one column per sensor (`timestamp,value` of NAB,
//!   `datetime;Accelerometer1RMS;...;anomaly` of pump test rigs);
//! - long: `ts,sensor,value` rows (what `edgewatch simulate --csv` writes).
//!
//! The time column is the one named `ts`, `ts_ms`, `timestamp`, `time`, `datetime`
//! or `date` (else the first); times are epoch seconds or milliseconds, RFC 3339, or
//! civil `YYYY-MM-DD HH:MM:SS` in the site's time zone. A column named `label`,
//! `anomaly`, `is_anomaly` or `fault` (or `--label NAME`) is the ground truth: 0,
//! empty or `false` is normal, anything else anomalous. The delimiter is `,` or `;`,
//! whichever the header uses more.

use std::io::BufRead;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("the file is empty: a header line (e.g. `timestamp,value`) is needed")]
    Empty,
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One line of the file: its time, its sensors' values, its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ts_ms: i64,
    /// (index into [`CsvReader::sensors`], value); empty cells are left out.
    pub values: Vec<(usize, f64)>,
    pub label: Option<bool>,
}

enum Shape {
    /// Column index of each sensor.
    Wide(Vec<usize>),
    Long {
        sensor: usize,
        value: usize,
    },
}

pub struct CsvReader<R> {
    lines: std::io::Lines<R>,
    line: usize,
    delimiter: char,
    time: usize,
    label: Option<usize>,
    shape: Shape,
    sensors: Vec<Arc<str>>,
    /// Long files: the file's id of each sensor, to its index.
    index: rustc_hash::FxHashMap<String, usize>,
    prefix: String,
    tz: jiff::tz::TimeZone,
}

const TIME_NAMES: &[&str] = &["ts", "ts_ms", "timestamp", "time", "datetime", "date"];
const LABEL_NAMES: &[&str] = &["label", "anomaly", "is_anomaly", "fault"];
/// Columns benchmarks carry beside the label that are no sensor.
const IGNORED: &[&str] = &["changepoint"];

impl<R: BufRead> CsvReader<R> {
    /// Reads the header. Sensor ids are `prefix` + column name (wide) or
    /// `prefix` + the file's own id (long).
    pub fn new(
        input: R,
        prefix: &str,
        label: Option<&str>,
        tz: jiff::tz::TimeZone,
    ) -> Result<Self, CsvError> {
        let mut lines = input.lines();
        let header = lines.next().ok_or(CsvError::Empty)??;
        let header = header.trim_start_matches('\u{feff}');
        let delimiter = if header.matches(';').count() > header.matches(',').count() {
            ';'
        } else {
            ','
        };
        let names: Vec<String> = header.split(delimiter).map(clean).collect();
        let find = |wanted: &[&str]| {
            names
                .iter()
                .position(|n| wanted.iter().any(|w| n.eq_ignore_ascii_case(w)))
        };
        let time = find(TIME_NAMES).unwrap_or(0);
        let label = match label {
            Some(l) => Some(find(&[l]).ok_or_else(|| {
                CsvError::Header(format!(
                    "no column `{l}` in the header ({}): name the label column with --label",
                    names.join(", ")
                ))
            })?),
            None => find(LABEL_NAMES),
        };
        let (shape, sensors) = match (find(&["sensor"]), find(&["value"])) {
            (Some(sensor), Some(value)) => (Shape::Long { sensor, value }, Vec::new()),
            _ => {
                let columns: Vec<usize> = (0..names.len())
                    .filter(|&i| i != time && Some(i) != label)
                    .filter(|&i| !IGNORED.iter().any(|x| names[i].eq_ignore_ascii_case(x)))
                    .collect();
                if columns.is_empty() {
                    return Err(CsvError::Header(format!(
                        "the header `{header}` has a time column but no value column"
                    )));
                }
                let ids = columns
                    .iter()
                    .map(|&i| Arc::from(format!("{prefix}{}", names[i]).as_str()))
                    .collect();
                (Shape::Wide(columns), ids)
            }
        };
        Ok(CsvReader {
            lines,
            line: 1,
            delimiter,
            time,
            label,
            shape,
            sensors,
            index: Default::default(),
            prefix: prefix.to_owned(),
            tz,
        })
    }

    /// Sensor ids seen so far (all of them for a wide file).
    pub fn sensors(&self) -> &[Arc<str>] {
        &self.sensors
    }

    /// The next row; blank lines are skipped.
    pub fn next_row(&mut self) -> Result<Option<Row>, CsvError> {
        loop {
            let Some(text) = self.lines.next() else {
                return Ok(None);
            };
            let text = text?;
            self.line += 1;
            if text.trim().is_empty() {
                continue;
            }
            return self.parse(&text).map(Some);
        }
    }

    fn parse(&mut self, text: &str) -> Result<Row, CsvError> {
        let line = self.line;
        let fail = |message: String| CsvError::Line { line, message };
        let cells: Vec<String> = text.split(self.delimiter).map(clean).collect();
        let cell = |i: usize| cells.get(i).map_or("", String::as_str);
        let ts_ms = parse_time(cell(self.time), &self.tz).map_err(fail)?;
        let label = self.label.map(|i| is_anomalous(cell(i)));
        let mut values = Vec::new();
        match &self.shape {
            Shape::Wide(columns) => {
                for (s, &i) in columns.iter().enumerate() {
                    if let Some(v) = number(cell(i), i).map_err(fail)? {
                        values.push((s, v));
                    }
                }
            }
            Shape::Long { sensor, value } => {
                let id = cell(*sensor);
                if id.is_empty() {
                    return Err(fail("the sensor cell is empty".to_owned()));
                }
                if let Some(v) = number(cell(*value), *value).map_err(fail)? {
                    let s = match self.index.get(id) {
                        Some(&s) => s,
                        None => {
                            self.sensors
                                .push(format!("{}{id}", self.prefix).as_str().into());
                            self.index.insert(id.to_owned(), self.sensors.len() - 1);
                            self.sensors.len() - 1
                        }
                    };
                    values.push((s, v));
                }
            }
        }
        Ok(Row {
            ts_ms,
            values,
            label,
        })
    }
}

fn clean(cell: &str) -> String {
    cell.trim().trim_matches('"').trim().to_owned()
}

fn number(cell: &str, column: usize) -> Result<Option<f64>, String> {
    if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!(
            "column {}: `{}` is not a number",
            column + 1,
            crate::untrusted::quote(cell, &[], 64)
        )),
    }
}

fn is_anomalous(cell: &str) -> bool {
    !(cell.is_empty()
        || cell.eq_ignore_ascii_case("false")
        || cell.parse::<f64>().is_ok_and(|v| v == 0.0))
}

/// Epoch seconds or milliseconds (numbers from 1e11 on are milliseconds), RFC
/// 3339, or a civil date-time in `tz`.
pub fn parse_time(cell: &str, tz: &jiff::tz::TimeZone) -> Result<i64, String> {
    if let Ok(n) = cell.parse::<f64>() {
        let ms = if n.abs() >= 1e11 { n } else { n * 1000.0 };
        // Within the years -9999..=9999, as every other time of the store.
        return jiff::Timestamp::from_millisecond(ms.round() as i64)
            .ok()
            .filter(|_| ms.is_finite())
            .map(|t| t.as_millisecond())
            .ok_or_else(|| {
                format!(
                    "`{}` is out of range for a time (epoch seconds or milliseconds)",
                    crate::untrusted::quote(cell, &[], 64)
                )
            });
    }
    if let Ok(t) = cell.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    cell.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| tz.to_timestamp(dt).ok())
        .map(|t| t.as_millisecond())
        .ok_or_else(|| {
            format!(
                "`{}` is not a time: write epoch seconds or milliseconds, RFC 3339, \
                 or YYYY-MM-DD HH:MM:SS",
                crate::untrusted::quote(cell, &[], 64)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Arc<str>>, Vec<Row>) {
        let mut r =
            CsvReader::new(text.as_bytes(), "p/", None, jiff::tz::TimeZone::UTC).expect("header");
        let mut rows = Vec::new();
        while let Some(row) = r.next_row().expect("row") {
            rows.push(row);
        }
        (r.sensors().to_vec(), rows)
    }

    #[test]
    fn reads_nab_style_wide_files_with_civil_times() {
        let (sensors, rows) =
            read("timestamp,value\n2014-04-01 00:05:00,1.5\n\n2014-04-01 00:10:00,\n");
        assert_eq!(sensors, vec![Arc::from("p/value")]);
        assert_eq!(rows[0].ts_ms, 1_396_310_700_000);
        assert_eq!(rows[0].values, vec![(0, 1.5)]);
        assert!(rows[1].values.is_empty(), "an empty cell is no reading");
        assert_eq!(rows[0].label, None);
    }

    #[test]
    fn reads_semicolon_files_with_a_label_and_ignores_changepoints() {
        let (sensors, rows) =
            read("datetime;A;B;anomaly;changepoint\n2020-03-09 10:14:33;0.02;1.1;1.0;0.0\n");
        assert_eq!(sensors, vec![Arc::from("p/A"), Arc::from("p/B")]);
        assert_eq!(rows[0].values, vec![(0, 0.02), (1, 1.1)]);
        assert_eq!(rows[0].label, Some(true));
    }

    #[test]
    fn reads_long_files_and_epoch_times() {
        let (sensors, rows) =
            read("ts_ms,sensor,value,fault\n1700000000000,a/t,3,\n1700000001,b/t,4,bearing\n1700000002,a/t,5,\n");
        assert_eq!(sensors, vec![Arc::from("p/a/t"), Arc::from("p/b/t")]);
        assert_eq!(
            rows[2].values,
            vec![(0, 5.0)],
            "a sensor seen again keeps its index"
        );
        assert_eq!(rows[1].ts_ms, 1_700_000_001_000, "seconds");
        assert_eq!(rows[1].label, Some(true), "a fault name is a label");
        assert_eq!(rows[0].label, Some(false));
    }

    #[test]
    fn a_bad_cell_names_its_line_and_column() {
        let mut r = CsvReader::new(
            "t,v\n1,2\n2,x\n".as_bytes(),
            "",
            None,
            jiff::tz::TimeZone::UTC,
        )
        .unwrap();
        assert!(r.next_row().unwrap().is_some());
        let e = r.next_row().unwrap_err().to_string();
        assert_eq!(e, "line 3: column 2: `x` is not a number");
        let e = CsvReader::new("t,v\n".as_bytes(), "", Some("y"), jiff::tz::TimeZone::UTC)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("--label")));
        let tz = jiff::tz::TimeZone::UTC;
        assert!(parse_time("1e300", &tz).is_err_and(|e| e.contains("out of range")));
        assert!(parse_time("inf", &tz).is_err());
    }
}
