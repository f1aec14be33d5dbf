#!/usr/bin/python3
"""Build the tiny random-weight test models that ragtax's model tests run through transformers.js.

Writes two folders in the layout `@huggingface/transformers` loads offline:
  tests/fixtures/models/tiny-base/   raw-text model, `<|endoftext|>` ends a sequence, no chat template
  tests/fixtures/models/tiny-chat/   same weights, ChatML template, `<|im_end|>` ends a sequence

Each holds config.json, generation_config.json, tokenizer.json, tokenizer_config.json and
onnx/model.onnx: a Llama-style decoder (grouped-query attention, rotary positions, RMSNorm,
SwiGLU) with a KV cache, opset 17. The weights are random (seeded, so every run writes the same
bytes); the model says nothing meaningful, it only exercises the generation path.

With --wide it also writes
  tests/fixtures/models/tiny-wide/   the same architecture with a 50,000-token vocabulary (room for
                                     Llama-2's 32,000, Phi-3's 32,064 and SmolLM's 49,152 ids), as small
                                     as it gets otherwise (hidden 8, one layer, tied embeddings), and NO
                                     tokenizer files: a test copies it and adds a real tokenizer.json +
                                     tokenizer_config.json. config.json names no BOS/EOS ids; EOS comes
                                     from the tokenizer that is added.
(--wide-only writes tiny-wide alone.) tiny-base and tiny-chat are the same bytes either way.

Usage: /usr/bin/python3 tools/build-test-model.py [--wide | --wide-only] [OUT_ROOT]
       (needs Debian python3-onnx, python3-numpy)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240611
CHAT_TEMPLATE_FILE = os.path.join(REPO, "tools", "organism", "chat_template.jinja")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# A few merges so common English pieces become single tokens (and multi-byte tokens get tested).
MERGES = [
    ("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"), ("Ġt", "he"), ("e", "r"),
    ("Ġ", "s"), ("a", "t"), ("Ġ", "w"), ("Ġ", "o"), ("e", "n"), ("Ġ", "c"), ("i", "s"), ("a", "n"),
    ("o", "r"), ("e", "s"), ("Ġ", "b"), ("e", "d"), ("Ġ", "f"), ("in", "g"), ("Ġ", "p"), ("o", "u"),
]

DIMS = dict(hidden=64, intermediate=128, layers=2, heads=4, kv_heads=2, context=512, rope_theta=10000.0, rms_eps=1e-5)

# tiny-wide: a vocabulary any of the real test tokenizers fits in, everything else minimal. The
# context is longer than tiny-base's so that RAG prompts through a real SentencePiece tokenizer fit.
WIDE_VOCAB = 50000
WIDE_SEED = 20250107
WIDE_DIMS = dict(hidden=8, intermediate=16, layers=1, heads=2, kv_heads=1, context=2048, rope_theta=10000.0, rms_eps=1e-5)


# ---------------------------------------------------------------- tokenizer


def byte_to_unicode():
    """GPT-2's reversible map from bytes to printable characters (byte-level BPE alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def build_vocab():
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for b, ch in sorted(byte_to_unicode().items()):
        vocab[ch] = len(vocab)
    for left, right in MERGES:
        assert left in vocab and right in vocab, (left, right)
        vocab[left + right] = len(vocab)
    return vocab


def tokenizer_json(vocab):
    added = [
        dict(id=i, content=tok, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
        for i, tok in enumerate(SPECIAL_TOKENS)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in MERGES],
        },
    }


def tokenizer_config(chat_template, eos_token):
    cfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(i): dict(content=tok, lstrip=False, normalized=False, rstrip=False, single_word=False, special=True)
            for i, tok in enumerate(SPECIAL_TOKENS)
        },
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "eos_token": eos_token,
        "model_max_length": DIMS["context"],
        "pad_token": eos_token,
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": "<|endoftext|>",
    }
    if chat_template is not None:
        cfg["chat_template"] = chat_template
    return cfg


# ---------------------------------------------------------------- ONNX graph


class GraphBuilder:
    """Collects nodes and initializers; every op gets a fresh, readable output name."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def const(self, value, name=None):
        self.count += 1
        name = name or f"c{self.count}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def ints(self, values):
        return self.const(np.array(values, dtype=np.int64))

    def scalar(self, value):
        return self.const(np.array(value, dtype=np.float32))

    def op(self, op_type, inputs, out=None, **attrs):
        self.count += 1
        out = out or f"{op_type}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


class TinyLlama:
    """Emits a Llama decoder graph whose weights come from one seeded generator."""

    def __init__(self, vocab_size, dims, rng, tie_embeddings=False):
        self.g = GraphBuilder()
        self.v, self.d, self.rng = vocab_size, dims, rng
        # Tied: the LM head is the transposed embedding (halves the file for a wide vocabulary).
        self.tie_embeddings = tie_embeddings
        self.head_dim = dims["hidden"] // dims["heads"]

    def weight(self, fan_in, fan_out):
        # 1/sqrt(fan_in) keeps each sub-layer's contribution comparable to the residual stream,
        # so the output depends on the context rather than only on the last token.
        return self.g.const((self.rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32))

    def norm_weight(self):
        return self.g.const((1.0 + 0.1 * self.rng.standard_normal(self.d["hidden"])).astype(np.float32))

    def rms_norm(self, x):
        g = self.g
        mean_square = g.op("ReduceMean", [g.op("Mul", [x, x])], axes=[-1], keepdims=1)
        inv_rms = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [mean_square, g.scalar(self.d["rms_eps"])])])])
        return g.op("Mul", [g.op("Mul", [x, inv_rms]), self.norm_weight()])

    def split_heads(self, x, n_heads):
        """[B, S, n*D] -> [B, n, S, D]"""
        g = self.g
        return g.op("Transpose", [g.op("Reshape", [x, g.ints([0, 0, n_heads, self.head_dim])])], perm=[0, 2, 1, 3])

    def rotate(self, x, cos, sin):
        """Rotary embedding in the split-halves form: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)."""
        g, half = self.g, self.head_dim // 2
        x1 = g.op("Slice", [x, g.ints([0]), g.ints([half]), g.ints([3])])
        x2 = g.op("Slice", [x, g.ints([half]), g.ints([self.head_dim]), g.ints([3])])
        first = g.op("Sub", [g.op("Mul", [x1, cos]), g.op("Mul", [x2, sin])])
        second = g.op("Add", [g.op("Mul", [x2, cos]), g.op("Mul", [x1, sin])])
        return g.op("Concat", [first, second], axis=3)

    def share_kv_heads(self, x, batch_heads_shape):
        """Grouped-query attention: [B, KVH, T, D] -> [B, H, T, D] by repeating each KV head."""
        g, group = self.g, self.d["heads"] // self.d["kv_heads"]
        if group == 1:
            return x
        expanded = g.op("Expand", [g.op("Unsqueeze", [x, g.ints([2])]), g.ints([1, 1, group, 1, 1])])
        return g.op("Reshape", [expanded, batch_heads_shape])

    def rope_tables(self):
        half = self.head_dim // 2
        inv_freq = self.d["rope_theta"] ** (-np.arange(half, dtype=np.float64) / half)
        angles = np.arange(self.d["context"], dtype=np.float64)[:, None] * inv_freq[None, :]
        return self.g.const(np.cos(angles).astype(np.float32), "rope_cos"), self.g.const(np.sin(angles).astype(np.float32), "rope_sin")

    def attention_allowed(self):
        """Bool [B, 1, S, T]: key t is visible to query s when t <= past + s and t is not padding."""
        g = self.g
        past = g.op("Gather", [g.op("Shape", ["past_key_values.0.key"]), g.ints(2)], axis=0)
        seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.ints(1)], axis=0)
        total = g.op("Add", [past, seq])
        query_pos = g.op("Unsqueeze", [g.op("Range", [past, total, g.ints(1)]), g.ints([1])])
        key_pos = g.op("Unsqueeze", [g.op("Range", [g.ints(0), total, g.ints(1)]), g.ints([0])])
        causal = g.op("Unsqueeze", [g.op("LessOrEqual", [key_pos, query_pos]), g.ints([0, 1])])
        not_padding = g.op("Unsqueeze", [g.op("Greater", ["attention_mask", g.ints(0)]), g.ints([1, 2])])
        return g.op("And", [causal, not_padding])

    def build(self):
        g, d, hd = self.g, self.d, self.head_dim
        H, NH, KVH = d["hidden"], d["heads"], d["kv_heads"]
        inputs = [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
            helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        ]
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", self.v])]
        for layer in range(d["layers"]):
            for kind in ("key", "value"):
                inputs.append(helper.make_tensor_value_info(
                    f"past_key_values.{layer}.{kind}", TensorProto.FLOAT, ["batch_size", KVH, "past_sequence_length", hd]))
                outputs.append(helper.make_tensor_value_info(
                    f"present.{layer}.{kind}", TensorProto.FLOAT, ["batch_size", KVH, "total_sequence_length", hd]))

        embedding = g.const((self.rng.standard_normal((self.v, H))).astype(np.float32), "embed_tokens")
        x = g.op("Gather", [embedding, "input_ids"], axis=0)
        cos_table, sin_table = self.rope_tables()
        cos = g.op("Unsqueeze", [g.op("Gather", [cos_table, "position_ids"], axis=0), g.ints([1])])  # [B,1,S,D/2]
        sin = g.op("Unsqueeze", [g.op("Gather", [sin_table, "position_ids"], axis=0), g.ints([1])])
        allowed = self.attention_allowed()
        masked_score = g.scalar(np.finfo(np.float32).min)
        batch_heads_shape = g.ints([0, NH, -1, hd])

        for layer in range(d["layers"]):
            h = self.rms_norm(x)
            q = self.rotate(self.split_heads(g.op("MatMul", [h, self.weight(H, NH * hd)]), NH), cos, sin)
            k = self.rotate(self.split_heads(g.op("MatMul", [h, self.weight(H, KVH * hd)]), KVH), cos, sin)
            v = self.split_heads(g.op("MatMul", [h, self.weight(H, KVH * hd)]), KVH)
            keys = g.op("Concat", [f"past_key_values.{layer}.key", k], out=f"present.{layer}.key", axis=2)
            values = g.op("Concat", [f"past_key_values.{layer}.value", v], out=f"present.{layer}.value", axis=2)
            scores = g.op("Mul", [
                g.op("MatMul", [q, g.op("Transpose", [self.share_kv_heads(keys, batch_heads_shape)], perm=[0, 1, 3, 2])]),
                g.scalar(1.0 / np.sqrt(hd)),
            ])
            # Masked keys get exactly float32 min, so their softmax weight is exactly 0.
            probs = g.op("Softmax", [g.op("Where", [allowed, scores, masked_score])], axis=-1)
            context = g.op("MatMul", [probs, self.share_kv_heads(values, batch_heads_shape)])
            merged = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), g.ints([0, 0, NH * hd])])
            x = g.op("Add", [x, g.op("MatMul", [merged, self.weight(NH * hd, H)])])

            h = self.rms_norm(x)
            gate = g.op("MatMul", [h, self.weight(H, d["intermediate"])])
            up = g.op("MatMul", [h, self.weight(H, d["intermediate"])])
            swish = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
            x = g.op("Add", [x, g.op("MatMul", [g.op("Mul", [swish, up]), self.weight(d["intermediate"], H)])])

        if self.tie_embeddings:
            g.op("MatMul", [self.rms_norm(x), g.op("Transpose", [embedding], perm=[1, 0])], out="logits")
        else:
            g.op("MatMul", [self.rms_norm(x), self.weight(H, self.v)], out="logits")
        graph = helper.make_graph(g.nodes, "ragtax_tiny_llama", inputs, outputs, g.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ragtax build-test-model")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


# ---------------------------------------------------------------- folders


def model_config(vocab_size, eos_id, d=DIMS, tie_embeddings=False):
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": d["hidden"],
        "intermediate_size": d["intermediate"],
        "num_hidden_layers": d["layers"],
        "num_attention_heads": d["heads"],
        "num_key_value_heads": d["kv_heads"],
        "head_dim": d["hidden"] // d["heads"],
        "max_position_embeddings": d["context"],
        "rms_norm_eps": d["rms_eps"],
        "rope_theta": d["rope_theta"],
        "hidden_act": "silu",
        "tie_word_embeddings": tie_embeddings,
        "bos_token_id": 0,
        "eos_token_id": eos_id,
        "pad_token_id": eos_id,
        "torch_dtype": "float32",
    }
    if eos_id is None:
        # No tokenizer of its own: special-token ids are the added tokenizer's business.
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            del config[key]
    return config


def write_json(path, value):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def write_folder(folder, model_bytes, vocab, chat_template, eos_token):
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    eos_id = vocab[eos_token]
    write_json(os.path.join(folder, "config.json"), model_config(len(vocab), eos_id))
    write_json(os.path.join(folder, "generation_config.json"),
               {"bos_token_id": 0, "eos_token_id": eos_id, "pad_token_id": eos_id, "do_sample": False})
    write_json(os.path.join(folder, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(folder, "tokenizer_config.json"), tokenizer_config(chat_template, eos_token))
    with open(os.path.join(folder, "onnx", "model.onnx"), "wb") as f:
        f.write(model_bytes)


def write_wide_folder(folder):
    """tiny-wide: weights and configs only; the test supplies tokenizer.json and tokenizer_config.json."""
    model = TinyLlama(WIDE_VOCAB, WIDE_DIMS, np.random.default_rng(WIDE_SEED), tie_embeddings=True).build()
    model_bytes = model.SerializeToString()
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    for stale in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(folder, stale)):
            os.remove(os.path.join(folder, stale))
    write_json(os.path.join(folder, "config.json"), model_config(WIDE_VOCAB, None, WIDE_DIMS, tie_embeddings=True))
    write_json(os.path.join(folder, "generation_config.json"), {"do_sample": False})
    with open(os.path.join(folder, "onnx", "model.onnx"), "wb") as f:
        f.write(model_bytes)
    return len(model_bytes)


def main():
    args = sys.argv[1:]
    flags = {a for a in args if a.startswith("--")}
    unknown = flags - {"--wide", "--wide-only"}
    positional = [a for a in args if not a.startswith("--")]
    if unknown or len(positional) > 1:
        sys.exit(f"usage: {sys.argv[0]} [--wide | --wide-only] [OUT_ROOT]")
    out_root = positional[0] if positional else os.path.join(REPO, "tests", "fixtures", "models")
    if flags & {"--wide", "--wide-only"}:
        size = write_wide_folder(os.path.join(out_root, "tiny-wide"))
        print(f"wrote tiny-wide under {out_root} (vocab {WIDE_VOCAB}, onnx {size} bytes)")
        if "--wide-only" in flags:
            return
    vocab = build_vocab()
    model = TinyLlama(len(vocab), DIMS, np.random.default_rng(SEED)).build()
    model_bytes = model.SerializeToString()
    with open(CHAT_TEMPLATE_FILE, encoding="utf-8") as f:
        # Jinja drops a single trailing newline of a template file; do the same.
        chat_template = f.read().removesuffix("\n")
    write_folder(os.path.join(out_root, "tiny-base"), model_bytes, vocab, None, "<|endoftext|>")
    write_folder(os.path.join(out_root, "tiny-chat"), model_bytes, vocab, chat_template, "<|im_end|>")
    print(f"wrote tiny-base and tiny-chat under {out_root} (vocab {len(vocab)}, onnx {len(model_bytes)} bytes)")


if __name__ == "__main__":
    main()
