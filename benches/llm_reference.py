#!/usr/bin/env python3
"""The llama.cpp reference for `cargo bench --bench knowledge`: the same GGUF file
through llama-cpp-python (2 threads, greedy). Needs llama-cpp-python built for
this CPU (../shared/FACTS.md has the CMAKE_ARGS); not part of the test set-up.

Prints a label line, then serves one generation per JSON line read on stdin
({"prompt": ..., "max_tokens": N}, the prompt already in ChatML), answering
{"prompt_tokens", "tokens", "first_token_s", "total_s"}.

Usage: llm_reference.py MODEL.gguf"""
import json
import sys
import time

import llama_cpp

llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=2, n_threads_batch=2, verbose=False)
print(f"llama.cpp (llama-cpp-python {llama_cpp.__version__}, same Q4_1 file)", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    prompt = llm.tokenize(req["prompt"].encode(), add_bos=False, special=True)
    llm.reset()
    t = time.perf_counter()
    first, tokens = None, 0
    for tok in llm.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
        if tok == llm.token_eos():
            break
        tokens += 1
        if first is None:
            first = time.perf_counter() - t
        if tokens >= req["max_tokens"]:
            break
    total = time.perf_counter() - t
    print(json.dumps({"prompt_tokens": len(prompt), "tokens": tokens, "first_token_s": first, "total_s": total}), flush=True)
