//! Modbus TCP and RTU sources (tokio-modbus). One source is one connection: a TCP
//! socket or a serial bus. Its devices (unit ids) are polled by one scheduler, one
//! request at a time, each on its own interval, earliest due first; a device that
//! stops answering is marked down and retried on a jittered exponential backoff,
//! so a dead slave costs the bus one timeout per backoff period and never shifts
//! the others' schedules by more than that.
//!
//! Each device also reports `{source}/{device}/up` (1 or 0), so a rule such as
//! `below = 0.5` on `*/*/up` raises and clears a device-down alert through the
//! normal alert lifecycle. A Modbus exception (illegal address, busy, gateway
//! target failed ...) yields bad-quality readings for the points of that request
//! and is counted per code; a transport error reconnects with backoff.

pub mod decode;
pub mod plan;
pub mod schedule;
mod settings;

pub use settings::*;

use super::kind::{self, SourceKind};
use super::{IngestBatch, IngestTx, SourceError};
use crate::backoff::Backoff;
use crate::event::{now_ms, Labels, Quality, Reading};
use crate::internal_events::{
    emit, Connection, ConnectionLost, DeviceAnswered, DeviceDown, ShortReply,
};
use crate::issues::Issues;
use crate::metrics::{DeviceMetrics, SourceMetrics};
use decode::{DataType, Order, Table};
use plan::{ReadRequest, Span};
use schedule::{Effect, Next, Outcome, Schedule};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::slave::{Slave, SlaveContext};
use tokio_util::sync::CancellationToken;

struct Point {
    sensor: Arc<str>,
    address: u16,
    ty: DataType,
    order: Order,
    bit: u8,
    scale: f64,
    offset: f64,
    unit: Option<Arc<str>>,
    labels: Labels,
}

struct Device {
    unit: u8,
    reads: Vec<ReadRequest>,
    points: Vec<Point>,
    up_sensor: Arc<str>,
    labels: Labels,
    metrics: Arc<DeviceMetrics>,
}

enum Link {
    Tcp(String),
    Serial {
        path: String,
        baud: u32,
        parity: Parity,
        data_bits: u8,
        stop_bits: u8,
    },
}

pub struct ModbusSource {
    name: Arc<str>,
    link: Link,
    devices: Vec<Device>,
    timeout: Duration,
    retries: u32,
    delay: Duration,
    schedule: Schedule,
    metrics: Arc<SourceMetrics>,
}

/// Why a poll stopped early.
enum PollError {
    /// The device did not answer in time (after retries): back it off.
    Timeout,
    /// The connection is broken: reconnect.
    Transport(String),
}

impl SourceKind for ModbusSource {
    type Config = ModbusSourceConfig;

    fn name(c: &ModbusSourceConfig) -> &str {
        &c.name
    }

    fn validate(
        c: &ModbusSourceConfig,
        maps: &BTreeMap<String, RegisterMap>,
        v: &mut Issues,
        k: &str,
    ) {
        c.validate(v, k, maps);
    }

    fn build(c: &ModbusSourceConfig, cx: &kind::Context) -> Result<Self, SourceError> {
        let (maps, metrics) = (cx.modbus_maps, cx.metrics);
        let err = |message: String| SourceError::Setup {
            source_name: c.name.clone(),
            message,
        };
        let link = match (&c.tcp, &c.serial) {
            (Some(addr), _) => Link::Tcp(addr.clone()),
            (None, Some(path)) => Link::Serial {
                path: path.clone(),
                baud: c.baud,
                parity: c.parity,
                data_bits: c.data_bits,
                stop_bits: c.stop_bits,
            },
            (None, None) => {
                return Err(err(
                    "set tcp = \"host:port\" or serial = \"/dev/ttyUSB0\"".into()
                ))
            }
        };
        let now = Instant::now();
        let mut devices = Vec::new();
        for d in &c.devices {
            let map = maps
                .get(&d.map)
                .ok_or_else(|| err(format!("device `{}`: no [modbus-maps.{}]", d.name, d.map)))?;
            let fill = |t: &str| {
                crate::template::render(t, |n| match n {
                    "source" => Some(c.name.as_str()),
                    "device" => Some(d.name.as_str()),
                    _ => None,
                })
                .replace("{unit}", &d.unit.to_string())
            };
            let device_labels: Labels = Arc::new(d.labels.clone());
            let points: Vec<Point> = map
                .points
                .iter()
                .map(|p| {
                    let sensor = match &p.sensor {
                        Some(t) => fill(t),
                        None => format!("{}/{}/{}", c.name, d.name, p.name),
                    };
                    let labels = if p.labels.is_empty() {
                        device_labels.clone()
                    } else {
                        let mut l = d.labels.clone();
                        l.extend(p.labels.clone());
                        Arc::new(l)
                    };
                    Point {
                        sensor: sensor.into(),
                        address: p.address,
                        ty: p.data_type,
                        order: p.order,
                        bit: p.bit,
                        scale: p.scale,
                        offset: p.offset,
                        unit: p.unit.as_deref().map(Arc::from),
                        labels,
                    }
                })
                .collect();
            let spans: Vec<Span> = map
                .points
                .iter()
                .map(|p| Span {
                    table: p.table,
                    address: p.address,
                    width: if p.table.is_bits() {
                        1
                    } else {
                        p.data_type.width()
                    },
                })
                .collect();
            let reads = plan::plan(&spans, c.max_gap, c.max_per_request);
            devices.push(Device {
                unit: d.unit,
                reads,
                points,
                up_sensor: format!("{}/{}/up", c.name, d.name).into(),
                labels: device_labels,
                metrics: metrics.modbus_device(&c.name, &d.name),
            });
        }
        Ok(ModbusSource {
            name: c.name.as_str().into(),
            link,
            devices,
            timeout: c.timeout,
            retries: c.retries,
            delay: c.inter_request_delay,
            schedule: Schedule::new(
                &c.devices.iter().map(|d| d.interval).collect::<Vec<_>>(),
                &Backoff::new(c.backoff_min, c.backoff_max, 0.5),
                now,
            ),
            metrics: metrics.source(&c.name, "modbus"),
        })
    }

    fn source_name(&self) -> &str {
        &self.name
    }

    /// Performs what the schedule says: connect, poll the device due next, report
    /// the outcome, until `shutdown`.
    async fn run(mut self, out: IngestTx, shutdown: CancellationToken) {
        let mut ctx = None;
        loop {
            let next = self.schedule.next();
            let at = match next {
                Next::Connect { at } | Next::Poll { at, .. } => at,
                Next::Idle => {
                    shutdown.cancelled().await;
                    break;
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(at) => {}
            }
            match next {
                Next::Connect { .. } => ctx = self.open().await,
                Next::Poll { device, at } => {
                    let Some(c) = ctx.as_mut() else { continue };
                    let (keep, readings) = self.poll_device(c, device, at).await;
                    if !keep {
                        ctx = None;
                    }
                    if !send(&out, &self.metrics, readings).await {
                        break;
                    }
                    // The pause slow RTU devices need applies between devices too.
                    if !self.delay.is_zero() {
                        tokio::time::sleep(self.delay).await;
                    }
                }
                Next::Idle => {}
            }
        }
        self.metrics.connected.set(0);
    }
}

impl ModbusSource {
    /// Opens the connection and tells the schedule how that went.
    async fn open(&mut self) -> Option<Context> {
        match self.connect().await {
            Ok(ctx) => {
                self.metrics.connected.set(1);
                self.schedule.connected(Instant::now());
                Some(ctx)
            }
            Err(e) => {
                let retry = self.schedule.connect_failed(Instant::now());
                emit(ConnectionLost {
                    metrics: &self.metrics,
                    connection: Connection::ModbusConnect,
                    error: &e,
                    retry,
                });
                None
            }
        }
    }

    /// Polls one device; returns whether the connection stays open, and the
    /// readings (the device's `up` reading included).
    async fn poll_device(
        &mut self,
        ctx: &mut Context,
        device: usize,
        due: Instant,
    ) -> (bool, Vec<Reading>) {
        let started = Instant::now();
        let d = &self.devices[device];
        d.metrics
            .schedule_lag_us
            .record(started.duration_since(due).as_micros() as u64);
        let mut readings = Vec::new();
        let result = poll(
            ctx,
            d,
            self.timeout,
            self.retries,
            self.delay,
            &mut readings,
        )
        .await;
        let outcome = match &result {
            Ok(()) => Outcome::Answered,
            Err(PollError::Timeout) => Outcome::Timeout,
            Err(PollError::Transport(_)) => Outcome::Transport,
        };
        let now = Instant::now();
        let ts = now_ms();
        match self.schedule.polled(device, due, started, now, outcome) {
            Effect::Up { recovered } => {
                emit(DeviceAnswered {
                    metrics: &d.metrics,
                    latency: started.elapsed(),
                    recovered,
                });
                readings.push(up_reading(d, ts, 1.0));
                (true, readings)
            }
            Effect::Down { newly, retry_in } => {
                emit(DeviceDown {
                    metrics: &d.metrics,
                    unit: d.unit,
                    newly,
                    retry_in,
                });
                readings.push(up_reading(d, ts, 0.0));
                // After a timeout a late answer may still arrive: start clean.
                (false, readings)
            }
            Effect::Lost(retry) => {
                let error = match result {
                    Err(PollError::Transport(e)) => e,
                    _ => String::new(),
                };
                emit(ConnectionLost {
                    metrics: &self.metrics,
                    connection: Connection::ModbusSession,
                    error: &error,
                    retry,
                });
                (false, readings)
            }
        }
    }

    async fn connect(&self) -> Result<Context, String> {
        match &self.link {
            Link::Tcp(addr) => {
                let sock = tokio::time::timeout(self.timeout.max(Duration::from_secs(1)), async {
                    let target = tokio::net::lookup_host(addr.as_str())
                        .await?
                        .next()
                        .ok_or_else(|| std::io::Error::other("no address"))?;
                    tokio::net::TcpStream::connect(target).await
                })
                .await
                .map_err(|_| format!("{addr}: connect timed out"))?
                .map_err(|e| format!("{addr}: {e}"))?;
                let _ = sock.set_nodelay(true);
                Ok(tokio_modbus::client::tcp::attach(sock))
            }
            Link::Serial {
                path,
                baud,
                parity,
                data_bits,
                stop_bits,
            } => {
                use tokio_serial::SerialPortBuilderExt;
                let port = tokio_serial::new(path, *baud)
                    .parity(match parity {
                        Parity::None => tokio_serial::Parity::None,
                        Parity::Even => tokio_serial::Parity::Even,
                        Parity::Odd => tokio_serial::Parity::Odd,
                    })
                    .data_bits(match data_bits {
                        7 => tokio_serial::DataBits::Seven,
                        _ => tokio_serial::DataBits::Eight,
                    })
                    .stop_bits(if *stop_bits == 2 {
                        tokio_serial::StopBits::Two
                    } else {
                        tokio_serial::StopBits::One
                    })
                    .open_native_async()
                    .map_err(|e| format!("{path}: {e}"))?;
                Ok(tokio_modbus::client::rtu::attach(port))
            }
        }
    }
}

fn up_reading(d: &Device, ts: i64, v: f64) -> Reading {
    Reading {
        sensor: d.up_sensor.clone(),
        ts_ms: ts,
        value: v,
        unit: None,
        quality: Quality::Good,
        labels: d.labels.clone(),
    }
}

async fn send(out: &IngestTx, m: &SourceMetrics, readings: Vec<Reading>) -> bool {
    if readings.is_empty() {
        return true;
    }
    m.readings.inc_by(readings.len() as u64);
    out.send(IngestBatch::readings(readings)).await.is_ok()
}

/// Reads every request of one device; appends its readings.
async fn poll(
    ctx: &mut Context,
    d: &Device,
    timeout: Duration,
    retries: u32,
    delay: Duration,
    out: &mut Vec<Reading>,
) -> Result<(), PollError> {
    ctx.set_slave(Slave(d.unit));
    for (n, req) in d.reads.iter().enumerate() {
        let idx = &req.points;
        if n > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut attempt = 0;
        let answer = loop {
            d.metrics.requests.inc();
            match tokio::time::timeout(timeout, read(ctx, req)).await {
                Ok(r) => break r,
                Err(_) => {
                    d.metrics.timeouts.inc();
                    attempt += 1;
                    if attempt > retries {
                        return Err(PollError::Timeout);
                    }
                }
            }
        };
        let ts = now_ms();
        match answer {
            Ok(Ok(raw)) => {
                if raw.len() < usize::from(req.count) {
                    emit(ShortReply {
                        metrics: &d.metrics,
                        unit: d.unit,
                        table: &req.table,
                        start: req.start,
                        asked: req.count,
                        got: raw.len(),
                    });
                }
                for &i in idx {
                    let p = &d.points[i];
                    let at = (p.address - req.start) as usize;
                    let width = if req.table.is_bits() {
                        1
                    } else {
                        p.ty.width() as usize
                    };
                    let value = raw
                        .get(at..at + width)
                        .and_then(|regs| decode::registers(p.ty, p.order, p.bit, regs));
                    match value {
                        Some(v) => out.push(reading(p, ts, v * p.scale + p.offset, Quality::Good)),
                        // Not in the reply: said as bad quality, never silently skipped.
                        None => out.push(reading(p, ts, 0.0, Quality::Bad)),
                    }
                }
            }
            Ok(Err(code)) => {
                d.metrics.exception(u8::from(code));
                for &i in idx {
                    // No value: the device said why it has none.
                    out.push(reading(&d.points[i], ts, 0.0, Quality::Bad));
                }
            }
            Err(e) => return Err(PollError::Transport(e.to_string())),
        }
    }
    Ok(())
}

fn reading(p: &Point, ts: i64, v: f64, quality: Quality) -> Reading {
    Reading {
        sensor: p.sensor.clone(),
        ts_ms: ts,
        value: v,
        unit: p.unit.clone(),
        quality,
        labels: p.labels.clone(),
    }
}

/// One read, as registers (bits widened to 0/1 registers).
async fn read(ctx: &mut Context, req: &ReadRequest) -> tokio_modbus::Result<Vec<u16>> {
    let bits = |r: tokio_modbus::Result<Vec<bool>>| {
        r.map(|x| x.map(|v| v.into_iter().map(u16::from).collect()))
    };
    match req.table {
        Table::Holding => ctx.read_holding_registers(req.start, req.count).await,
        Table::Input => ctx.read_input_registers(req.start, req.count).await,
        Table::Coil => bits(ctx.read_coils(req.start, req.count).await),
        Table::DiscreteInput => bits(ctx.read_discrete_inputs(req.start, req.count).await),
    }
}
