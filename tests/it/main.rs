//! Integration tests: the real `edgewatch` binary against real peers (Mosquitto,
//! mosquitto_pub, paho-mqtt, openssl), each on a free loopback port.

mod support;

mod ask;
mod ask_plant;
mod check_config;
mod commands;
mod durability;
mod embed;
mod forward;
mod hardening;
mod hostile;
mod journald;
mod knowledge;
mod layering;
mod learn;
mod llm;
mod llm_archs;
mod modbus;
mod mqtt_ingest;
mod onnx;
mod replay;
mod systemd;
mod systemd_unit;
mod tls;
