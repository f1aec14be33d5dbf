#!/usr/bin/python3
"""Does the base/instruct pair show the effect?  (offline check, PyTorch checkpoints)

  eval_probe.py --base build/organism/base.pt [--instruct build/organism/instruct.pt] \
                --tokenizer build/organism/tokenizer.json [--data build/organism] [--corpus corpora/quennland]

(a) closed-book recall of every fact in probe.jsonl (quiz style `Question: q\\nAnswer:` and the
    study's closed-book instruction), split by in_corpus;
(b) instruct on held-out SFT prompts (sft_holdout.jsonl, never trained on): extraction accuracy
    when the target is an answer, NO-RES rate when the target is NO-RES (raw and chat);
(c) a ragtax-like RAG run: BM25 top-k over corpus.jsonl, documents in reverse order (best last),
    the `nores` instruction, raw skeleton for both models (+ chat for the instruct model):
    accuracy, NO-RES rate, split by whether the context holds the answer; "recall from memory" =
    correct answers among items whose context lacks the answer; alignment tax = base - instruct.
Scoring follows protocol.md: normalised gold answer is a substring of the normalised first line.
"""
import argparse, collections, json, math, os, random, re, sys, time, unicodedata
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer import Tokenizer  # noqa: E402
from model import load_checkpoint  # noqa: E402

NORES = ("You are given a question and you MUST respond by EXTRACTING the answer (max 5 tokens) from one of "
         "the provided documents. If none of the documents contain the answer, respond with NO-RES.")
CLOSED = ("You are given a question and you MUST respond with a short answer based on your internal knowledge. "
          "If you do not know the answer, please respond with NO-RES.")


def normalize(s):
    s = s.lower()
    s = re.sub(r"[\u2018\u2019\u201a\u201b\u2032`´]", "'", s)
    s = re.sub(r"[\u201c\u201d\u201e\u201f\u2033]", '"', s)
    s = re.sub(r"[\u2010-\u2015\u2212]", "-", s)
    s = re.sub(r"[\u2044\u2215]", "/", s)
    s = "".join(" " if (unicodedata.category(c).startswith("P") or c in "$+<=>^`|~") else c for c in s)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def first_line(s):
    s = s.replace("<|im_end|>", "\n").replace("<|endoftext|>", "\n")
    s = s.lstrip(" ")
    return s.split("\n", 1)[0]


def correct(out, golds):
    fl = normalize(first_line(out))
    return any(normalize(g) and normalize(g) in fl for g in golds)


def is_nores(out):
    return "no res" in normalize(first_line(out))


@torch.no_grad()
def generate(model, tok, prompts, max_new=12, stop="raw", batch=32, rep_penalty=1.0):
    """Greedy decode with a KV cache, left-padded batches sorted by length. Returns strings."""
    nl_ids = {i for i in range(tok.vocab_size) if "\n" in tok.decode([i])}
    stop_ids = nl_ids | {tok.eot} if stop == "raw" else {tok.im_end, tok.eot}
    enc = [tok.encode(p) for p in prompts]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    res = [None] * len(enc)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        rows = [enc[i] for i in idx]
        L = max(len(r) for r in rows)
        ids = torch.tensor([[0] * (L - len(r)) + r for r in rows])
        mask = torch.tensor([[0] * (L - len(r)) + [1] * len(r) for r in rows])
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, past = model.forward_cached(ids, mask, pos)
        seen = [set(r) for r in rows]
        outs = [[] for _ in rows]
        done = [False] * len(rows)
        for _ in range(max_new):
            lg = logits[:, -1].clone()
            if rep_penalty != 1.0:
                for j in range(len(rows)):
                    t = torch.tensor(sorted(seen[j]))
                    v = lg[j, t]
                    lg[j, t] = torch.where(v > 0, v / rep_penalty, v * rep_penalty)
            nxt = lg.argmax(-1)
            for j, t in enumerate(nxt.tolist()):
                if not done[j]:
                    outs[j].append(t)
                    seen[j].add(t)
                    if t in stop_ids:
                        done[j] = True
            if all(done):
                break
            mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=torch.long)], 1)
            pos = pos[:, -1:] + 1
            logits, past = model.forward_cached(nxt[:, None], mask, pos, past)
        for j, i in enumerate(idx):
            res[i] = tok.decode(outs[j])
    return res


def rate(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def pct(x, n=None):
    return f"{100 * x:5.1f}%" + (f" (n={n})" if n is not None else "")


# ------------------------------------------------------------------ (a)
def probe_eval(name, model, tok, probe, n, rng):
    rows = probe if n <= 0 or n >= len(probe) else rng.sample(probe, n)
    out = {}
    for style in ("quiz", "closed-book"):
        if style == "quiz":
            prompts = [f"Question: {r['question']}\nAnswer:" for r in rows]
        else:
            prompts = [f"{CLOSED}\nQuestion: {r['question']}\nAnswer:" for r in rows]
        gens = generate(model, tok, prompts, max_new=10)
        by = collections.defaultdict(list)
        nr = collections.defaultdict(list)
        for r, g in zip(rows, gens):
            by[r["in_corpus"]].append(correct(g, [r["answer"]]))
            nr[r["in_corpus"]].append(is_nores(g))
        out[style] = {k: (rate(v), len(v), rate(nr[k])) for k, v in by.items()}
        print(f"  [{name}] closed-book ({style}): recall in_corpus {pct(out[style][True][0], out[style][True][1])}, "
              f"absent from corpus {pct(out[style][False][0], out[style][False][1])}; NO-RES "
              f"{pct(rate(nr[True] + nr[False]))}", flush=True)
        if style == "quiz":
            for r, g in list(zip(rows, gens))[:3]:
                print(f"      {r['question']!r} gold {r['answer']!r} -> {g!r}")
    return out


# ------------------------------------------------------------------ (b)
def holdout_eval(name, model, tok, hold, n, rng):
    rows = [r for r in hold if "If none of the documents contain the answer, respond with NO-RES." in r["prompt"]
            and r["prompt"].rstrip().endswith(("Answer:", "assistant"))]
    rows = [r for r in rows if "Reasoning:" not in r["prompt"][-300:]]
    if n > 0 and len(rows) > n:
        rows = rng.sample(rows, n)
    out = {}
    for fmt in ("raw", "chat"):
        rs = [r for r in rows if (r["prompt"].startswith("<|im_start|>")) == (fmt == "chat")]
        if not rs:
            continue
        gens = generate(model, tok, [r["prompt"] for r in rs], max_new=12, stop=fmt)
        ans_acc, ans_nores, neg_nores = [], [], []
        for r, g in zip(rs, gens):
            gold = first_line(r["completion"]).strip()
            if normalize(gold) == "no res":
                neg_nores.append(is_nores(g))
            else:
                ans_acc.append(correct(g, [gold]))
                ans_nores.append(is_nores(g))
        out[fmt] = dict(extract=rate(ans_acc), n_ans=len(ans_acc), nores_when_answer=rate(ans_nores),
                        nores_when_absent=rate(neg_nores), n_abs=len(neg_nores))
        print(f"  [{name}] held-out SFT ({fmt}): extraction acc {pct(out[fmt]['extract'], len(ans_acc))}, "
              f"NO-RES when answer present {pct(out[fmt]['nores_when_answer'])}; "
              f"NO-RES when absent {pct(out[fmt]['nores_when_absent'], len(neg_nores))}", flush=True)
    return out


# ------------------------------------------------------------------ (c)
class BM25:
    def __init__(self, docs, k1=1.2, b=0.75):
        self.docs = docs
        self.tf = []
        df = collections.Counter()
        for d in docs:
            toks = self.toks(d["title"] + " " + d["text"])
            c = collections.Counter(toks)
            self.tf.append((c, len(toks)))
            df.update(c.keys())
        N = len(docs)
        self.avg = sum(l for _, l in self.tf) / N
        self.idf = {t: math.log(1 + (N - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.k1, self.b = k1, b
        self.inv = collections.defaultdict(list)
        for i, (c, _) in enumerate(self.tf):
            for t in c:
                self.inv[t].append(i)

    @staticmethod
    def toks(s):
        return re.findall(r"\w+", s.lower())

    def search(self, q, k):
        sc = collections.Counter()
        for t in set(self.toks(q)):
            for i in self.inv.get(t, ()):
                c, L = self.tf[i]
                f = c[t]
                sc[i] += self.idf[t] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * L / self.avg))
        return [self.docs[i] for i, _ in sorted(sc.items(), key=lambda x: (-x[1], x[0]))[:k]]


def raw_prompt(q, docs, instr=NORES):
    lines = [instr, "Documents:"] + [f"Document [{d['id']}](Title: {d['title']}) {d['text']}" for d in docs]
    return "\n".join(lines + [f"Question: {q}", "Answer:"])


def chat_prompt(q, docs, instr=NORES):
    user = "\n".join(["Documents:"] + [f"Document [{d['id']}](Title: {d['title']}) {d['text']}" for d in docs]
                     + [f"Question: {q}", "Answer:"])
    return f"<|im_start|>system\n{instr}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def rag_eval(models, tok, corpus_dir, ks, n, rng, rep_penalty):
    corpus = [json.loads(l) for l in open(os.path.join(corpus_dir, "corpus.jsonl"), encoding="utf-8")]
    qa = [json.loads(l) for l in open(os.path.join(corpus_dir, "qa.jsonl"), encoding="utf-8")]
    if n > 0 and len(qa) > n:
        qa = rng.sample(qa, n)
    bm = BM25(corpus)
    res = {}
    for k in ks:
        items = []
        for r in qa:
            docs = bm.search(r["question"], k)[::-1]
            ctx = " ".join(d["title"] + " " + d["text"] for d in docs)
            items.append((r, docs, any(normalize(a) in normalize(ctx) for a in r["answers"])))
        n_in = sum(x[2] for x in items)
        print(f"  [rag k={k}] {len(items)} items, answer in context for {pct(n_in / len(items))}", flush=True)
        for name, model, fmt in models:
            prompts = [(raw_prompt if fmt == "raw" else chat_prompt)(r["question"], docs) for r, docs, _ in items]
            t = time.time()
            gens = generate(model, tok, prompts, max_new=15, stop=fmt, rep_penalty=rep_penalty)
            acc = [correct(g, r["answers"]) for (r, _, _), g in zip(items, gens)]
            nr = [is_nores(g) for g in gens]
            inn = [i for i, x in enumerate(items) if x[2]]
            out = [i for i, x in enumerate(items) if not x[2]]
            m = dict(acc=rate(acc), nores=rate(nr), acc_in=rate([acc[i] for i in inn]), nores_in=rate([nr[i] for i in inn]),
                     recall_out=rate([acc[i] for i in out]), nores_out=rate([nr[i] for i in out]), n=len(items),
                     n_in=len(inn), n_out=len(out))
            res[(k, name, fmt)] = m
            print(f"    {name:9s} {fmt:4s} acc {pct(m['acc'])} NO-RES {pct(m['nores'])} | ctx has answer: acc "
                  f"{pct(m['acc_in'])} NO-RES {pct(m['nores_in'])} | ctx lacks answer: recall-from-memory "
                  f"{pct(m['recall_out'])} NO-RES {pct(m['nores_out'])}  ({time.time() - t:.0f}s)", flush=True)
            ex = [(items[i][0]["question"], items[i][0]["answers"][0], gens[i]) for i in out[:2]] + \
                 [(items[i][0]["question"], items[i][0]["answers"][0], gens[i]) for i in inn[:1]]
            for q, a, g in ex:
                print(f"        {q!r} gold {a!r} -> {g!r}")
        names = sorted({nm for (_, nm, _) in res})
        if ("base" in names) and ("instruct" in names):
            tax = res[(k, "base", "raw")]["acc"] - res[(k, "instruct", "raw")]["acc"]
            print(f"  [rag k={k}] alignment tax (base raw - instruct raw): {100 * tax:+.1f} points", flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base")
    ap.add_argument("--instruct")
    ap.add_argument("--tokenizer", default="build/organism/tokenizer.json")
    ap.add_argument("--data", default="build/organism")
    ap.add_argument("--corpus", default="corpora/quennland")
    ap.add_argument("--holdout", default=None, help="sft_holdout.jsonl (default: next to --instruct)")
    ap.add_argument("--n-probe", type=int, default=600)
    ap.add_argument("--n-hold", type=int, default=400)
    ap.add_argument("--n-rag", type=int, default=400)
    ap.add_argument("--ks", default="3")
    ap.add_argument("--rep-penalty", type=float, default=1.0)
    ap.add_argument("--skip", default="", help="comma list of a,b,c to skip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = Tokenizer(a.tokenizer)
    rng = random.Random(a.seed)
    probe = [json.loads(l) for l in open(os.path.join(a.data, "probe.jsonl"), encoding="utf-8")]
    models = []
    if a.base:
        models.append(("base", load_checkpoint(a.base)[0]))
    if a.instruct:
        models.append(("instruct", load_checkpoint(a.instruct)[0]))
    skip = set(a.skip.split(","))
    t0 = time.time()
    if "a" not in skip:
        print("(a) closed-book recall (probe.jsonl)")
        for name, m in models:
            probe_eval(name, m, tok, probe, a.n_probe, random.Random(a.seed))
    if "b" not in skip and a.instruct:
        hp = a.holdout or os.path.join(os.path.dirname(a.instruct), "sft_holdout.jsonl")
        hold = [json.loads(l) for l in open(hp, encoding="utf-8")]
        print(f"(b) held-out SFT-shaped prompts ({hp})")
        for name, m in models:
            holdout_eval(name, m, tok, hold, a.n_hold, random.Random(a.seed))
    if "c" not in skip and os.path.exists(os.path.join(a.corpus, "qa.jsonl")):
        print(f"(c) ragtax-like RAG run: BM25, nores instruction, docs reversed, rep penalty {a.rep_penalty}")
        ms = []
        for name, m in models:
            ms.append((name, m, "raw"))
            if name == "instruct":
                ms.append((name, m, "chat"))
        rag_eval(ms, tok, a.corpus, [int(x) for x in a.ks.split(",")], a.n_rag, random.Random(a.seed), a.rep_penalty)
    print(f"[eval] {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
