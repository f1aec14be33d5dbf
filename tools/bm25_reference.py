#!/usr/bin/env python3
"""An independent Okapi BM25 (Lucene's BM25Similarity), to check ragtax's BM25 against.

Written from the documented rules (docs/retrieval.md), sharing no code with ragtax:

  tokens   NFKC, lowercase, maximal runs of letters, marks and digits (Unicode categories L*, M*,
           N*), minus the stopwords; one field: title + " " + text
  idf      ln(1 + (N - n + 0.5) / (n + 0.5)), N = documents with at least one token, n = the term's
           document frequency
  norm     k1 * (1 - b + b * dl / avgdl), dl = the token count (Lucene's one-byte quantisation of it
           with lengths = "lucene"), avgdl = total tokens / N
  score    sum over the distinct query terms, in first-occurrence order, of
           (qtf * idf) * tf / (tf + norm); ties broken by corpus order; documents without a query term
           are not ranked

Exhaustive scoring with numpy (no pruning), in double precision.

Usage: bm25_reference.py < input.json > output.json
  input:  {"docs": [{"title", "text"}], "queries": [str], "k1", "b", "lengths": "lucene"|"exact",
           "stopwords": [str], "k": int}
  output: {"top": [[doc index, ...] per query]}  (best first, at most k)
"""
import json
import math
import sys
import unicodedata

import numpy as np


def tokens(text, stopwords):
    text = unicodedata.normalize("NFKC", text).lower()
    out, word = [], []
    for ch in text:
        if unicodedata.category(ch)[0] in "LMN":
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return [w for w in out if w not in stopwords]


# Lucene's org.apache.lucene.util.SmallFloat, intToByte4 / byte4ToInt.
def _long_to_int4(i):
    bits = i.bit_length()
    if bits < 4:
        return i
    shift = bits - 4
    return ((i >> shift) & 0x07) | ((shift + 1) << 3)


def _int4_to_long(i):
    bits, shift = i & 0x07, (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_FREE = 255 - _long_to_int4(2**31 - 1)


def lucene_length(dl):
    """The length Lucene's BM25 uses for a document of dl tokens (its norm byte, decoded)."""
    byte = dl if dl < _FREE else _FREE + _long_to_int4(dl - _FREE)
    return byte if byte < _FREE else min(_FREE + _int4_to_long(byte - _FREE), 2**31 - 1)


def main():
    spec = json.load(sys.stdin)
    stop = set(spec["stopwords"])
    k1, b, k = float(spec["k1"]), float(spec["b"]), int(spec["k"])
    postings = {}  # term -> ([doc], [tf])
    lengths = np.zeros(len(spec["docs"]), dtype=np.float64)
    for d, doc in enumerate(spec["docs"]):
        toks = tokens(doc["title"] + " " + doc["text"], stop)
        lengths[d] = len(toks)
        counts = {}
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            entry = postings.setdefault(t, ([], []))
            entry[0].append(d)
            entry[1].append(min(c, 65535))
    n_docs = int(np.count_nonzero(lengths))
    avgdl = lengths.sum() / n_docs if n_docs else 1.0
    if spec["lengths"] == "lucene":
        dl = np.array([lucene_length(int(x)) for x in lengths], dtype=np.float64)
    else:
        dl = lengths
    norm = k1 * (1 - b + (b * dl) / avgdl)
    arrays = {t: (np.array(p[0], dtype=np.int64), np.array(p[1], dtype=np.float64)) for t, p in postings.items()}
    order = np.arange(len(lengths))
    top = []
    for query in spec["queries"]:
        qtf = {}
        for t in tokens(query, stop):
            qtf[t] = qtf.get(t, 0) + 1
        scores = np.zeros(len(lengths), dtype=np.float64)
        hit = np.zeros(len(lengths), dtype=bool)
        for t, c in qtf.items():
            if t not in arrays:
                continue
            docs, tfs = arrays[t]
            n = len(docs)
            w = c * math.log(1 + (n_docs - n + 0.5) / (n + 0.5))
            scores[docs] += (w * tfs) / (tfs + norm[docs])
            hit[docs] = True
        ranked = np.lexsort((order[hit], -scores[hit]))[:k]
        top.append([int(i) for i in order[hit][ranked]])
    json.dump({"top": top}, sys.stdout)


if __name__ == "__main__":
    main()
