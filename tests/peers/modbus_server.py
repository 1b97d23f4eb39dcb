#!/usr/bin/env python3
"""Independent Modbus server (pymodbus 3.x SimDevice) for edgewatch's tests.

usage: modbus_server.py SPEC.json LOG (--tcp PORT | --rtu DEVICE)

SPEC: {"devices": [{"id": 1, "busy": false, "points": [
          {"table": "holding", "address": 0, "type": "f32", "order": "cdab", "value": 1.5},
          {"table": "coil", "address": 0, "value": true}, ...]}]}
Values are encoded here with Python's struct, independently of edgewatch. Only the
addresses the points cover exist: reading others answers "illegal data address".
A device with "busy": true answers every request with exception 6 (device busy).
A device with "short": N answers register reads with at most N registers (a device
whose firmware disagrees with the map).
Each request received is appended to LOG as `DEVICE FUNCTION` (one line each).
"""
import asyncio
import json
import struct
import sys

from pymodbus.pdu import ExceptionResponse
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

FORMATS = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "f32": ">f",
           "u64": ">Q", "i64": ">q", "f64": ">d"}


def registers(kind, order, value):
    """Big-endian bytes of the value, rearranged as the device would send them."""
    raw = struct.pack(FORMATS[kind], int(value) if kind[0] in "ui" else value)
    words = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if order in ("cdab", "dcba"):
        words.reverse()
    if order in ("badc", "dcba"):
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def device(spec):
    coils, discrete, holding, inputs = [], [], [], []
    for p in spec["points"]:
        table = p["table"]
        if table in ("coil", "discrete-input"):
            (coils if table == "coil" else discrete).append(
                SimData(p["address"], values=[bool(p["value"])], datatype=DataType.BITS))
        else:
            regs = registers(p.get("type", "u16"), p.get("order", "abcd"), p["value"])
            (holding if table == "holding" else inputs).append(
                SimData(p["address"], values=regs, datatype=DataType.REGISTERS))
    # pymodbus wants every block non-empty: an unused table gets one far address.
    fill = [SimData(60000, values=[False], datatype=DataType.BITS)] * 2 + \
        [SimData(60000, values=[0], datatype=DataType.REGISTERS)] * 2
    blocks = [b if b else [f] for b, f in zip((coils, discrete, holding, inputs), fill)]
    for b in blocks:
        b.sort(key=lambda d: d.address)
    return SimDevice(id=spec["id"], simdata=tuple(blocks))


def main():
    spec = json.load(open(sys.argv[1]))
    log = open(sys.argv[2], "a", buffering=1)
    busy = {d["id"] for d in spec["devices"] if d.get("busy")}
    short = {d["id"]: d["short"] for d in spec["devices"] if "short" in d}

    def trace_pdu(sending, pdu):
        if not sending:
            log.write(f"{pdu.dev_id} {pdu.function_code}\n")
            return pdu
        if pdu.dev_id in busy:
            return ExceptionResponse(pdu.function_code, 6, device_id=pdu.dev_id,
                                     transaction=pdu.transaction_id)
        if pdu.dev_id in short and getattr(pdu, "registers", None):
            pdu.registers = pdu.registers[:short[pdu.dev_id]]
        return pdu

    devices = [device(d) for d in spec["devices"]]
    known = {d["id"] for d in spec["devices"]}

    def trace_packet(sending, packet):
        # RTU: a slave that is not on the bus never answers (pymodbus would send
        # an exception); the first byte of an RTU frame is the slave id.
        if sending and sys.argv[3] == "--rtu" and packet and packet[0] not in known:
            return b""
        return packet

    async def serve():
        if sys.argv[3] == "--tcp":
            server = ModbusTcpServer(devices, address=("127.0.0.1", int(sys.argv[4])),
                                     trace_pdu=trace_pdu)
        else:
            server = ModbusSerialServer(devices, port=sys.argv[4], baudrate=19200,
                                        trace_pdu=trace_pdu, trace_packet=trace_packet)
        await server.serve_forever()

    asyncio.run(serve())


main()
