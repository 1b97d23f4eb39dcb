//! Events of Modbus devices: answered, marked down, replies shorter than asked.

use super::{worth_logging, InternalEvent};
use crate::metrics::DeviceMetrics;
use std::time::Duration;

/// A device answered a whole poll. Its `up` gauge is 1 and the poll's latency is
/// recorded; a device that was down says so once.
pub struct DeviceAnswered<'a> {
    pub metrics: &'a DeviceMetrics,
    pub latency: Duration,
    pub recovered: bool,
}

impl InternalEvent for DeviceAnswered<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.poll_latency_us.record(self.latency.as_micros() as u64);
        m.up.set(1);
        if self.recovered {
            tracing::info!(source = %m.source, device = %m.device, "modbus device answers again");
        }
    }
}

/// A device did not answer; it is polled again after `retry_in`. Logged when it
/// goes down, not on every missed poll while it stays down.
pub struct DeviceDown<'a> {
    pub metrics: &'a DeviceMetrics,
    pub unit: u8,
    pub newly: bool,
    pub retry_in: Duration,
}

impl InternalEvent for DeviceDown<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.up.set(0);
        if self.newly {
            tracing::warn!(source = %m.source, device = %m.device, unit = self.unit, retry_in = ?self.retry_in, "modbus device does not answer; marked down");
        }
    }
}

/// The device answered with fewer values than asked: counted as its own error
/// (the map and the device disagree), logged on the first and every
/// power-of-two occurrence.
pub struct ShortReply<'a> {
    pub metrics: &'a DeviceMetrics,
    pub unit: u8,
    pub table: &'a dyn std::fmt::Debug,
    pub start: u16,
    pub asked: u16,
    pub got: usize,
}

impl InternalEvent for ShortReply<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.short_replies.inc();
        let times = m.short_replies.get();
        if worth_logging(times, 1) {
            tracing::warn!(device = %m.device, unit = self.unit, table = ?self.table, start = self.start, asked = self.asked, got = self.got, times, "modbus reply holds fewer values than asked; the points beyond it are read as bad quality (check the register map against the device)");
        }
    }
}
