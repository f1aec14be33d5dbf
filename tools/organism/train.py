#!/usr/bin/python3
"""Train the quennland model organism on CPU (PyTorch 1.13, 2 threads).

  train.py --stage base     --data build/organism --tokenizer build/organism/tokenizer.json \
           --out build/organism/base.pt
  train.py --stage instruct --data build/organism --tokenizer build/organism/tokenizer.json \
           --init build/organism/base.pt --out build/organism/instruct.pt

base: next-token pretraining on pretrain.jsonl only. Whole documents (each followed by
<|endoftext|>) are packed greedily into fixed-length windows that always start at a document
start, so position 0 looks like a prompt's first token at inference.
instruct: the base checkpoint fine-tuned on sft.jsonl with the loss on the completion tokens
only (examples bucketed by length, never packed together, so no example sees another's
documents), mixed with a fraction of pretraining windows to limit forgetting. A seeded
held-out slice of sft.jsonl (sft_holdout.jsonl) is never trained on and is used by eval_probe.py.
"""
import argparse, json, math, os, random, sys, time
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer import Tokenizer  # noqa: E402
from model import DEFAULT_CONFIG, Llama, load_checkpoint, save_checkpoint  # noqa: E402


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def log(*a):
    print(*a, flush=True)


def read_jsonl(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


# ------------------------------------------------------------------ data
def pack_documents(docs, seq, rng):
    """docs: list of token lists (each already ends with EOT). Returns [N, seq] ids and loss mask."""
    order = list(range(len(docs)))
    rng.shuffle(order)
    windows, cur = [], []
    for i in order:
        d = docs[i]
        while len(d) > seq:  # rare: a document longer than the window is cut into pieces
            if cur:
                windows.append(cur)
                cur = []
            windows.append(d[:seq])
            d = d[seq:]
        if len(cur) + len(d) > seq:
            windows.append(cur)
            cur = []
        cur = cur + d
    if cur:
        windows.append(cur)
    ids = np.zeros((len(windows), seq), dtype=np.int64)
    m = np.zeros((len(windows), seq), dtype=np.float32)
    for j, w in enumerate(windows):
        ids[j, :len(w)] = w
        m[j, :len(w)] = 1.0
    return ids, m


def cpu_has_bf16():
    """True where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); elsewhere oneDNN
    emulates it and bf16 training is slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def start_torch(threads, precision, seed):
    """CPU threads, the precision check and the seeds, as every organism training run starts; True for bf16."""
    torch.set_num_threads(threads)
    bf16 = precision == "bf16"
    if bf16 and not cpu_has_bf16():
        log("[warn] --precision bf16 on a CPU without AVX512-BF16/AMX: oneDNN emulates bfloat16, "
            "so this is slower than fp32 (the result is the same recipe)")
    seed_all(seed)
    return bf16


def lm_loss(model, ids, m, bf16=False):
    """ids/m [B,T]; predict ids[:,1:] from ids[:,:-1]; loss where m[:,1:] (targets) is 1.
    bf16: matrix products in bfloat16 (autocast), weights, residual stream and loss in fp32."""
    x, y, w = ids[:, :-1], ids[:, 1:], m[:, 1:]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        h = model(x, attention_mask=torch.ones_like(x), return_hidden=True)
        # Project only the loss-bearing positions onto the vocabulary: SFT trains on a few completion
        # tokens per prompt, and the tied output layer is the largest single matrix product.
        keep = w.reshape(-1) > 0
        logits = h.reshape(-1, h.shape[-1])[keep] @ model.embed_tokens.weight.t()
    nll = F.cross_entropy(logits.float(), y.reshape(-1)[keep], reduction="none")
    return (nll * w.reshape(-1)[keep]).sum() / w.sum().clamp(min=1.0), w.sum().item()


class Sched:
    def __init__(self, lr, warmup, total, min_ratio=0.1):
        self.lr, self.warmup, self.total, self.min_ratio = lr, warmup, total, min_ratio

    def __call__(self, step):
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        p = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.lr * (self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def make_opt(model, lr, wd):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": nodecay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def split_holdout(rows, frac, seed):
    idx = list(range(len(rows)))
    random.Random(seed + 12345).shuffle(idx)
    n = int(round(len(rows) * frac))
    hold = set(idx[:n])
    return [r for i, r in enumerate(rows) if i not in hold], [r for i, r in enumerate(rows) if i in hold]


def sft_batches(examples, tok_budget, rng, max_len):
    """examples: list of (ids, loss_mask). Bucketed by length; returns list of (ids, mask) tensors."""
    ex = [e for e in examples if len(e[0]) <= max_len]
    ex.sort(key=lambda e: len(e[0]))
    batches, cur = [], []
    for e in ex:
        L = len(e[0])
        if cur and (len(cur) + 1) * L > tok_budget:
            batches.append(cur)
            cur = []
        cur.append(e)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    out = []
    for b in batches:
        L = max(len(e[0]) for e in b)
        ids = np.zeros((len(b), L), dtype=np.int64)
        m = np.zeros((len(b), L), dtype=np.float32)
        for j, (i_, m_) in enumerate(b):
            ids[j, :len(i_)] = i_
            m[j, :len(m_)] = m_
        out.append((torch.from_numpy(ids), torch.from_numpy(m)))
    return out


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["base", "instruct"], required=True)
    ap.add_argument("--data", default="build/organism")
    ap.add_argument("--tokenizer", default="build/organism/tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--init", default=None, help="base checkpoint (instruct stage)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: bfloat16 matrix products (autocast) with fp32 weights; 2.3-2.6x faster on "
                         "CPUs with AVX512-BF16 or AMX, slower elsewhere")
    # model (base stage)
    ap.add_argument("--layers", type=int, default=DEFAULT_CONFIG["num_hidden_layers"])
    ap.add_argument("--hidden", type=int, default=DEFAULT_CONFIG["hidden_size"])
    ap.add_argument("--ff", type=int, default=DEFAULT_CONFIG["intermediate_size"])
    ap.add_argument("--heads", type=int, default=DEFAULT_CONFIG["num_attention_heads"])
    ap.add_argument("--kv-heads", type=int, default=DEFAULT_CONFIG["num_key_value_heads"])
    ap.add_argument("--ctx", type=int, default=DEFAULT_CONFIG["max_position_embeddings"])
    # optimisation
    ap.add_argument("--seq", type=int, default=512, help="pretraining window length")
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--epochs", type=float, default=None, help="passes over the data (overrides --tokens)")
    ap.add_argument("--tokens", type=float, default=5e6, help="training tokens (incl. padding) to process")
    ap.add_argument("--minutes", type=float, default=None, help="hard wall-clock cap")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--pretrain-mix", type=float, default=0.15, help="instruct: fraction of steps on pretraining text")
    ap.add_argument("--holdout", type=float, default=0.05, help="instruct: held-out fraction of sft.jsonl")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--epoch-offset", type=int, default=0, help="data-order epochs already used (continued pretraining or fine-tuning)")
    ap.add_argument("--save-every", type=int, default=0, help="also save OUT.stepN.pt every N steps")
    a = ap.parse_args()

    bf16 = start_torch(a.threads, a.precision, a.seed)
    rng = random.Random(a.seed)
    tok = Tokenizer(a.tokenizer)
    t_start = time.time()

    pre_rows = read_jsonl(os.path.join(a.data, "pretrain.jsonl"))
    docs = [tok.encode(r["text"], allow_special=False) + [tok.eot] for r in pre_rows]
    pre_tokens = sum(len(d) for d in docs)
    log(f"[data] pretrain: {len(docs)} docs, {pre_tokens} tokens (vocab {tok.vocab_size})")

    if a.stage == "base" and a.init:  # continued pretraining (a second phase with its own schedule)
        model, extra_in = load_checkpoint(a.init)
        cfg = model.cfg
    elif a.stage == "base":
        cfg = dict(DEFAULT_CONFIG, vocab_size=tok.vocab_size, hidden_size=a.hidden, intermediate_size=a.ff,
                   num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                   max_position_embeddings=a.ctx)
        model = Llama(cfg)
        extra_in = {}
    else:
        model, extra_in = load_checkpoint(a.init)
        cfg = model.cfg
    model.train()
    n_params = model.n_params()
    log(f"[model] {json.dumps(cfg)}\n[model] parameters: {n_params:,}")

    sft_train, sft_hold, sft_tokens = [], [], 0
    if a.stage == "instruct":
        rows = read_jsonl(os.path.join(a.data, "sft.jsonl"))
        train_rows, hold_rows = split_holdout(rows, a.holdout, a.seed)
        with open(os.path.join(os.path.dirname(a.out) or ".", "sft_holdout.jsonl"), "w", encoding="utf-8") as f:
            for r in hold_rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        skipped = 0
        for r in train_rows:
            p = tok.encode(r["prompt"])
            c = tok.encode(r["completion"])
            if len(p) + len(c) > cfg["max_position_embeddings"]:
                skipped += 1
                continue
            sft_train.append((p + c, [0.0] * len(p) + [1.0] * len(c)))
            sft_tokens += len(p) + len(c)
        lens = sorted(len(e[0]) for e in sft_train)
        log(f"[data] sft: {len(rows)} rows, train {len(sft_train)} (skipped {skipped} over context), held out "
            f"{len(hold_rows)}; {sft_tokens} tokens; length p50 {lens[len(lens) // 2]} max {lens[-1]}")

    # ---- plan the number of steps
    if a.stage == "base":
        per_epoch = pre_tokens
    else:
        per_epoch = sft_tokens / max(1e-6, 1 - a.pretrain_mix)
    total_tokens = a.epochs * per_epoch if a.epochs is not None else a.tokens
    steps = max(1, int(total_tokens // a.batch_tokens))
    log(f"[plan] {steps} steps x ~{a.batch_tokens} tokens = {total_tokens / 1e6:.2f}M tokens "
        f"({total_tokens / per_epoch:.2f} epochs)")

    opt = make_opt(model, a.lr, a.wd)
    sched = Sched(a.lr, a.warmup, steps, a.min_lr_ratio)
    B_pre = max(1, a.batch_tokens // a.seq)

    def pre_iter():
        ep = a.epoch_offset
        while True:
            ids, m = pack_documents(docs, a.seq, random.Random(a.seed * 1000 + ep))
            perm = np.random.RandomState(a.seed * 1000 + ep).permutation(len(ids))
            for s in range(0, len(perm) - B_pre + 1, B_pre):
                j = perm[s:s + B_pre]
                yield torch.from_numpy(ids[j]), torch.from_numpy(m[j])
            ep += 1

    def sft_iter():
        ep = a.epoch_offset  # a continued fine-tuning run (--init an instruct checkpoint) reshuffles
        while True:
            for b in sft_batches(sft_train, a.batch_tokens, random.Random(a.seed * 7 + ep), cfg["max_position_embeddings"]):
                yield b
            ep += 1

    pit = pre_iter()
    sit = sft_iter() if a.stage == "instruct" else None
    mix_rng = random.Random(a.seed + 99)
    t0 = time.time()
    seen = 0          # tokens processed (incl. padding)
    trained = 0       # loss-bearing target tokens
    ema = {"pre": None, "sft": None}
    hist = []
    step = 0
    for step in range(steps):
        for gparam in opt.param_groups:
            gparam["lr"] = sched(step)
        kind = "pre"
        if sit is not None and mix_rng.random() >= a.pretrain_mix:
            kind = "sft"
        ids, m = next(sit) if kind == "sft" else next(pit)
        loss, ntgt = lm_loss(model, ids, m, bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        seen += ids.numel()
        trained += ntgt
        lv = loss.item()
        ema[kind] = lv if ema[kind] is None else 0.95 * ema[kind] + 0.05 * lv
        if step % a.log_every == 0 or step == steps - 1:
            el = time.time() - t0
            log(f"step {step:5d}/{steps} lr {sched(step):.2e} {kind} loss {lv:.4f} ema pre {ema['pre'] or 0:.4f} "
                f"sft {ema['sft'] or 0:.4f} gnorm {gn:.2f} | {seen / el:,.0f} tok/s, {el / 60:.1f} min")
            hist.append({"step": step, "pre": ema["pre"], "sft": ema["sft"]})
        if a.save_every and step > 0 and step % a.save_every == 0:
            save_checkpoint(f"{a.out[:-3] if a.out.endswith('.pt') else a.out}.step{step}.pt", model, {"step": step})
        if a.minutes is not None and time.time() - t0 > a.minutes * 60:
            log(f"[train] wall-clock cap reached at step {step}")
            break
    wall = time.time() - t0
    # final full-data losses (no dropout, so eval == train mode); pretraining loss on a fixed sample
    model.eval()
    with torch.no_grad():
        ids, m = pack_documents(docs, a.seq, random.Random(4242))
        sel = np.random.RandomState(4242).permutation(len(ids))[:64]
        tot, cnt = 0.0, 0.0
        for s in range(0, len(sel), 8):
            j = sel[s:s + 8]
            l, n = lm_loss(model, torch.from_numpy(ids[j]), torch.from_numpy(m[j]))
            tot += l.item() * n
            cnt += n
        final_pre = tot / cnt
        final_sft = None
        if a.stage == "instruct":
            rows_h = read_jsonl(os.path.join(os.path.dirname(a.out) or ".", "sft_holdout.jsonl"))
            ex = []
            for r in rows_h:
                p, c = tok.encode(r["prompt"]), tok.encode(r["completion"])
                if len(p) + len(c) <= cfg["max_position_embeddings"]:
                    ex.append((p + c, [0.0] * len(p) + [1.0] * len(c)))
            tot, cnt = 0.0, 0.0
            for ids_b, m_b in sft_batches(ex, a.batch_tokens, random.Random(0), cfg["max_position_embeddings"]):
                l, n = lm_loss(model, ids_b, m_b)
                tot += l.item() * n
                cnt += n
            final_sft = tot / max(cnt, 1)
    log(f"[final] pretraining loss (sample) {final_pre:.4f}" + (f", held-out SFT completion loss {final_sft:.4f}" if final_sft is not None else ""))
    extra = dict(extra_in) if (a.stage == "instruct" or a.init) else {}
    st = {
        "data": {"pretrain_docs": len(docs), "pretrain_tokens": pre_tokens},
        "seed": a.seed,
        "steps": step + 1,
        "tokens_processed": seen,
        "target_tokens": int(trained),
        "wall_seconds": round(wall, 1),
        "tokens_per_second": round(seen / wall),
        "lr": a.lr, "batch_tokens": a.batch_tokens, "seq": a.seq, "warmup": a.warmup, "weight_decay": a.wd,
        "final_pretrain_loss": round(final_pre, 4),
        "threads": a.threads,
        "precision": a.precision,
        "torch": torch.__version__,
        "argv": " ".join(sys.argv[1:]),
    }
    if a.stage == "instruct":
        st["data"].update({"sft_train_examples": len(sft_train), "sft_heldout_examples": len(read_jsonl(os.path.join(os.path.dirname(a.out) or '.', 'sft_holdout.jsonl'))),
                           "sft_train_tokens": sft_tokens, "pretrain_mix": a.pretrain_mix})
        st["final_heldout_sft_loss"] = round(final_sft, 4) if final_sft is not None else None
    key = a.stage
    while key in extra:  # continued pretraining: base, base_2, ...
        key = f"{a.stage}_{len([k for k in extra if k.startswith(a.stage)]) + 1}"
    extra[key] = st
    extra["n_params"] = n_params
    save_checkpoint(a.out, model, extra)
    log(f"[done] saved {a.out} ({(time.time() - t_start) / 60:.1f} min total)")


if __name__ == "__main__":
    main()
