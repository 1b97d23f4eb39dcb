//! `edgewatch simulate --modbus-tcp ADDR`: serves the simulated plant as a Modbus TCP
//! slave (tokio-modbus server). Machine N (line-major, from 1) is unit id N; its
//! registers are documented in `config/modbus-sim.toml`, which polls them:
//!
//! | table | address | type | meaning |
//! | --- | --- | --- | --- |
//! | holding | 0-1 | f32, abcd | temperature, °C |
//! | holding | 2-3 | f32, cdab | vibration, mm/s |
//! | holding | 4 | u16, scale 0.01 | pressure, bar |
//! | holding | 5 | bit 0 | a fault is injected now |
//! | input | 0-3 | u64, abcd | samples taken |
//! | coil | 0 | bool | running (always 1) |
//! | discrete input | 0 | bool | a fault is injected now |
//!
//! Other unit ids answer exception 11 (gateway target failed to respond); reads
//! past the map answer exception 2 (illegal data address).

use super::CommandError;
use crate::event::now_ms;
use crate::sources::modbus::decode::{encode, DataType, Order};
use crate::sources::simulator::Plant;
use crate::sources::simulator::SimulatorConfig;
use std::collections::BTreeMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_modbus::prelude::{ExceptionCode, Response, SlaveRequest};
use tokio_modbus::Request;
use tokio_util::sync::CancellationToken;

const HOLDING: usize = 6;
const INPUT: usize = 4;

#[derive(Debug, Clone, Default)]
struct Machine {
    holding: [u16; HOLDING],
    input: [u16; INPUT],
    fault: bool,
}

type Registers = Arc<Mutex<BTreeMap<u8, Machine>>>;

struct Slave(Registers);

impl tokio_modbus::server::Service for Slave {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let Ok(machines) = self.0.lock() else {
            return ready(Err(ExceptionCode::ServerDeviceFailure));
        };
        let Some(m) = machines.get(&req.slave) else {
            return ready(Err(ExceptionCode::GatewayTargetDevice));
        };
        let slice = |regs: &[u16], addr: u16, n: u16| {
            let (a, n) = (addr as usize, n as usize);
            regs.get(a..a + n)
                .map(<[u16]>::to_vec)
                .ok_or(ExceptionCode::IllegalDataAddress)
        };
        let bits = |v: bool, addr: u16, n: u16| {
            if addr == 0 && n == 1 {
                Ok(vec![v])
            } else {
                Err(ExceptionCode::IllegalDataAddress)
            }
        };
        ready(match req.request {
            Request::ReadHoldingRegisters(a, n) => {
                slice(&m.holding, a, n).map(Response::ReadHoldingRegisters)
            }
            Request::ReadInputRegisters(a, n) => {
                slice(&m.input, a, n).map(Response::ReadInputRegisters)
            }
            Request::ReadCoils(a, n) => bits(true, a, n).map(Response::ReadCoils),
            Request::ReadDiscreteInputs(a, n) => {
                bits(m.fault, a, n).map(Response::ReadDiscreteInputs)
            }
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

/// Serves until `shutdown`; `bound` is told the address actually bound (port 0 picks one).
pub async fn serve(
    addr: &str,
    plant: SimulatorConfig,
    shutdown: CancellationToken,
    bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> Result<(), CommandError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CommandError::Usage(format!("--modbus-tcp {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CommandError::Usage(format!("--modbus-tcp {addr}: {e}")))?;
    tracing::info!(%local, "modbus simulator listening; units 1..{}", plant.lines * plant.machines_per_line);
    if let Some(tx) = bound {
        let _ = tx.send(local);
    }
    let registers: Registers = Arc::default();
    let stepper = tokio::spawn(step_plant(plant, registers.clone(), shutdown.clone()));
    let server = tokio_modbus::server::tcp::Server::new(listener);
    let regs = registers.clone();
    let on_connected = move |stream, _addr| {
        let regs = regs.clone();
        async move { Ok(Some((Slave(regs), stream))) }
    };
    let on_error = |e| tracing::debug!(error = %e, "modbus client connection ended");
    let stop = shutdown.clone();
    server
        .serve_until(
            &on_connected,
            on_error,
            async move { stop.cancelled().await },
        )
        .await
        .map_err(|e| CommandError::Usage(format!("modbus server: {e}")))?;
    stepper.abort();
    Ok(())
}

/// Samples the plant at its interval and writes the registers.
async fn step_plant(c: SimulatorConfig, regs: Registers, shutdown: CancellationToken) {
    let mut plant = Plant::new(&c);
    let (mut readings, mut faults) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(c.interval.max(Duration::from_millis(10)));
    let mut last = now_ms();
    let mut samples = 0u64;
    let mut fault_until: BTreeMap<u8, i64> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = now_ms();
        readings.clear();
        faults.clear();
        plant.step(now, (now - last).max(1), &mut readings, &mut faults);
        last = now;
        samples += 1;
        let per_line = c.machines_per_line;
        for f in &faults {
            if let Some(unit) = unit_of(&f.sensor, per_line) {
                let until = fault_until.entry(unit).or_default();
                *until = (*until).max(f.end_ms);
            }
        }
        let Ok(mut machines) = regs.lock() else {
            return;
        };
        for r in &readings {
            let Some(unit) = unit_of(&r.sensor, per_line) else {
                continue;
            };
            let m = machines.entry(unit).or_default();
            if r.sensor.ends_with("/temperature") {
                let t = encode(DataType::F32, Order::Abcd, r.value);
                m.holding[0..2].copy_from_slice(&t);
            } else if r.sensor.ends_with("/vibration") {
                let v = encode(DataType::F32, Order::Cdab, r.value);
                m.holding[2..4].copy_from_slice(&v);
            } else if r.sensor.ends_with("/pressure") {
                m.holding[4] = (r.value * 100.0).round().clamp(0.0, 65535.0) as u16;
            }
        }
        // A machine whose every sensor dropped out keeps its last registers.
        for (unit, m) in machines.iter_mut() {
            m.fault = fault_until.get(unit).is_some_and(|t| *t > now);
            m.holding[5] = u16::from(m.fault);
            let s = encode(DataType::U64, Order::Abcd, samples as f64);
            m.input.copy_from_slice(&s);
        }
    }
}

/// Unit id of a simulated sensor `SITE/lineL/motor/mMM/METRIC`: machines numbered
/// line by line from 1.
fn unit_of(sensor: &str, machines_per_line: u32) -> Option<u8> {
    let mut parts = sensor.split('/').skip(1);
    let line: u32 = parts.next()?.strip_prefix("line")?.parse().ok()?;
    let machine: u32 = parts.nth(1)?.strip_prefix('m')?.parse().ok()?;
    u8::try_from((line - 1) * machines_per_line + machine).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn units_count_machines_line_by_line() {
        assert_eq!(
            super::unit_of("plant1/line1/motor/m01/temperature", 3),
            Some(1)
        );
        assert_eq!(
            super::unit_of("plant1/line2/motor/m03/pressure", 3),
            Some(6)
        );
        assert_eq!(super::unit_of("nonsense", 3), None);
    }
}
