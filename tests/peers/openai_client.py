#!/usr/bin/env python3
"""The official `openai` Python client against edgewatch's OpenAI-compatible API,
unchanged but for base_url. Prints one JSON object with what it got.

Usage: openai_client.py BASE_URL   (e.g. http://127.0.0.1:9464)"""
import json
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused-on-loopback", max_retries=0, timeout=180)
out = {"client": openai.__version__}
out["models"] = [m.id for m in client.models.list()]
emb = client.embeddings.create(model="all-minilm-l6-v2", input=["motor overheating", "bearing vibration"])
out["embeddings"] = [len(d.embedding) for d in emb.data]
out["norm"] = sum(x * x for x in emb.data[0].embedding)
chat = client.chat.completions.create(
    model="smollm2-135m-instruct",
    messages=[{"role": "system", "content": "You are concise."},
              {"role": "user", "content": "What is the capital of France? One word."}],
    max_tokens=12,
)
out["chat"] = {"content": chat.choices[0].message.content, "finish": chat.choices[0].finish_reason,
               "completion_tokens": chat.usage.completion_tokens}
pieces = []
finish = None
for event in client.chat.completions.create(
    model="smollm2-135m-instruct",
    messages=[{"role": "user", "content": "What is the capital of France? One word."}],
    max_tokens=12,
    stream=True,
):
    if event.choices and event.choices[0].delta.content:
        pieces.append(event.choices[0].delta.content)
    if event.choices and event.choices[0].finish_reason:
        finish = event.choices[0].finish_reason
out["stream"] = {"pieces": len(pieces), "content": "".join(pieces), "finish": finish}
grounded = client.chat.completions.create(
    model="edgewatch-grounded",
    messages=[{"role": "user", "content": "What happened on line 2 in the last hour?"}],
)
out["grounded"] = grounded.choices[0].message.content
followup = client.chat.completions.create(
    model="edgewatch-grounded",
    messages=[
        {"role": "user", "content": "What happened on line 2 in the last hour?"},
        {"role": "assistant", "content": out["grounded"]},
        {"role": "user", "content": "and on line 1?"},
    ],
)
out["followup"] = followup.choices[0].message.content
print(json.dumps(out))
