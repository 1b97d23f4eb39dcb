//! Registers as a device may answer them, read as every type, word order and
//! bit: a number, never a panic.
#![no_main]

use edgewatch::sources::modbus::decode::{registers, DataType, Order};
use libfuzzer_sys::fuzz_target;

const TYPES: [DataType; 10] = [
    DataType::Bool,
    DataType::U16,
    DataType::I16,
    DataType::U32,
    DataType::I32,
    DataType::U64,
    DataType::I64,
    DataType::F32,
    DataType::F64,
    DataType::Bit,
];
const ORDERS: [Order; 4] = [Order::Abcd, Order::Cdab, Order::Badc, Order::Dcba];

fuzz_target!(|input: (u8, u8, u8, Vec<u16>)| {
    let (ty, order, bit, regs) = input;
    let ty = TYPES[usize::from(ty) % TYPES.len()];
    let order = ORDERS[usize::from(order) % ORDERS.len()];
    let _ = registers(ty, order, bit, &regs);
});
