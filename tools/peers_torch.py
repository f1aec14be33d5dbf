#!/usr/bin/python3
"""The PyTorch eager peer of scripts/bench-peers.ts: greedy decoding with a KV cache over the same
weights as ragtax's ONNX export, the loop a Python researcher would write.

  peers_torch.py --model models/quennland-instruct --requests FILE --batch B --max-new N [--eos ID ...]

FILE is JSON: a list of prompt token-id lists (tokenised by the benchmark with the model's own
tokenizer). The weights are the ONNX file's initializers, loaded into tools/organism/model.py's
Llama (the module the ONNX graph was exported from): each MatMul's [in, out] matrix becomes the
nn.Linear weight [out, in], in graph order per layer (q, k, v, o, gate, up, down) with the two
RMSNorm weights. Loading is not timed; one warm-up batch runs first. Prompts go in batches of B,
left padded; every row decodes until its end-of-sequence id or N new tokens, the batch until all
rows are done (finished rows keep being computed, as in Hugging Face's generate). Only the last
position's logits are computed (as the ONNX export's num_logits_to_keep). Torch's own thread
default is kept. Prints one JSON line: seconds, samples, new tokens, threads, the new ids per row.
"""
import argparse, json, os, sys, time

import numpy as np
import onnx
from onnx import numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "organism"))
from model import Llama, rope_tables  # noqa: E402


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    graph = onnx.load(os.path.join(model_dir, "onnx", "model.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    matmuls, norms = [], []
    for node in graph.node:
        weights = [x for x in node.input if x in inits]
        if node.op_type == "MatMul" and weights and inits[weights[0]].ndim == 2:
            matmuls.append((node, inits[weights[0]]))
        elif node.op_type == "Mul" and weights and inits[weights[0]].shape == (cfg["hidden_size"],):
            norms.append(inits[weights[0]])
    n = cfg["num_hidden_layers"]
    if len(matmuls) != 7 * n or len(norms) != 2 * n + 1:
        raise SystemExit(f"unexpected graph: {len(matmuls)} weight MatMuls, {len(norms)} norm weights")
    model = Llama(cfg)
    state = {"embed_tokens.weight": torch.from_numpy(inits["embed_tokens.weight"].copy()), "norm.weight": torch.from_numpy(norms[-1].copy())}
    for i in range(n):
        q, k, v, o, a, b, down = matmuls[7 * i: 7 * i + 7]
        # gate is the one whose output goes through the SiLU (Sigmoid), up the other.
        gate, up = (a, b) if any(c.op_type == "Sigmoid" for c in consumers.get(a[0].output[0], [])) else (b, a)
        p = f"layers.{i}."
        for name, (_, w) in [("self_attn.q_proj", q), ("self_attn.k_proj", k), ("self_attn.v_proj", v), ("self_attn.o_proj", o),
                             ("mlp.gate_proj", gate), ("mlp.up_proj", up), ("mlp.down_proj", down)]:
            state[p + name + ".weight"] = torch.from_numpy(np.ascontiguousarray(w.T))
        state[p + "input_layernorm.weight"] = torch.from_numpy(norms[2 * i].copy())
        state[p + "post_attention_layernorm.weight"] = torch.from_numpy(norms[2 * i + 1].copy())
    model.load_state_dict(state)
    model.eval()
    return model


@torch.no_grad()
def step(model, ids, mask, positions, past):
    """model.forward_cached with the logits of the last position only."""
    S, T = ids.shape[1], mask.shape[1]
    cos, sin = rope_tables(model.cfg, positions)
    cos, sin = cos[:, None], sin[:, None]
    causal = torch.arange(T)[None, :] <= torch.arange(T - S, T)[:, None]
    allowed = causal[None, None] & mask.bool()[:, None, None, :]
    bias = torch.zeros(allowed.shape).masked_fill(~allowed, -1e9)
    x = model.embed_tokens(ids)
    present = []
    for i, block in enumerate(model.layers):
        x = block(x, cos, sin, bias, None if past is None else past[i], present)
    return model.norm(x[:, -1]) @ model.embed_tokens.weight.t(), present


@torch.no_grad()
def generate(model, prompts, max_new, eos):
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits, past = step(model, ids, mask, positions, None)
    out = [[] for _ in prompts]
    done = [False] * len(prompts)
    last = positions[:, -1:]
    for s in range(max_new):
        nxt = logits.argmax(-1)
        for r, t in enumerate(nxt.tolist()):
            if not done[r]:
                out[r].append(t)
                done[r] = t in eos
        if all(done) or s + 1 == max_new:
            break
        mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=mask.dtype)], 1)
        last = last + 1
        logits, past = step(model, nxt[:, None], mask, last, past)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--max-new", type=int, required=True)
    ap.add_argument("--eos", type=int, nargs="+", default=[2])
    a = ap.parse_args()
    model = load(a.model)
    prompts = json.load(open(a.requests))
    eos = set(a.eos)
    generate(model, prompts[: a.batch], a.max_new, eos)  # warm-up
    started = time.perf_counter()
    outputs = []
    for i in range(0, len(prompts), a.batch):
        outputs += generate(model, prompts[i: i + a.batch], a.max_new, eos)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "samples": len(prompts), "tokens": sum(len(o) for o in outputs),
                      "threads": torch.get_num_threads(), "torch": torch.__version__, "outputs": outputs}))


if __name__ == "__main__":
    main()
