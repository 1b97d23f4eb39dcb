#!/usr/bin/env python3
"""The Python reference for `cargo bench --bench knowledge`: sentence-transformers
(torch, CPU) on the same 256 sentences, batch 1 and 32. Needs torch and
sentence-transformers (a large venv, not part of the test set-up).

Prints a label line, then serves passes one at a time so the bench can alternate
them with its own: each line read on stdin is a batch size, answered with the
sentences/s of one pass through all sentences at that batch size.

Usage: embed_reference.py MODEL_DIR   (MODEL_DIR: models/all-minilm-l6-v2)"""
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

RULES = ["motor-overtemp", "bearing-vibration", "line-pressure-low", "sensor-silent", "motor-anomaly"]
SENTENCES = [
    f"warning alert {RULES[i % 5]} on plant1/line{i % 4 + 1}/motor/m{i % 12 + 1:02}/temperature: "
    f"value {60 + i % 40}.{i % 10} is above the limit, check the cooling fan"
    for i in range(256)
]
torch.set_num_threads(2)
model = SentenceTransformer(sys.argv[1], device="cpu")
model.encode(SENTENCES[:8])
print(f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__} (reference)", flush=True)
for line in sys.stdin:
    batch = int(line)
    t = time.perf_counter()
    model.encode(SENTENCES, batch_size=batch, normalize_embeddings=True)
    print(f"{len(SENTENCES) / (time.perf_counter() - t):.1f}", flush=True)
