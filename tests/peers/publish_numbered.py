#!/usr/bin/env python3
"""Independent QoS 1 publisher (paho-mqtt): publishes COUNT numbered readings and
waits for the broker's PUBACK of each, so every message it reports is at the broker.

usage: publish_numbered.py PORT TOPIC COUNT [SENSOR]
"""
import json
import sys

import paho.mqtt.client as mqtt

port, topic, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sensor = sys.argv[4] if len(sys.argv) > 4 else "seq"

try:  # paho-mqtt 2.x
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"numbered-{port}")
except AttributeError:  # paho-mqtt 1.x, as Debian 12 ships it
    client = mqtt.Client(client_id=f"numbered-{port}")
client.max_inflight_messages_set(100)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
pending = []
for i in range(count):
    body = json.dumps({"sensor_id": sensor, "value": i})
    pending.append(client.publish(topic, body, qos=1))
    if len(pending) >= 100:
        for m in pending:
            m.wait_for_publish(30)
        pending.clear()
for m in pending:
    m.wait_for_publish(30)
client.disconnect()
client.loop_stop()
print(count)
