#!/usr/bin/env python3
"""Independent upstream subscriber (paho-mqtt): a persistent QoS 1 session that
appends every message it receives to OUT as one line `TOPIC<TAB>RETAIN<TAB>PAYLOAD`,
flushed at once, and reconnects by itself when the broker goes away.

usage: mqtt_collect.py PORT FILTER OUT [CAFILE CERT KEY]
"""
import sys

import paho.mqtt.client as mqtt

port, topic_filter, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tls = sys.argv[4:7] if len(sys.argv) >= 7 else None

try:  # paho-mqtt 2.x
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id="collector", clean_session=False)
except AttributeError:  # paho-mqtt 1.x, as Debian 12 ships it
    client = mqtt.Client(client_id="collector", clean_session=False)
out = open(out_path, "a", encoding="utf-8")


def on_connect(c, userdata, flags, rc):
    c.subscribe(topic_filter, qos=1)


def on_message(c, userdata, msg):
    out.write(f"{msg.topic}\t{int(msg.retain)}\t{msg.payload.decode()}\n")
    out.flush()


client.on_connect = on_connect
client.on_message = on_message
client.reconnect_delay_set(0.1, 1)
if tls:
    client.tls_set(ca_certs=tls[0], certfile=tls[1], keyfile=tls[2])
client.connect("127.0.0.1", port, keepalive=5)
client.loop_forever(retry_first_connection=True)
