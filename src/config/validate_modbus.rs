//! Validation of `[[sources.modbus]]` and `[modbus-maps.NAME]`.

use super::*;
use crate::issues::Issues;
use std::time::Duration;

pub(super) fn modbus(v: &mut Issues, c: &Config) {
    for (name, map) in &c.modbus_maps {
        let k = format!("modbus-maps.{name}");
        if map.points.is_empty() {
            v.push(
                format!("{k}.points"),
                "a register map needs at least one point",
            );
        }
        for (i, p) in map.points.iter().enumerate() {
            let k = format!("{k}.points[{i}]");
            use crate::sources::modbus::decode::DataType;
            if p.table.is_bits() && p.data_type != DataType::Bool {
                v.push(
                    format!("{k}.type"),
                    format!("{} tables hold bits: use type = \"bool\"", p.table.as_str()),
                );
            }
            if p.bit > 15 {
                v.push(format!("{k}.bit"), "a register has bits 0 to 15");
            }
            if u32::from(p.address) + u32::from(p.data_type.width()) > 65_536 {
                v.push(format!("{k}.address"), "the value runs past address 65535");
            }
            if !p.scale.is_finite() || !p.offset.is_finite() {
                v.push(
                    format!("{k}.scale"),
                    "scale and offset must be finite numbers",
                );
            }
        }
    }
    for (i, m) in c.sources.modbus.iter().enumerate() {
        let k = format!("sources.modbus[{i}]");
        match (&m.tcp, &m.serial) {
            (Some(_), Some(_)) => v.push(
                k.clone(),
                "set tcp or serial, not both (one source per connection)",
            ),
            (None, None) => v.push(
                k.clone(),
                "set tcp = \"host:port\" (Modbus TCP) or serial = \"/dev/ttyUSB0\" (RTU)",
            ),
            (Some(addr), None) if !addr.contains(':') => v.push(
                format!("{k}.tcp"),
                format!("`{addr}` needs a port: \"{addr}:502\""),
            ),
            _ => {}
        }
        if m.max_per_request == 0 {
            v.push(format!("{k}.max-per-request"), "must be 1 or more");
        }
        if !matches!(m.data_bits, 7 | 8) {
            v.push(format!("{k}.data-bits"), "allowed 7 or 8");
        }
        if !matches!(m.stop_bits, 1 | 2) {
            v.push(format!("{k}.stop-bits"), "allowed 1 or 2");
        }
        v.range(
            format!("{k}.timeout"),
            m.timeout,
            Duration::from_millis(10),
            Duration::from_secs(60),
        );
        if m.backoff_min.is_zero() || m.backoff_min > m.backoff_max {
            v.push(
                format!("{k}.backoff-min"),
                "must be above zero and not above backoff-max",
            );
        }
        if m.devices.is_empty() {
            v.push(
                format!("{k}.devices"),
                "at least one [[sources.modbus.devices]] is needed",
            );
        }
        super::validate::unique(
            v,
            m.devices
                .iter()
                .enumerate()
                .map(|(j, d)| (format!("{k}.devices[{j}].name"), d.name.as_str())),
        );
        for (j, d) in m.devices.iter().enumerate() {
            let dk = format!("{k}.devices[{j}]");
            if !c.modbus_maps.contains_key(&d.map) {
                let known: Vec<&str> = c.modbus_maps.keys().map(String::as_str).collect();
                v.push(
                    format!("{dk}.map"),
                    format!(
                        "no [modbus-maps.{}] (defined: {})",
                        d.map,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
            }
            if m.serial.is_some() && !(1..=247).contains(&d.unit) {
                v.push(format!("{dk}.unit"), "RTU unit ids are 1 to 247");
            }
            v.range(
                format!("{dk}.interval"),
                d.interval,
                Duration::from_millis(10),
                Duration::from_secs(86_400),
            );
        }
    }
}
