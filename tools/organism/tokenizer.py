#!/usr/bin/python3
"""Byte-level BPE tokenizer for the quennland model organism (offline tooling).

Trains a GPT-2 style byte-level BPE (256 byte tokens + merges) with three special tokens
(<|endoftext|>=0, <|im_start|>=1, <|im_end|>=2) and writes a Hugging Face `tokenizer.json`
that transformers.js (AutoTokenizer) loads. The Python encoder here reproduces the
transformers.js encoding exactly (same pre-tokenizer regex semantics, same merge order), which
`verify_node.py` checks.

usage: tokenizer.py train --pretrain P.jsonl --sft S.jsonl --vocab 3072 [--whole-words W.txt] --out DIR
       tokenizer.py encode DIR "text"
"""
import argparse, bisect, collections, heapq, json, os, re, sys, unicodedata

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


# ---------------------------------------------------------------- byte <-> unicode (GPT-2)
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


# ---------------------------------------------------------------- pre-tokenizer
# transformers.js: /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu
# Python's `re` has no \p{..}; build explicit classes from unicodedata, and use the
# ECMAScript definition of \s (not Python's).
def _ranges(pred):
    out, start, prev = [], None, None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            ok = False
        else:
            ok = pred(chr(cp))
        if ok and start is None:
            start = cp
        if not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in out)


_L = _ranges(lambda c: unicodedata.category(c).startswith("L"))
_N = _ranges(lambda c: unicodedata.category(c).startswith("N"))
_JS_WS = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
PRE_RE = re.compile(
    rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{_L}]+| ?[{_N}]+| ?[^{_JS_WS}{_L}{_N}]+|[{_JS_WS}]+(?![^{_JS_WS}])|[{_JS_WS}]+"
)
SPECIAL_RE = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")


def pre_tokenize(text):
    """Split ordinary text (no specials) into byte-level-unicode words."""
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PRE_RE.findall(text)]


# ---------------------------------------------------------------- training
def train_bpe(texts, vocab_size, min_freq=2, log=print):
    words = collections.Counter()
    for t in texts:
        for part in SPECIAL_RE.split(t):
            if part in SPECIALS or not part:
                continue
            words.update(pre_tokenize(part))
    log(f"[tokenizer] {len(words)} distinct pre-tokens, {sum(words.values())} total")
    wl = [list(w) for w in words]
    freq = [words[w] for w in words]
    pair_cnt = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(wl):
        for a, b in zip(w, w[1:]):
            pair_cnt[(a, b)] += freq[i]
            where[(a, b)].add(i)
    n_merges = vocab_size - len(SPECIALS) - 256
    merges = []
    # lazy max-heap keyed by (-count, pair) -> deterministic tie-break on the pair strings
    heap = [(-c, p) for p, c in pair_cnt.items()]
    heapq.heapify(heap)
    while len(merges) < n_merges and heap:
        negc, p = heapq.heappop(heap)
        c = pair_cnt.get(p, 0)
        if c != -negc:
            if c > 0:
                heapq.heappush(heap, (-c, p))
            continue
        if c < min_freq:
            break
        merges.append(p)
        a, b = p
        new = a + b
        touched = collections.Counter()
        for i in list(where[p]):
            w = wl[i]
            f = freq[i]
            # remove old pair counts of this word
            for x, y in zip(w, w[1:]):
                pair_cnt[(x, y)] -= f
                touched[(x, y)] += 0
            j, out = 0, []
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            wl[i] = out
            for x, y in zip(out, out[1:]):
                pair_cnt[(x, y)] += f
                where[(x, y)].add(i)
                touched[(x, y)] += 0
        del pair_cnt[p]
        where.pop(p, None)
        for q in touched:
            if q != p and pair_cnt.get(q, 0) > 0:
                heapq.heappush(heap, (-pair_cnt[q], q))
    log(f"[tokenizer] learned {len(merges)} merges -> vocab {len(SPECIALS) + 256 + len(merges)}")
    return merges


def build_vocab(merges):
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b in range(256):
        vocab[B2U[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:  # two merge rules can spell the same token: one id
            vocab[a + b] = len(vocab)
    return vocab


def bpe_segment(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        best, bi = None, -1
        for i in range(len(parts) - 1):
            rk = ranks.get((parts[i], parts[i + 1]))
            if rk is not None and (best is None or rk < best):
                best, bi = rk, i
        if best is None:
            break
        parts[bi:bi + 2] = [parts[bi] + parts[bi + 1]]
    return parts


def force_whole_words(merges, words, log=print):
    """Appends merges until every `" word"` (leading space, as inside running text) is one token.

    Merges are appended after all learned ones, so no learned segmentation changes. Each word is
    joined by merging first any adjacent pair whose concatenation is already a token (a new rule,
    no new id); otherwise the shortest pair, whose intermediate token later words may share. On the
    quennland lexicon that is rare: 1,779 words cost 2,529 new tokens. A later word's merge can
    pre-empt an earlier word's chain (BPE applies the lowest rank first), so repeat until every
    word is whole.
    """
    merges = list(merges)
    ranks = {m: r for r, m in enumerate(merges)}
    tokens = set(build_vocab(merges))
    pre = []
    for w in words:
        pieces = pre_tokenize(" " + w)
        if len(pieces) != 1:
            raise SystemExit(f"[tokenizer] whole word {w!r} is not one pre-token: {pieces}")
        pre.append(pieces[0])
    learned, learned_tokens = len(merges), len(tokens)
    for _ in range(10):
        broken = 0
        for word in pre:
            parts = bpe_segment(word, ranks)
            if len(parts) == 1:
                continue
            broken += 1
            while len(parts) > 1:
                known = [i for i in range(len(parts) - 1) if parts[i] + parts[i + 1] in tokens]
                # prefer the longest existing token; else the shortest new pair (left first)
                i = (max(known, key=lambda j: len(parts[j]) + len(parts[j + 1])) if known
                     else min(range(len(parts) - 1), key=lambda j: len(parts[j]) + len(parts[j + 1])))
                pair = (parts[i], parts[i + 1])
                if pair not in ranks:
                    ranks[pair] = len(merges)
                    merges.append(pair)
                    tokens.add(pair[0] + pair[1])
                parts[i:i + 2] = [pair[0] + pair[1]]
        if not broken:
            log(f"[tokenizer] {len(pre)} whole words: {len(merges) - learned} merges, "
                f"{len(tokens) - learned_tokens} new tokens -> vocab {len(tokens)}")
            return merges
    raise SystemExit("[tokenizer] whole words did not converge")


def tokenizer_json(merges):
    vocab = build_vocab(merges)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, s in enumerate(SPECIALS)
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab,
            "merges": [[a, b] for a, b in merges],
        },
    }


# ---------------------------------------------------------------- encoder (mirrors transformers.js)
class Tokenizer:
    def __init__(self, path):
        if os.path.isdir(path):
            path = os.path.join(path, "tokenizer.json")
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        self.vocab = tj["model"]["vocab"]
        self.inv = {i: s for s, i in self.vocab.items()}
        ms = tj["model"]["merges"]
        ms = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in ms]
        self.ranks = {m: r for r, m in enumerate(ms)}
        self.special = {t["content"]: t["id"] for t in tj["added_tokens"]}
        self.cache = {}
        self.vocab_size = len(self.vocab)
        self.eot, self.im_start, self.im_end = (self.special[s] for s in SPECIALS)

    def _bpe(self, word):
        r = self.cache.get(word)
        if r is None:
            r = self.cache[word] = [self.vocab[p] for p in bpe_segment(word, self.ranks)]
        return r

    def encode(self, text, allow_special=True):
        ids = []
        segs = SPECIAL_RE.split(text) if allow_special else [text]
        for part in segs:
            if not part:
                continue
            if allow_special and part in self.special:
                ids.append(self.special[part])
                continue
            for w in pre_tokenize(part):
                ids.extend(self._bpe(w))
        return ids

    def decode(self, ids, skip_special=False):
        out, buf = [], []
        for i in ids:
            s = self.inv[int(i)]
            if s in self.special:
                if buf:
                    out.append(bytes(buf).decode("utf-8", errors="replace"))
                    buf = []
                if not skip_special:
                    out.append(s)
            else:
                buf.extend(U2B[c] for c in s)
        if buf:
            out.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(out)


def read_texts(pretrain, sft):
    texts = []
    if pretrain:
        with open(pretrain, encoding="utf-8") as f:
            texts += [json.loads(l)["text"] for l in f if l.strip()]
    if sft:
        with open(sft, encoding="utf-8") as f:
            for l in f:
                if l.strip():
                    r = json.loads(l)
                    texts.append(r["prompt"] + r["completion"])
    return texts


def write_hf_files(out_dir, tokenizer_json_path, instruct, chat_template=None, max_len=1024):
    """tokenizer.json + tokenizer_config.json + special_tokens_map.json for transformers.js."""
    import shutil
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(tokenizer_json_path, os.path.join(out_dir, "tokenizer.json"))
    eos = "<|im_end|>" if instruct else "<|endoftext|>"
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_len,
        "bos_token": None,
        "eos_token": eos,
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "padding_side": "left",
        "added_tokens_decoder": {
            str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, s in enumerate(SPECIALS)
        },
    }
    if instruct:
        cfg["chat_template"] = chat_template
        cfg["additional_special_tokens"] = ["<|im_start|>", "<|im_end|>"]
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    stm = {"eos_token": eos, "pad_token": "<|endoftext|>"}
    if instruct:
        stm["additional_special_tokens"] = ["<|im_start|>", "<|im_end|>"]
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(stm, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--pretrain", required=True)
    t.add_argument("--sft", default=None)
    t.add_argument("--text", default=None, help="extra plain-text file")
    t.add_argument("--vocab", type=int, default=3072, help="learned vocabulary (whole words come on top)")
    t.add_argument("--whole-words", default=None, help="file of words (one per line) to make single tokens")
    t.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("dir")
    e.add_argument("text")
    a = ap.parse_args()
    if a.cmd == "train":
        texts = read_texts(a.pretrain, a.sft)
        if a.text:
            texts.append(open(a.text, encoding="utf-8").read())
        merges = train_bpe(texts, a.vocab)
        if a.whole_words:
            with open(a.whole_words, encoding="utf-8") as f:
                merges = force_whole_words(merges, [w.strip() for w in f if w.strip()])
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(merges), f, ensure_ascii=False)
        print(f"[tokenizer] wrote {a.out}/tokenizer.json")
    else:
        print(Tokenizer(a.dir).encode(a.text))


if __name__ == "__main__":
    main()
