#!/usr/bin/env python3
"""Event-level figures of a learned model on a simulated plant (benches/README.md,
"Learned models"): per fault kind how many faults an alert overlapped, and how many
alerts overlapped no fault (false alerts) with their total length.

  edgewatch simulate --csv plant.csv --hours 48 --machines-per-line 0 --pumps-per-line 3 \
      --seed 11 --fault-rate 0.5 --fault-duration 10m
  edgewatch replay plant.csv --prefix '' --learn 'plant1/*/pump/*/{channel}' \
      --fit-rows 2592000 --alerts alerts.jsonl
  python3 benches/learned_events.py alerts.jsonl plant.csv 24   # hours of fit part
"""
import collections
import json
import sys
from datetime import datetime


def ms(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def faults_of(csv_path):
    """Fault spans per asset, from the rows of each asset's first channel."""
    faults = collections.defaultdict(list)
    current, first_channel = {}, {}
    with open(csv_path) as f:
        next(f)
        for line in f:
            ts, sensor, _, kind = line.rstrip("\n").split(",")
            asset, channel = sensor.rsplit("/", 1)
            if first_channel.setdefault(asset, channel) != channel:
                continue
            ts = int(ts)
            if not kind:
                continue
            span = current.get(asset)
            if span and span[1] == kind and ts - span[2] <= 2000:
                span[2] = ts
            else:
                if span:
                    faults[asset].append(tuple(span))
                current[asset] = [ts, kind, ts]
    for asset, span in current.items():
        faults[asset].append(tuple(span))
    return faults


def main():
    alerts_path, csv_path, fit_hours = sys.argv[1], sys.argv[2], float(sys.argv[3])
    faults = faults_of(csv_path)
    with open(csv_path) as f:
        next(f)
        start = int(f.readline().split(",")[0]) + int(fit_hours * 3_600_000)
    alerts = collections.defaultdict(list)
    for line in open(alerts_path):
        e = json.loads(line)
        if e["state"] == "resolved":
            # A rule's alert is on a sensor; count it for the sensor's asset.
            asset = e["sensor"] if e["sensor"] in faults else e["sensor"].rsplit("/", 1)[0]
            alerts[asset].append((ms(e["fired"]), ms(e["at"])))
    hit, total = collections.Counter(), collections.Counter()
    for asset, spans in faults.items():
        for s, kind, e in spans:
            if s < start:
                continue
            total[kind] += 1
            if any(a <= e and b >= s for a, b in alerts[asset]):
                hit[kind] += 1
    false_alerts, false_secs = 0, 0.0
    for asset, spans in alerts.items():
        for a, b in spans:
            if not any(s <= b and e >= a for s, _, e in faults[asset]):
                false_alerts += 1
                false_secs += (b - a) / 1000
    for kind in sorted(total):
        print(f"{kind}: {hit[kind]}/{total[kind]} caught")
    print(f"false alerts: {false_alerts} ({false_secs:.0f} s in all)")


if __name__ == "__main__":
    main()
