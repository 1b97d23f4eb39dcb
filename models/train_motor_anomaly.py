#!/usr/bin/env python3
"""Trains models/motor-anomaly.onnx: Hotelling's T² over window features of one motor
(temperature, vibration, pressure), fitted on the simulator's normal data: the
multivariate control chart of statistical process control, as an ONNX graph.

Training needs Python with numpy, onnx and onnxruntime
(see models/README.md); running the model needs none of them, only edgewatch and
the ONNX Runtime library.

The ONNX graph takes the window edgewatch builds, `window` [N, 30, 3] float32 with
each channel already normalised as (value - offset) / scale (constants in the
manifest), computes features per channel inside the graph, and scores them:

  noise  log(mean squared first difference over the newest 10 frames + 1e-3)
                                                         (stuck sensor: very low)
  level  window mean                                     (drift: far from normal)
  slope  mean of the newer half minus the older half     (drift: moving)
  peak   largest |value - window mean|                   (spike)

`score` [N] is sqrt(T²) = |W (features - mean)|, W whitening the covariance of the
features on normal data: the distance from normal in standard deviations, counting
correlated features (temperature and pressure follow the same daily cycle) once.

Usage: train_motor_iforest.py EDGEWATCH_BINARY OUT_DIR
"""

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, compose, helper

NAME = "motor-anomaly"
CHANNELS = ["temperature", "vibration", "pressure"]
WINDOW = 30
STEP = 2
# Frames whose differences make the noise feature: short, so a stuck sensor shows
# within seconds.
RECENT = 10
# Typical level and noise of each channel in the simulated plant: the normalisation
# the manifest declares and edgewatch applies before inference.
OFFSET = np.array([62.0, 2.5, 6.0], dtype=np.float32)
SCALE = np.array([0.4, 0.15, 0.05], dtype=np.float32)
OPSET = 17
# ONNX IR 8 goes with opset 17 and loads in every ONNX Runtime since 1.14.
IR_VERSION = 8


def simulate(binary, hours, seed, fault_rate):
    """Readings per machine as arrays [T, 3] plus per-row fault labels."""
    out = subprocess.run(
        [binary, "simulate", "--csv", "-", "--hours", str(hours), "--seed", str(seed),
         "--fault-rate", str(fault_rate)],
        check=True, capture_output=True, text=True,
    ).stdout
    machines = {}
    for line in io.StringIO(out).readlines()[1:]:
        ts, sensor, value, fault = line.rstrip("\n").split(",")
        asset, channel = sensor.rsplit("/", 1)
        rows = machines.setdefault(asset, {})
        rows.setdefault(int(ts), [None, None, None, ""])
        row = rows[int(ts)]
        row[CHANNELS.index(channel)] = float(value)
        if fault:
            row[3] = fault
    series = {}
    for asset, rows in machines.items():
        complete = [r for _, r in sorted(rows.items()) if None not in r[:3]]
        series[asset] = (
            np.array([r[:3] for r in complete], dtype=np.float32),
            [r[3] for r in complete],
        )
    return series


def windows(x):
    """Normalised sliding windows [N, WINDOW, 3] every STEP frames, as edgewatch builds them."""
    x = (x - OFFSET) / SCALE
    idx = range(WINDOW, len(x) + 1, STEP)
    return np.stack([x[i - WINDOW:i] for i in idx]).astype(np.float32)


def const(name, values, dtype=TensorProto.INT64):
    return helper.make_tensor(name, dtype, [len(values)], values)


def feature_graph():
    """window [N, W, 3] -> features [N, 12], in plain ONNX operators."""
    h = WINDOW // 2
    nodes = [
        helper.make_node("Slice", ["window", "recent_1", "w", "axis1"], ["newer"]),
        helper.make_node("Slice", ["window", "recent", "w_1", "axis1"], ["older"]),
        helper.make_node("Sub", ["newer", "older"], ["diff"]),
        helper.make_node("Mul", ["diff", "diff"], ["diff2"]),
        helper.make_node("ReduceMean", ["diff2"], ["msd"], axes=[1], keepdims=0),
        helper.make_node("Add", ["msd", "eps"], ["msd_eps"]),
        helper.make_node("Log", ["msd_eps"], ["noise"]),
        helper.make_node("ReduceMean", ["window"], ["mean_k"], axes=[1], keepdims=1),
        helper.make_node("ReduceMean", ["window"], ["level"], axes=[1], keepdims=0),
        helper.make_node("Slice", ["window", "half", "w", "axis1"], ["second"]),
        helper.make_node("Slice", ["window", "zero", "half", "axis1"], ["first"]),
        helper.make_node("ReduceMean", ["second"], ["m2"], axes=[1], keepdims=0),
        helper.make_node("ReduceMean", ["first"], ["m1"], axes=[1], keepdims=0),
        helper.make_node("Sub", ["m2", "m1"], ["slope"]),
        helper.make_node("Sub", ["window", "mean_k"], ["centred"]),
        helper.make_node("Abs", ["centred"], ["dev"]),
        helper.make_node("ReduceMax", ["dev"], ["peak"], axes=[1], keepdims=0),
        helper.make_node("Concat", ["noise", "level", "slope", "peak"], ["features"], axis=1),
    ]
    inits = [
        const("zero", [0]), const("half", [h]),
        const("recent", [WINDOW - RECENT]), const("recent_1", [WINDOW - RECENT + 1]),
        const("w", [WINDOW]), const("w_1", [WINDOW - 1]), const("axis1", [1]),
        helper.make_tensor("eps", TensorProto.FLOAT, [], [1e-3]),
    ]
    graph = helper.make_graph(
        nodes, "features",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["N", WINDOW, len(CHANNELS)])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4 * len(CHANNELS)])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             ir_version=IR_VERSION)


def score_graph(mean, whiten):
    """features [N, F] -> score [N] = |(features - mean) @ whiten|."""
    f = len(mean)
    nodes = [
        helper.make_node("Sub", ["features", "mu"], ["centred_f"]),
        helper.make_node("MatMul", ["centred_f", "whiten"], ["white"]),
        helper.make_node("Mul", ["white", "white"], ["white2"]),
        helper.make_node("ReduceSum", ["white2", "axis_f"], ["t2"], keepdims=0),
        helper.make_node("Sqrt", ["t2"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes, "score",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", f])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor("mu", TensorProto.FLOAT, [f], mean.tolist()),
         helper.make_tensor("whiten", TensorProto.FLOAT, [f, f], whiten.flatten().tolist()),
         const("axis_f", [1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             ir_version=IR_VERSION)


def run(model_bytes, x, output):
    s = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return s.run([output], {s.get_inputs()[0].name: x})[0]


def main():
    binary, out_dir = sys.argv[1], Path(sys.argv[2])
    feats = feature_graph()
    onnx.checker.check_model(feats)
    train = simulate(binary, 48, seed=101, fault_rate=0)
    held_out = simulate(binary, 24, seed=202, fault_rate=0)
    xs = np.concatenate([windows(x) for x, _ in train.values()])
    f = run(feats.SerializeToString(), xs, "features")
    mean = f.mean(axis=0).astype(np.float64)
    cov = np.cov(f - mean, rowvar=False)
    # W = L^-T for cov = L L^T, so |(f - mean) W|² = (f - mean) cov^-1 (f - mean)^T.
    whiten = np.linalg.inv(np.linalg.cholesky(cov)).T.astype(np.float32)
    model = compose.merge_models(feats, score_graph(mean.astype(np.float32), whiten),
                                 io_map=[("features", "features")])
    model.producer_name = "edgewatch models/train_motor_iforest.py"
    onnx.checker.check_model(model)
    data = model.SerializeToString()

    # Threshold: above every window of a held-out normal day, with a margin.
    normal = np.concatenate([run(data, windows(x), "score") for x, _ in held_out.values()])
    threshold = round(float(normal.max()) * 1.1, 2)
    print(f"held-out normal windows: {len(normal)}, score p50 {np.median(normal):.3f}, "
          f"p99.99 {np.quantile(normal, 0.9999):.3f}, max {normal.max():.3f}; "
          f"threshold {threshold}")

    # Fixed test windows (normal, spike, drift, stuck) and the scores onnxruntime gives.
    faulty = simulate(binary, 6, seed=303, fault_rate=6)
    cases = {}
    for asset, (x, labels) in faulty.items():
        for i in range(WINDOW, len(x)):
            label = labels[i - 1] or "normal"
            # A fault well inside the window: its 12th frame (a spike: its only one).
            settled = label in ("normal", "spike") or labels[i - 12] == label
            if label not in cases and label != "dropout" and settled:
                cases[label] = (x[i - WINDOW:i] - OFFSET) / SCALE
    assert len(cases) == 4, sorted(cases)
    names = sorted(cases)
    batch = np.stack([cases[n] for n in names]).astype(np.float32)
    scores = run(data, batch, "score")
    for n, s in zip(names, scores):
        print(f"test window {n}: score {s:.4f}")

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{NAME}.onnx").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    (out_dir / f"{NAME}.test.json").write_text(json.dumps({
        "model": f"{NAME}.onnx",
        "tolerance": 1e-4,
        "windows": [{"label": n, "window": cases[n].round(6).tolist(), "score": float(s)}
                    for n, s in zip(names, scores)],
    }, indent=1) + "\n")
    manifest = f"""# Manifest of {NAME}.onnx, written by models/train_motor_iforest.py.
# edgewatch reads it to turn readings into the model's input and its output into alerts.
name = "{NAME}"
file = "{NAME}.onnx"
sha256 = "{sha}"
description = "Hotelling T² (distance from normal in standard deviations) over window features of one motor (temperature, vibration, pressure), fitted on 48 h of the simulator's normal data"

[input]
name = "window"
# batch, window length, channels; -1 = any batch size
shape = [-1, {WINDOW}, {len(CHANNELS)}]

[output]
name = "score"
shape = [-1]

[features]
# One channel per sensor of the asset, in this order.
channels = {json.dumps(CHANNELS)}
# Frames per window, and frames between two windows scored.
window = {WINDOW}
step = {STEP}
# Sample period the model was trained on; a gap over 3 periods restarts the window.
period = "1s"
# Each channel is fed as (value - offset) / scale.
offset = {json.dumps([float(v) for v in OFFSET])}
scale = {json.dumps([float(v) for v in SCALE])}

[score]
# A window scoring above this is anomalous (the highest score of a held-out normal day, + 10 %).
threshold = {threshold}
"""
    (out_dir / f"{NAME}.toml").write_text(manifest)
    print(f"wrote {out_dir / (NAME + '.onnx')} ({len(data)} bytes, sha256 {sha})")


if __name__ == "__main__":
    main()
