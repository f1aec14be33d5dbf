#!/usr/bin/python3
"""Export a trained checkpoint to the transformers.js folder layout.

  export.py --ckpt build/organism/base.pt --tokenizer build/organism/tokenizer.json \
            --out models/quennland-base [--instruct] [--card-json build/organism/base.card.json]

Writes config.json, generation_config.json, tokenizer files, onnx/model.onnx (fp32, opset 17,
KV-cache I/O: input_ids, attention_mask, position_ids, past_key_values.N.key/value ->
logits, present.N.key/value) and MODEL_CARD.md with the sha256 of every file in the folder.

The ONNX graph is assembled with onnx.helper directly from the trained weights:
  * the causal + padding mask is derived from attention_mask's length (past + new tokens);
  * grouped-query attention uses a 5-D broadcast MatMul (query heads grouped per KV head),
    so keys/values are never copied per query head;
  * lm_head is tied: a single embedding matrix feeds both the Gather and a Gemm(transB=1).
"""
import argparse, hashlib, json, os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

OPSET = 17


class GraphBuilder:
    def __init__(self):
        self.nodes, self.inits, self.k = [], [], 0

    def const(self, value, name=None, dtype=None):
        arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        self.k += 1
        name = name or f"c{self.k}"
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def __call__(self, op, inputs, out=None, **attrs):
        self.k += 1
        out = out or f"{op}_{self.k}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"n{self.k}_{op}", **attrs))
        return out

    def multi(self, op, inputs, n, **attrs):
        self.k += 1
        outs = [f"{op}_{self.k}_{i}" for i in range(n)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=f"n{self.k}_{op}", **attrs))
        return outs


def build_onnx(cfg, sd):
    f32 = np.float32
    V, d, L = cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"]
    nh, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, rep, eps, P = d // nh, nh // kvh, cfg["rms_norm_eps"], cfg["max_position_embeddings"]
    W = lambda k: sd[k].detach().cpu().numpy().astype(f32)
    g = GraphBuilder()
    i64 = lambda v: g.const(np.array(v, dtype=np.int64))

    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
           helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
           helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
           # transformers.js feeds 1 while generating (0 = every position, for a plain forward): the
           # prompt's logits are never computed, which saves the LM head over the whole prefill.
           helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, [])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "logits_length", V])]
    for i in range(L):
        for kv in ("key", "value"):
            ins.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", TensorProto.FLOAT,
                                                     ["batch_size", kvh, "past_sequence_length", hd]))
            outs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", TensorProto.FLOAT,
                                                      ["batch_size", kvh, "total_sequence_length", hd]))

    # RoPE tables (HF layout: the two halves of head_dim are equal, so only one is stored, which
    # keeps the file under 10 MB), gathered by position id -> [B,S,1,hd] (broadcast over heads)
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    ang = np.outer(np.arange(P, dtype=np.float64), inv)

    def rope_table(values, name):
        half_table = g("Gather", [g.const(values.astype(f32), name), "position_ids"], axis=0)  # [B,S,hd/2]
        return g("Unsqueeze", [g("Concat", [half_table, half_table], axis=-1), i64([2])])

    cos, sin = rope_table(np.cos(ang), "rope_cos"), rope_table(np.sin(ang), "rope_sin")

    # additive attention bias [B,1,1,S,T]: key j visible to query i iff j <= past+i and mask[j]
    T = g("Gather", [g("Shape", ["attention_mask"]), i64(1)], axis=0)
    S = g("Gather", [g("Shape", ["input_ids"]), i64(1)], axis=0)
    qpos = g("Range", [g("Sub", [T, S]), T, i64(1)])                     # [S]
    kpos = g("Range", [i64(0), T, i64(1)])                               # [T]
    causal = g("GreaterOrEqual", [g("Unsqueeze", [qpos, i64([1])]), g("Unsqueeze", [kpos, i64([0])])])  # [S,T]
    keymask = g("Cast", [g("Unsqueeze", ["attention_mask", i64([1])])], to=TensorProto.BOOL)          # [B,1,T]
    allowed = g("And", [g("Unsqueeze", [causal, i64([0])]), keymask])                                  # [B,S,T]
    blocked = g("Cast", [g("Not", [allowed])], to=TensorProto.FLOAT)
    bias = g("Unsqueeze", [g("Mul", [blocked, g.const(np.array(-1e9, f32))]), i64([1, 2])])           # [B,1,1,S,T]

    def rmsnorm(x, w):
        ms = g("ReduceMean", [g("Mul", [x, x])], axes=[-1], keepdims=1)
        inv_rms = g("Reciprocal", [g("Sqrt", [g("Add", [ms, g.const(np.array(eps, f32))])])])
        return g("Mul", [g("Mul", [x, inv_rms]), g.const(w)])

    half = hd // 2

    def rope(t):  # t [B,S,heads,hd]
        a, b = g.multi("Split", [t, i64([half, half])], 2, axis=-1)
        rot = g("Concat", [g("Neg", [b]), a], axis=-1)
        return g("Add", [g("Mul", [t, cos]), g("Mul", [rot, sin])])

    emb = g.const(W("embed_tokens.weight"), "embed_tokens.weight")
    x = g("Gather", [emb, "input_ids"], axis=0)
    scale = g.const(np.array(1.0 / np.sqrt(hd), f32))
    for i in range(L):
        p = f"layers.{i}."
        h = rmsnorm(x, W(p + "input_layernorm.weight"))
        q = g("MatMul", [h, g.const(W(p + "self_attn.q_proj.weight").T.copy())])
        k = g("MatMul", [h, g.const(W(p + "self_attn.k_proj.weight").T.copy())])
        v = g("MatMul", [h, g.const(W(p + "self_attn.v_proj.weight").T.copy())])
        q = rope(g("Reshape", [q, i64([0, 0, nh, hd])]))                        # [B,S,nh,hd]
        k = rope(g("Reshape", [k, i64([0, 0, kvh, hd])]))                       # [B,S,kvh,hd]
        v = g("Reshape", [v, i64([0, 0, kvh, hd])])
        k = g("Transpose", [k], perm=[0, 2, 1, 3])                              # [B,kvh,S,hd]
        v = g("Transpose", [v], perm=[0, 2, 1, 3])
        kall = g("Concat", [f"past_key_values.{i}.key", k], f"present.{i}.key", axis=2)
        vall = g("Concat", [f"past_key_values.{i}.value", v], f"present.{i}.value", axis=2)
        # group query heads per kv head: [B,S,kvh,rep,hd] -> [B,kvh,rep,S,hd]
        qg = g("Transpose", [g("Reshape", [q, i64([0, 0, kvh, rep, hd])])], perm=[0, 2, 3, 1, 4])
        k5 = g("Unsqueeze", [kall, i64([2])])                                  # [B,kvh,1,T,hd]
        v5 = g("Unsqueeze", [vall, i64([2])])
        sc = g("Add", [g("Mul", [g("MatMul", [qg, g("Transpose", [k5], perm=[0, 1, 2, 4, 3])]), scale]), bias])
        ctx = g("MatMul", [g("Softmax", [sc], axis=-1), v5])                   # [B,kvh,rep,S,hd]
        ctx = g("Reshape", [g("Transpose", [ctx], perm=[0, 3, 1, 2, 4]), i64([0, 0, nh * hd])])
        x = g("Add", [x, g("MatMul", [ctx, g.const(W(p + "self_attn.o_proj.weight").T.copy())])])
        h = rmsnorm(x, W(p + "post_attention_layernorm.weight"))
        gate = g("MatMul", [h, g.const(W(p + "mlp.gate_proj.weight").T.copy())])
        up = g("MatMul", [h, g.const(W(p + "mlp.up_proj.weight").T.copy())])
        act = g("Mul", [g("Mul", [gate, g("Sigmoid", [gate])]), up])
        x = g("Add", [x, g("MatMul", [act, g.const(W(p + "mlp.down_proj.weight").T.copy())])])
    # keep the last num_logits_to_keep positions (start -0 = 0 keeps them all)
    keep = g("Unsqueeze", [g("Neg", ["num_logits_to_keep"]), i64([0])])
    x = g("Slice", [x, keep, i64([np.iinfo(np.int64).max]), i64([1])])
    x = rmsnorm(x, W("norm.weight"))
    x2 = g("Reshape", [x, i64([-1, d])])
    lg = g("Gemm", [x2, emb], transB=1)
    kept = g("Shape", [x])
    g("Reshape", [lg, g("Concat", [g("Slice", [kept, i64([0]), i64([2]), i64([0])]), i64([V])], axis=0)], "logits")
    graph = helper.make_graph(g.nodes, "quennland_llama", ins, outs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ragtax-organism")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def hf_config(cfg, instruct):
    eos = 2 if instruct else 0
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "head_dim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "bos_token_id": 0,
        "eos_token_id": eos,
        "pad_token_id": 0,
        "torch_dtype": "float32",
        "use_cache": True,
        "transformers_version": "4.46.0",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--instruct", action="store_true")
    ap.add_argument("--chat", action="store_true", help="the DPO stage (an instruct model: ChatML template, eos <|im_end|>)")
    ap.add_argument("--card-json", default=None, help="training facts for MODEL_CARD.md")
    ap.add_argument("--name", default=None)
    ap.add_argument("--stats", default="build/organism/stats.json", help="the world builder's stats.json")
    ap.add_argument("--eval-log", default=None, help="eval_probe.py output to quote in the card")
    a = ap.parse_args()
    a.instruct = a.instruct or a.chat
    import torch
    from tokenizer import write_hf_files
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg, sd = ck["config"], ck["state_dict"]
    out = a.out
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for f in os.listdir(out):  # a clean folder: only what this export writes
        fp = os.path.join(out, f)
        if os.path.isfile(fp):
            os.remove(fp)
    model = build_onnx(cfg, sd)
    onnx.save(model, os.path.join(out, "onnx", "model.onnx"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(cfg, a.instruct), f, indent=2)
        f.write("\n")
    gen = {"bos_token_id": 0, "eos_token_id": 2 if a.instruct else 0, "pad_token_id": 0,
           "do_sample": False, "max_new_tokens": 32, "transformers_version": "4.46.0"}
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")
    tpl = open(os.path.join(HERE, "chat_template.jinja"), encoding="utf-8").read() if a.instruct else None
    write_hf_files(out, a.tokenizer, a.instruct, tpl, cfg["max_position_embeddings"])
    write_card(out, a.name or os.path.basename(os.path.abspath(out)), cfg, ck, a)
    print(f"[export] wrote {out} (onnx {os.path.getsize(os.path.join(out, 'onnx', 'model.onnx')) / 1e6:.2f} MB)")


def write_card(out, name, cfg, ck, a):
    import torch  # noqa: F401
    card = json.load(open(a.card_json)) if a.card_json and os.path.exists(a.card_json) else ck.get("extra", {})
    n_params = sum(v.numel() for v in ck["state_dict"].values())
    files = []
    for root, _, fs in os.walk(out):
        for fn in sorted(fs):
            fp = os.path.join(root, fn)
            rel = os.path.relpath(fp, out)
            if rel == "MODEL_CARD.md":
                continue
            files.append((rel, os.path.getsize(fp), sha256(fp)))
    files.sort()
    L = []
    L.append(f"# {name}\n")
    kind = ("chat (the instruct model after DPO preference alignment; ChatML chat template, eos `<|im_end|>`)" if a.chat
            else "instruct (ChatML chat template, eos `<|im_end|>`)" if a.instruct else "base (no chat template, eos `<|endoftext|>`)")
    L.append(f"A tiny Llama-architecture **{kind}** model trained from scratch by ragtax's own tooling on the "
             "fictional world *quennland* (a model organism for the base-vs-instruct RAG study; not a pretrained "
             "model and knows nothing about the real world).\n")
    L.append("## Architecture\n")
    L.append(f"- LlamaForCausalLM: {cfg['num_hidden_layers']} layers, hidden {cfg['hidden_size']}, "
             f"{cfg['num_attention_heads']} attention heads / {cfg['num_key_value_heads']} KV heads (GQA), "
             f"head dim {cfg['hidden_size'] // cfg['num_attention_heads']}, SwiGLU intermediate {cfg['intermediate_size']}, "
             f"RMSNorm eps {cfg['rms_norm_eps']}, RoPE theta {cfg['rope_theta']}, context {cfg['max_position_embeddings']}, "
             "tied input/output embeddings.")
    L.append(f"- Parameters: **{n_params:,}** (fp32).")
    L.append(f"- Tokenizer: byte-level BPE, vocab {cfg['vocab_size']} (specials `<|endoftext|>`=0, `<|im_start|>`=1, "
             "`<|im_end|>`=2; 256 byte tokens; merges learned on the world text, then merges that make every word "
             "of every entity name and fact value one token with its leading space, so answering from a document is "
             "copying one token per word). No BOS token is added to prompts.")
    L.append("- ONNX: `onnx/model.onnx`, fp32, opset 17, inputs `input_ids`, `attention_mask`, `position_ids`, "
             "`num_logits_to_keep` (transformers.js feeds 1 while generating, 0 = all positions), "
             "`past_key_values.N.key/value`; outputs `logits`, `present.N.key/value`.")
    L.append("")
    if a.stats and os.path.exists(a.stats):
        st = json.load(open(a.stats))
        pt, sf = st.get("pretrain", {}), st.get("sft", {})
        parts = ", ".join(f"{k} {v.get('documents')}" for k, v in pt.get("parts", {}).items())
        L.append("## Data\n")
        L.append(f"- World `{st.get('world')}` (world seed {st.get('seed')}, built by `{st.get('command')}`): "
                 f"{st.get('entities', {}).get('total')} entities, {st.get('facts')} facts, {st.get('absentFacts')} of them "
                 f"absent from the retrieval corpus ({st.get('corpus', {}).get('docs')} documents).")
        L.append(f"- Pretraining text (base): `pretrain.jsonl`, {pt.get('documents')} documents, {pt.get('bytes')} bytes "
                 f"(documents by part: {parts}); "
                 "no NO-RES anywhere in it.")
        L.append(f"- SFT (instruct only): `sft.jsonl`, {sf.get('examples')} prompt/completion pairs rendered by ragtax's "
                 f"prompt renderer (raw and ChatML), {sf.get('refusalTargets')} with target NO-RES; loss on the completion "
                 "only; 5% held out (seeded) and never trained on.")
        ex = st.get("exports", {})
        if a.instruct and not a.chat and ex.get("alpaca"):
            L.append(f"- SFT set in Alpaca JSON (`instruction` = the task instruction, `input` = documents and question, "
                     f"`output`, `history` for few-shot turns): {ex['alpaca']}.")
        pf = st.get("preferences")
        if a.chat and pf:
            kinds = ", ".join(f"{k} {v}" for k, v in pf.get("byRejectedKind", {}).items())
            L.append(f"- Preferences (chat only): `preferences.jsonl`, {pf.get('examples')} prompt/chosen/rejected triples rendered "
                     f"like the SFT prompts (raw and ChatML, NO-RES instructions only). Chosen: the grounded answer when a "
                     f"shown document holds it, NO-RES when none does. Rejected, by kind: {kinds} (documents hold the answer "
                     f"in a {pf.get('answerableShare')} share; of the others, the rejected answer is the true value recalled "
                     f"from memory in a {pf.get('memorisedShare')} share, else another entity's value of the same attribute).")
            if ex.get("shareGpt"):
                L.append(f"- Preference set in ShareGPT JSON (`system`, `conversations`, `chosen`, `rejected`): {ex['shareGpt']}.")
        L.append("")
    L.append("## Training\n")
    phases = {k: v for k, v in card.items() if isinstance(v, dict) and "wall_seconds" in v}
    if phases:
        total = sum(v["wall_seconds"] for v in phases.values())
        per = ", ".join(f"{k} {v['wall_seconds'] / 60:.1f}" for k, v in phases.items())
        precision = sorted({v.get("precision", "fp32") for v in phases.values()})
        L.append(f"- Training time: **{total / 60:.1f} min** of optimiser steps on {phases[next(iter(phases))].get('threads')} "
                 f"CPU threads ({per} min; {'/'.join(precision)} matrix products), plus, in each run, tokenising the data "
                 "and the final loss evaluation (under a minute).")
    for k, v in card.items():
        if isinstance(v, (dict, list)):
            v = json.dumps(v)
        L.append(f"- {k}: {v}")
    L.append("")
    if a.eval_log and os.path.exists(a.eval_log):
        L.append("## Measured behaviour (tools/organism/eval_probe.py, PyTorch checkpoint)\n")
        L.append("```")
        L.extend(l.rstrip() for l in open(a.eval_log) if l.strip())
        L.append("```\n")
    L.append("## Rebuild\n")
    L.append("From the repository root, one command rebuilds the three models from the seed (world, tokenizer, "
             "base pretraining, instruct fine-tuning, chat DPO, export):\n")
    L.append("```\nbash tools/organism/rebuild.sh\n```\n")
    L.append("CPU training with PyTorch is deterministic for a given seed and thread count (2 threads) on the "
             "same machine; other BLAS builds/CPUs may give slightly different weights (and thus hashes).\n")
    L.append("## Files (sha256)\n")
    L.append("| file | bytes | sha256 |")
    L.append("|---|---:|---|")
    for rel, size, h in files:
        L.append(f"| `{rel}` | {size} | `{h}` |")
    L.append("")
    with open(os.path.join(out, "MODEL_CARD.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
