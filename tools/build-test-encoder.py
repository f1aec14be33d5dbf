#!/usr/bin/python3
"""Build the tiny random-weight embedding model that ragtax's dense-retrieval tests load offline.

Writes tests/fixtures/models/tiny-encoder/ in the layout `@huggingface/transformers` reads:
  config.json             model_type "bert", architectures ["BertModel"], plus `ragtax_embedding`
                          (pooling, normalize, prefixes) which ragtax reads as the model's defaults
  tokenizer.json          a WordPiece tokenizer (BERT normaliser, pre-tokeniser and [CLS] x [SEP])
  tokenizer_config.json   BertTokenizer, lowercase
  vocab.txt               the same vocabulary, one token a line (for other tools)
  onnx/model.onnx         a BERT encoder: input_ids, attention_mask, token_type_ids -> last_hidden_state

The vocabulary is made here from the words of the test fixtures (corpus, questions, BEIR fixture)
plus single characters and `##` continuations, so any text tokenises (rare words fall back to
pieces). The weights are random but seeded: every run writes the same bytes. The model embeds
nothing meaningfully; it exercises the embedding path (tokenise, forward, pool, normalise, index).
A real embedding model (e.g. a MiniLM ONNX export in the same layout) is a suite setting away.

Usage: /usr/bin/python3 tools/build-test-encoder.py [OUT_DIR]   (needs Debian python3-onnx, python3-numpy)
"""
import glob
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20241121
DIMS = dict(hidden=32, intermediate=64, layers=2, heads=2, positions=128, type_vocab=2, ln_eps=1e-12)
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORD = re.compile(r"[a-z0-9]+")


# ---------------------------------------------------------------- vocabulary


def fixture_texts():
    """Every string value in the JSON(L) fixtures the tests embed."""
    texts = []

    def walk(value):
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)

    patterns = ["tests/fixtures/data/*.jsonl", "tests/fixtures/data/beir/*.jsonl"]
    for pattern in patterns:
        for file in sorted(glob.glob(os.path.join(REPO, pattern))):
            with open(file, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        walk(json.loads(line))
    return texts


def build_vocab():
    words = set()
    for text in fixture_texts():
        words.update(WORD.findall(text.lower()))
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    punct = list(".,;:!?'\"()-/&%$")
    tokens = SPECIAL + punct + chars + ["##" + c for c in chars] + ["query", "passage"] + sorted(words)
    seen, vocab = set(), {}
    for tok in tokens:
        if tok not in seen:
            seen.add(tok)
            vocab[tok] = len(vocab)
    return vocab


def tokenizer_json(vocab):
    added = [
        dict(id=vocab[t], content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True) for t in SPECIAL
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
    }


def tokenizer_config():
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "clean_up_tokenization_spaces": True,
        "model_max_length": DIMS["positions"],
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }


def model_config(vocab_size):
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": DIMS["hidden"],
        "intermediate_size": DIMS["intermediate"],
        "num_hidden_layers": DIMS["layers"],
        "num_attention_heads": DIMS["heads"],
        "max_position_embeddings": DIMS["positions"],
        "type_vocab_size": DIMS["type_vocab"],
        "layer_norm_eps": DIMS["ln_eps"],
        "hidden_act": "gelu",
        "pad_token_id": 0,
        "torch_dtype": "float32",
        # ragtax's own key: the embedding recipe this model was made for (a suite may override it).
        "ragtax_embedding": {"pooling": "mean", "normalize": True, "query_prefix": "query: ", "passage_prefix": "passage: "},
    }


# ---------------------------------------------------------------- ONNX graph


class Graph:
    """Nodes and initialisers with generated names; weights drawn from one seeded generator."""

    def __init__(self, rng):
        self.rng, self.nodes, self.inits, self.n = rng, [], [], 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def tensor(self, array):
        name = self.name("w")
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def i64(self, values):
        return self.tensor(np.array(values, dtype=np.int64))

    def f32(self, value):
        return self.tensor(np.array(value, dtype=np.float32))

    def random(self, *shape, scale=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        return self.tensor((self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, kind, inputs, out=None, **attrs):
        out = out or self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def layer_norm(self, x, hidden):
        gamma = self.tensor((1.0 + 0.05 * self.rng.standard_normal(hidden)).astype(np.float32))
        beta = self.tensor((0.05 * self.rng.standard_normal(hidden)).astype(np.float32))
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=DIMS["ln_eps"])

    def dense(self, x, fan_in, fan_out):
        return self.op("Add", [self.op("MatMul", [x, self.random(fan_in, fan_out)]), self.tensor(np.zeros(fan_out, np.float32))])


def encoder_graph(vocab_size, rng):
    g = Graph(rng)
    H, FF, heads = DIMS["hidden"], DIMS["intermediate"], DIMS["heads"]
    head_dim = H // heads
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.i64(1)], axis=0)
    positions = g.op("Unsqueeze", [g.op("Range", [g.i64(0), seq_len, g.i64(1)]), g.i64([0])])
    words = g.op("Gather", [g.random(vocab_size, H, scale=1.0), "input_ids"], axis=0)
    pos = g.op("Gather", [g.random(DIMS["positions"], H, scale=0.1), positions], axis=0)
    types = g.op("Gather", [g.random(DIMS["type_vocab"], H, scale=0.1), "token_type_ids"], axis=0)
    x = g.layer_norm(g.op("Add", [g.op("Add", [words, pos]), types]), H)
    # Additive attention bias [B, 1, 1, T]: 0 for real tokens, -1e9 for padding.
    mask = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.i64([1, 2])])], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.f32(1.0), mask]), g.f32(-1e9)])

    def split(t):  # [B, S, H] -> [B, heads, S, head_dim]
        return g.op("Transpose", [g.op("Reshape", [t, g.i64([0, 0, heads, head_dim])])], perm=[0, 2, 1, 3])

    for _ in range(DIMS["layers"]):
        q, k, v = (split(g.dense(x, H, H)) for _ in range(3))
        scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = g.op("Add", [g.op("Mul", [scores, g.f32(1.0 / np.sqrt(head_dim))]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        merged = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), g.i64([0, 0, H])])
        x = g.layer_norm(g.op("Add", [x, g.dense(merged, H, H)]), H)
        inner = g.dense(x, H, FF)
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        gelu = g.op("Mul", [g.op("Mul", [inner, g.f32(0.5)]), g.op("Add", [g.f32(1.0), g.op("Erf", [g.op("Mul", [inner, g.f32(1 / np.sqrt(2))])])])])
        x = g.layer_norm(g.op("Add", [x, g.dense(gelu, FF, H)]), H)
    g.op("Identity", [x], out="last_hidden_state")

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch_size", "sequence_length"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", H])]
    model = helper.make_model(
        helper.make_graph(g.nodes, "ragtax_tiny_encoder", inputs, outputs, g.inits),
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="ragtax-tools",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests", "fixtures", "models", "tiny-encoder")
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    vocab = build_vocab()
    rng = np.random.default_rng(SEED)

    def write_json(name, value):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(value, f, indent=1, ensure_ascii=False)
            f.write("\n")

    write_json("config.json", model_config(len(vocab)))
    write_json("tokenizer.json", tokenizer_json(vocab))
    write_json("tokenizer_config.json", tokenizer_config())
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(tok + "\n" for tok in vocab))
    onnx.save(encoder_graph(len(vocab), rng), os.path.join(out, "onnx", "model.onnx"))
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({len(vocab)} tokens, {total} bytes)")


if __name__ == "__main__":
    main()
