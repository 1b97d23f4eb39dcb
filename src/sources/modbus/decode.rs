//! Register values to numbers: data types and the word/byte orders devices use.
//!
//! Orders name the bytes of a 32-bit value as the device sends them, `A` being the
//! most significant: `abcd` big-endian (the Modbus default), `cdab` word-swapped
//! (common on PLCs), `badc` byte-swapped, `dcba` little-endian. The 64-bit forms
//! follow the same two rules (swap words, swap bytes within a word) over four words.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Table {
    Holding,
    Input,
    Coil,
    DiscreteInput,
}

impl Table {
    /// Coils and discrete inputs are bits; the others 16-bit registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }

    /// Most items one read may ask for (Modbus application protocol limits).
    pub fn max_per_request(self) -> u16 {
        if self.is_bits() {
            2000
        } else {
            125
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Holding => "holding",
            Table::Input => "input",
            Table::Coil => "coil",
            Table::DiscreteInput => "discrete-input",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DataType {
    Bool,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    /// One bit (`bit = 0..15`) of a register.
    Bit,
}

impl DataType {
    /// Registers (or bits, for coil tables) the value occupies.
    pub fn width(self) -> u16 {
        match self {
            DataType::Bool | DataType::U16 | DataType::I16 | DataType::Bit => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::U64 | DataType::I64 | DataType::F64 => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    #[default]
    Abcd,
    Cdab,
    Badc,
    Dcba,
}

/// Big-endian bytes of `regs` rearranged per `order` into the value's big-endian bytes.
fn ordered_bytes(regs: &[u16], order: Order) -> Vec<u8> {
    let swap_words = matches!(order, Order::Cdab | Order::Dcba);
    let swap_bytes = matches!(order, Order::Badc | Order::Dcba);
    let mut words: Vec<u16> = regs.to_vec();
    if swap_words {
        words.reverse();
    }
    words
        .iter()
        .flat_map(|w| {
            let b = w.to_be_bytes();
            if swap_bytes {
                [b[1], b[0]]
            } else {
                b
            }
        })
        .collect()
}

/// The value of a register point from its first `width()` registers; `None`
/// when `regs` holds fewer (a reply shorter than the map says).
pub fn registers(ty: DataType, order: Order, bit: u8, regs: &[u16]) -> Option<f64> {
    let regs = regs.get(..usize::from(ty.width()))?;
    let b = ordered_bytes(regs, order);
    Some(match ty {
        DataType::Bool => f64::from(u8::from(regs[0] != 0)),
        DataType::Bit => f64::from((regs[0] >> (bit & 15)) & 1),
        DataType::U16 => f64::from(u16::from_be_bytes([b[0], b[1]])),
        DataType::I16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
        DataType::U32 => f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::I32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::F32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::U64 => u64::from_be_bytes(b[..8].try_into().unwrap_or_default()) as f64,
        DataType::I64 => i64::from_be_bytes(b[..8].try_into().unwrap_or_default()) as f64,
        DataType::F64 => f64::from_be_bytes(b[..8].try_into().unwrap_or_default()),
    })
}

/// Registers that hold `value` as `ty` in `order` (for the simulator and tests).
pub fn encode(ty: DataType, order: Order, value: f64) -> Vec<u16> {
    let be: Vec<u8> = match ty {
        DataType::Bool | DataType::Bit => vec![0, u8::from(value != 0.0)],
        DataType::U16 => (value as u16).to_be_bytes().to_vec(),
        DataType::I16 => (value as i16).to_be_bytes().to_vec(),
        DataType::U32 => (value as u32).to_be_bytes().to_vec(),
        DataType::I32 => (value as i32).to_be_bytes().to_vec(),
        DataType::F32 => (value as f32).to_be_bytes().to_vec(),
        DataType::U64 => (value as u64).to_be_bytes().to_vec(),
        DataType::I64 => (value as i64).to_be_bytes().to_vec(),
        DataType::F64 => value.to_be_bytes().to_vec(),
    };
    let words: Vec<u16> = be
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    // The rearrangement is its own inverse.
    let bytes = ordered_bytes(&words, order);
    bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_of_a_known_float() {
        // 123.456f32 = 0x42F6E979: A=42 B=F6 C=E9 D=79.
        let cases = [
            (Order::Abcd, [0x42F6, 0xE979]),
            (Order::Cdab, [0xE979, 0x42F6]),
            (Order::Badc, [0xF642, 0x79E9]),
            (Order::Dcba, [0x79E9, 0xF642]),
        ];
        for (order, regs) in cases {
            let v = registers(DataType::F32, order, 0, &regs).unwrap();
            assert!((v - 123.456).abs() < 1e-4, "{order:?}: {v}");
            assert_eq!(encode(DataType::F32, order, 123.456), regs.to_vec());
        }
    }

    #[test]
    fn every_type_round_trips_in_every_order() {
        let values = [
            (DataType::U16, 65_000.0),
            (DataType::I16, -1234.0),
            (DataType::U32, 4_000_000_000.0),
            (DataType::I32, -2_000_000_000.0),
            (DataType::U64, 9_007_199_254_740_000.0),
            (DataType::I64, -9_007_199_254_740_000.0),
            (DataType::F64, -0.000_123_456_789),
            (DataType::F32, 6.5),
            (DataType::Bool, 1.0),
        ];
        for order in [Order::Abcd, Order::Cdab, Order::Badc, Order::Dcba] {
            for (ty, v) in values {
                let regs = encode(ty, order, v);
                assert_eq!(regs.len(), ty.width() as usize);
                assert_eq!(registers(ty, order, 0, &regs), Some(v), "{ty:?} {order:?}");
            }
        }
        assert_eq!(
            registers(DataType::Bit, Order::Abcd, 3, &[0b1000]),
            Some(1.0)
        );
        // Fewer registers than the type is wide: no value, not a panic.
        assert_eq!(registers(DataType::F64, Order::Abcd, 0, &[1, 2, 3]), None);
        assert_eq!(registers(DataType::Bool, Order::Abcd, 0, &[]), None);
        assert_eq!(
            registers(DataType::Bit, Order::Abcd, 2, &[0b1000]),
            Some(0.0)
        );
    }
}
