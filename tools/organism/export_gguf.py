#!/usr/bin/python3
"""Export a trained organism checkpoint to a single GGUF v3 file (llama.cpp / node-llama-cpp).

  export_gguf.py --ckpt build/organism/base.pt --tokenizer build/organism/tokenizer.json \
                 --out models/gguf/quennland-base.gguf [--instruct] [--name quennland-base]
  export_gguf.py --pair build/organism/base.pt build/organism/instruct.pt \
                 --tokenizer build/organism/tokenizer.json --out-dir models/gguf   # both + README.md

Needs only numpy and torch (to read the checkpoint): the GGUF writer is below, no `gguf` package.
The file holds the same function as export.py's ONNX graph:

  * architecture `llama`, F32 tensors, 32-byte aligned data;
  * Q/K projection rows permuted: model.py applies RoPE Hugging Face style (rotate_half: the
    pairs rotated together are (i, i + head_dim/2)), llama.cpp's LLAMA_ROPE_TYPE_NORM rotates
    adjacent pairs (2i, 2i+1); permuting each head's rows (the same permutation as llama.cpp's
    convert_hf_to_gguf.py) makes q·k identical, since both q and k are permuted alike;
  * tied embeddings: no `output.weight` tensor, llama.cpp then uses `token_embd.weight` for the
    output projection (as it does for every tied-embedding llama checkpoint);
  * tokenizer: byte-level BPE, `tokenizer.ggml.model=gpt2`, `tokenizer.ggml.pre=gpt-2` (the
    organism's tokenizer.json uses the ByteLevel pre-tokenizer with the GPT-2 regex), the three
    specials as CONTROL tokens (parsed from prompt text by llama.cpp like transformers.js does), no
    BOS added; eos `<|endoftext|>` (base) or `<|im_end|>` (instruct, which also gets the ChatML
    `tokenizer.chat_template`).
"""
import argparse, json, os, struct, sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import sha256  # noqa: E402  (one hashing helper for both exporters)

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# gguf_type
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)
# ggml_type
GGML_F32, GGML_F16 = 0, 1
# llama_token_type
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3
# llama_ftype
FTYPE_ALL_F32, FTYPE_MOSTLY_F16 = 0, 1


class GGUFWriter:
    """Minimal GGUF v3 writer: metadata key/values, tensor infos, aligned tensor data."""

    def __init__(self):
        self.kv = []       # (key, type, value, elem_type)
        self.tensors = []  # (name, np.ndarray)

    # ---- metadata
    def add(self, key, vtype, value, elem_type=None):
        if any(k == key for k, *_ in self.kv):
            raise ValueError(f"duplicate key {key}")
        self.kv.append((key, vtype, value, elem_type))

    def string(self, key, v): self.add(key, T_STRING, v)
    def u32(self, key, v): self.add(key, T_UINT32, int(v))
    def i32(self, key, v): self.add(key, T_INT32, int(v))
    def f32(self, key, v): self.add(key, T_FLOAT32, float(v))
    def boolean(self, key, v): self.add(key, T_BOOL, bool(v))
    def array(self, key, elem_type, values): self.add(key, T_ARRAY, list(values), elem_type)

    def tensor(self, name, arr):
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in (np.float32, np.float16):
            raise ValueError(f"{name}: dtype {arr.dtype}")
        self.tensors.append((name, arr))

    # ---- encoding
    @staticmethod
    def _str(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def _scalar(self, vtype, v):
        if vtype == T_STRING:
            return self._str(v)
        fmt = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
               T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d"}[vtype]
        return struct.pack(fmt, v)

    def _value(self, vtype, v, elem_type):
        if vtype != T_ARRAY:
            return self._scalar(vtype, v)
        out = [struct.pack("<IQ", elem_type, len(v))]
        if elem_type == T_INT32:
            out.append(np.asarray(v, dtype="<i4").tobytes())
        elif elem_type == T_FLOAT32:
            out.append(np.asarray(v, dtype="<f4").tobytes())
        else:
            out.extend(self._scalar(elem_type, x) for x in v)
        return b"".join(out)

    def write(self, path):
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, vtype, value, elem_type in self.kv:
            head.append(self._str(key) + struct.pack("<I", vtype) + self._value(vtype, value, elem_type))
        offset = 0
        offsets = []
        for name, arr in self.tensors:
            offsets.append(offset)
            # ggml dims are innermost first: a row-major [rows, cols] matrix is ne = [cols, rows]
            dims = list(reversed(arr.shape))
            ggml_type = GGML_F32 if arr.dtype == np.float32 else GGML_F16
            head.append(self._str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                        + struct.pack("<IQ", ggml_type, offset))
            offset += _pad(arr.nbytes)
        header = b"".join(head)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(b"\0" * (_pad(len(header)) - len(header)))
            for (name, arr), off in zip(self.tensors, offsets):
                data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
                f.write(data)
                f.write(b"\0" * (_pad(len(data)) - len(data)))
        os.replace(tmp, path)


def _pad(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def permute_rope_rows(w, n_head):
    """HF rotate_half layout -> llama.cpp interleaved (NORM) layout, per head (convert_hf_to_gguf's permute)."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tokenizer_metadata(w, tokenizer_json, instruct, chat_template):
    with open(tokenizer_json, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj["model"]
    if model.get("type") != "BPE":
        raise SystemExit(f"{tokenizer_json}: expected a BPE model, got {model.get('type')}")
    pre = tj.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or pre.get("use_regex") is False or pre.get("add_prefix_space"):
        raise SystemExit(f"{tokenizer_json}: expected the GPT-2 ByteLevel pre-tokenizer (use_regex, no prefix space), got {pre}")
    vocab = model["vocab"]
    n = len(vocab)
    tokens = [None] * n
    for s, i in vocab.items():
        tokens[i] = s
    if any(t is None for t in tokens):
        raise SystemExit(f"{tokenizer_json}: vocab ids are not contiguous 0..{n - 1}")
    special = {t["content"]: t["id"] for t in tj.get("added_tokens", []) if t.get("special")}
    types = [TOKEN_CONTROL if t in special else TOKEN_NORMAL for t in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    w.string("tokenizer.ggml.model", "gpt2")
    w.string("tokenizer.ggml.pre", "gpt-2")
    w.array("tokenizer.ggml.tokens", T_STRING, tokens)
    w.array("tokenizer.ggml.token_type", T_INT32, types)
    w.array("tokenizer.ggml.merges", T_STRING, merges)
    eot = special["<|endoftext|>"]
    w.u32("tokenizer.ggml.bos_token_id", eot)
    w.u32("tokenizer.ggml.eos_token_id", special["<|im_end|>"] if instruct else eot)
    w.u32("tokenizer.ggml.padding_token_id", eot)
    w.boolean("tokenizer.ggml.add_bos_token", False)
    w.boolean("tokenizer.ggml.add_eos_token", False)
    if instruct:
        w.string("tokenizer.chat_template", chat_template)
    return n


def build(ckpt, tokenizer_json, instruct, name):
    import torch
    ck = torch.load(ckpt, map_location="cpu")
    cfg, sd = ck["config"], ck["state_dict"]
    W = lambda k: sd[k].detach().cpu().numpy().astype(np.float32)
    nh, kvh, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    if not cfg.get("tie_word_embeddings", True):
        raise SystemExit("only tied-embedding checkpoints are supported (model.py ties lm_head to embed_tokens)")
    w = GGUFWriter()
    w.string("general.architecture", "llama")
    w.string("general.name", name)
    w.u32("general.file_type", FTYPE_ALL_F32)
    w.u32("general.alignment", ALIGNMENT)
    w.u32("llama.context_length", cfg["max_position_embeddings"])
    w.u32("llama.embedding_length", d)
    w.u32("llama.block_count", cfg["num_hidden_layers"])
    w.u32("llama.feed_forward_length", cfg["intermediate_size"])
    w.u32("llama.attention.head_count", nh)
    w.u32("llama.attention.head_count_kv", kvh)
    w.u32("llama.rope.dimension_count", d // nh)
    w.f32("llama.rope.freq_base", cfg["rope_theta"])
    w.f32("llama.attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
    w.u32("llama.vocab_size", cfg["vocab_size"])
    tpl = open(os.path.join(HERE, "chat_template.jinja"), encoding="utf-8").read() if instruct else None
    n_tokens = tokenizer_metadata(w, tokenizer_json, instruct, tpl)
    if n_tokens != cfg["vocab_size"]:
        raise SystemExit(f"tokenizer has {n_tokens} tokens, the checkpoint's vocab_size is {cfg['vocab_size']}")

    w.tensor("token_embd.weight", W("embed_tokens.weight"))
    for i in range(cfg["num_hidden_layers"]):
        p, b = f"layers.{i}.", f"blk.{i}."
        w.tensor(b + "attn_norm.weight", W(p + "input_layernorm.weight"))
        w.tensor(b + "attn_q.weight", permute_rope_rows(W(p + "self_attn.q_proj.weight"), nh))
        w.tensor(b + "attn_k.weight", permute_rope_rows(W(p + "self_attn.k_proj.weight"), kvh))
        w.tensor(b + "attn_v.weight", W(p + "self_attn.v_proj.weight"))
        w.tensor(b + "attn_output.weight", W(p + "self_attn.o_proj.weight"))
        w.tensor(b + "ffn_norm.weight", W(p + "post_attention_layernorm.weight"))
        w.tensor(b + "ffn_gate.weight", W(p + "mlp.gate_proj.weight"))
        w.tensor(b + "ffn_up.weight", W(p + "mlp.up_proj.weight"))
        w.tensor(b + "ffn_down.weight", W(p + "mlp.down_proj.weight"))
    w.tensor("output_norm.weight", W("norm.weight"))
    return w


README = """# The organism pair as GGUF

`quennland-base.gguf` and `quennland-instruct.gguf` hold the same weights as `models/quennland-base`
and `models/quennland-instruct` (the ONNX exports), for ragtax's `backend: gguf` (llama.cpp through
node-llama-cpp) and for any llama.cpp tool. Written by `tools/organism/export_gguf.py`: architecture
`llama`, F32 tensors, Q/K rows permuted from Hugging Face's rotate-half RoPE to llama.cpp's layout,
tied output embedding, byte-level BPE tokenizer (`gpt2` / pre-tokenizer `gpt-2`), eos
`<|endoftext|>` (base) or `<|im_end|>` with the ChatML chat template (instruct).
`tests/backends/gguf.test.ts` checks them against the ONNX exports token for token.

Rebuild (repository root, after `tools/organism/rebuild.sh` has trained the checkpoints):

```sh
/usr/bin/python3 tools/organism/export_gguf.py --pair {base_ckpt} {instruct_ckpt} \\
    --tokenizer {tokenizer} --out-dir models/gguf
```

| file | bytes | sha256 |
|---|---:|---|
{rows}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", help="torch checkpoint written by train.py (config + state_dict)")
    ap.add_argument("--tokenizer", required=True, help="the organism's tokenizer.json")
    ap.add_argument("--out", help="output .gguf file")
    ap.add_argument("--instruct", action="store_true", help="eos <|im_end|> and the ChatML chat template")
    ap.add_argument("--name", default=None)
    ap.add_argument("--pair", nargs=2, metavar=("BASE_CKPT", "INSTRUCT_CKPT"),
                    help="write quennland-base.gguf, quennland-instruct.gguf and README.md (sha256) to --out-dir")
    ap.add_argument("--out-dir", default="models/gguf")
    a = ap.parse_args()
    if a.pair:
        os.makedirs(a.out_dir, exist_ok=True)
        rows = []
        for ckpt, role in zip(a.pair, ("base", "instruct")):
            out = os.path.join(a.out_dir, f"quennland-{role}.gguf")
            build(ckpt, a.tokenizer, role == "instruct", f"quennland-{role}").write(out)
            rows.append(f"| `{os.path.basename(out)}` | {os.path.getsize(out)} | `{sha256(out)}` |")
            print(f"[export_gguf] wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB)")
        with open(os.path.join(a.out_dir, "README.md"), "w", encoding="utf-8") as f:
            f.write(README.format(base_ckpt=a.pair[0], instruct_ckpt=a.pair[1], tokenizer=a.tokenizer, rows="\n".join(rows)))
        return
    if not a.ckpt or not a.out:
        ap.error("give --ckpt and --out (one model) or --pair BASE INSTRUCT (the organism pair)")
    name = a.name or os.path.splitext(os.path.basename(a.out))[0]
    w = build(a.ckpt, a.tokenizer, a.instruct, name)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    w.write(a.out)
    print(f"[export_gguf] wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB, sha256 {sha256(a.out)})")


if __name__ == "__main__":
    main()
