#!/usr/bin/python3
"""Preference alignment (DPO) of the quennland instruct model: the chat stage of the organism lineage.

  dpo.py --init build/organism/instruct.pt --data build/organism --tokenizer build/organism/tokenizer.json \
         --out build/organism/chat.pt [--beta 0.1] [--epochs 1] [--lr 1e-4]
  dpo.py --init-onnx models/quennland-instruct ...   (start from the committed export instead)

Direct Preference Optimization (Rafailov et al., 2023) on build/organism/preferences.jsonl
(written by tools/organism/world/build.ts): each line is a prompt rendered by ragtax's renderer
with a chosen and a rejected completion. The loss is

    -log sigmoid(beta * ((log pi(c|x) - log ref(c|x)) - (log pi(r|x) - log ref(r|x))))

summed over the completion tokens only; the reference model is the starting (instruct) model,
frozen, its log-probabilities computed once before training. A seeded 5% of the pairs is held out
and scored before and after (preference accuracy and mean implicit reward margin). With
--sft-weight > 0 the chosen completion's mean token NLL is added (as in RPO); default 0: plain DPO.
"""
import argparse, hashlib, json, os, random, sys, time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from tokenizer import Tokenizer  # noqa: E402
from model import load_checkpoint, rope_tables, save_checkpoint  # noqa: E402
from train import make_opt, read_jsonl, Sched, log, start_torch  # noqa: E402
from export import sha256 as file_sha256  # noqa: E402


def load_policy(a):
    if a.init:
        return load_checkpoint(a.init)
    from peers_torch import load as load_onnx  # the ONNX initializers are the checkpoint's fp32 weights
    model = load_onnx(a.init_onnx)
    card = os.path.join(a.init_onnx, "MODEL_CARD.md")
    return model, {"init_onnx": a.init_onnx, "init_card_sha256": file_sha256(card) if os.path.exists(card) else None}


def encode_pairs(rows, tok, max_len):
    """(prompt ids, chosen ids, rejected ids) per pair; pairs whose packed row exceeds max_len are dropped."""
    out, skipped = [], 0
    for r in rows:
        p, c, j = tok.encode(r["prompt"]), tok.encode(r["chosen"]), tok.encode(r["rejected"])
        if len(p) + len(c) + len(j) > max_len:
            skipped += 1
            continue
        out.append((p, c, j))
    return out, skipped


# Rows are padded to a multiple of this: oneDNN builds its bfloat16 kernels per input shape, and
# a new shape per batch made the first pass 3-5x slower than the same work on repeated shapes.
SHAPE_STEP = 32


def packed_len(pair):
    return len(pair[0]) + len(pair[1]) + len(pair[2])


def batches(pairs, tok_budget, rng):
    """Pairs bucketed by padded packed length; lists of pair indexes, shuffled."""
    pad = lambda n: -(-n // SHAPE_STEP) * SHAPE_STEP
    order = sorted(range(len(pairs)), key=lambda i: packed_len(pairs[i]))
    out, cur, cur_len = [], [], 0
    for i in order:
        L = pad(packed_len(pairs[i]))
        if cur and (L != cur_len or (len(cur) + 1) * L > tok_budget):
            out.append(cur)
            cur = []
        cur.append(i)
        cur_len = L
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def tensors(pairs, idx):
    """One packed row per pair: prompt, chosen, rejected. The rejected tokens take the positions right
    after the prompt and cannot see the chosen ones, so one pass scores both completions and the
    shared prompt is computed once (about half the tokens of scoring two sequences).
    Returns ids, positions, the attention pattern, and the scored predictions as flat
    (row, position, token, completion) index tensors (completion 0 = chosen, 1 = rejected)."""
    L = max(-(-packed_len(pairs[i]) // SHAPE_STEP) * SHAPE_STEP for i in idx)
    B = len(idx)
    ids = torch.zeros(B, L, dtype=torch.long)
    pos = torch.zeros(B, L, dtype=torch.long)
    allowed = torch.zeros(B, L, L, dtype=torch.bool)
    rows, cols, toks, which = [], [], [], []
    for r, i in enumerate(idx):
        p, c, j = pairs[i]
        P, C, J = len(p), len(c), len(j)
        n = P + C + J
        ids[r, :n] = torch.tensor(p + c + j)
        pos[r, :P + C] = torch.arange(P + C)
        pos[r, P + C:n] = torch.arange(P, P + J)
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        causal[P + C:, P:P + C] = False  # the rejected completion never sees the chosen one
        allowed[r, :n, :n] = causal
        allowed[r, n:, 0] = True  # padding attends to something (its outputs are never read)
        # a completion's first token is predicted at the prompt's last position, the others at the previous token
        for t, y in enumerate(c):
            rows.append(r); cols.append(P - 1 + t); toks.append(y); which.append(0)
        for t, y in enumerate(j):
            rows.append(r); cols.append(P - 1 if t == 0 else P + C + t - 1); toks.append(y); which.append(1)
    return ids, pos, allowed, (torch.tensor(rows), torch.tensor(cols), torch.tensor(toks), torch.tensor(which))


def sequence_logps(model, batch, bf16):
    """Σ log p over the chosen and over the rejected completion of each packed row: [B, 2]."""
    ids, pos, allowed, (rows, cols, toks, which) = batch
    B, L = ids.shape
    cos, sin = rope_tables(model.cfg, pos)
    cos, sin = cos[:, None], sin[:, None]
    bias = torch.zeros(B, 1, L, L).masked_fill(~allowed[:, None], -1e9)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        x = model.embed_tokens(ids)
        for blk in model.layers:
            x = blk(x, cos, sin, bias)
        h = model.norm(x)
        # only the scored positions are projected onto the vocabulary (the tied output layer is the largest product)
        logits = h[rows, cols] @ model.embed_tokens.weight.t()
    lp = -F.cross_entropy(logits.float(), toks, reduction="none")
    return torch.zeros(B * 2).index_add(0, rows * 2 + which, lp).view(B, 2)


@torch.no_grad()
def reference_logps(model, pairs, tok_budget, bf16):
    ref = torch.zeros(len(pairs), 2)
    for idx in batches(pairs, tok_budget, random.Random(0)):
        ref[idx] = sequence_logps(model, tensors(pairs, idx), bf16)
    return ref


def summary(pol, ref, beta):
    """Held-out preference accuracy (the policy moved towards chosen relative to ref), mean reward margin,
    and how often the policy itself gives chosen the higher log-probability."""
    margin = beta * ((pol[:, 0] - ref[:, 0]) - (pol[:, 1] - ref[:, 1]))
    return {"pairs": len(pol), "reward_accuracy": round((margin > 0).float().mean().item(), 4),
            "mean_margin": round(margin.mean().item(), 4), "chosen_over_rejected": round((pol[:, 0] > pol[:, 1]).float().mean().item(), 4),
            "chosen_logp": round(pol[:, 0].mean().item(), 4), "rejected_logp": round(pol[:, 1].mean().item(), 4)}


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--init", help="instruct checkpoint (.pt) from train.py")
    src.add_argument("--init-onnx", help="an exported model folder (onnx/model.onnx + config.json)")
    ap.add_argument("--data", default="build/organism")
    ap.add_argument("--tokenizer", default="build/organism/tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--beta", type=float, default=0.1, help="DPO temperature: how far the policy may move from the reference")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-tokens", type=int, default=8192, help="packed tokens per step (prompt + chosen + rejected, incl. padding)")
    ap.add_argument("--sft-weight", type=float, default=0.0, help="add this × the chosen completion's NLL (RPO); 0 = plain DPO")
    ap.add_argument("--holdout", type=float, default=0.05)
    ap.add_argument("--max-pairs", type=int, default=None, help="use only the first N pairs (quick trials)")
    ap.add_argument("--log-every", type=int, default=10)
    a = ap.parse_args()

    bf16 = start_torch(a.threads, a.precision, a.seed)
    t_start = time.time()
    tok = Tokenizer(a.tokenizer)
    model, extra_in = load_policy(a)
    cfg = model.cfg
    rows = read_jsonl(os.path.join(a.data, "preferences.jsonl"))
    if a.max_pairs:
        rows = rows[:a.max_pairs]
    idx = list(range(len(rows)))
    random.Random(a.seed + 4321).shuffle(idx)
    n_hold = int(round(len(rows) * a.holdout))
    hold_rows = [rows[i] for i in sorted(idx[:n_hold])]
    train_rows = [rows[i] for i in sorted(idx[n_hold:])]
    train, skipped = encode_pairs(train_rows, tok, cfg["max_position_embeddings"])
    hold, _ = encode_pairs(hold_rows, tok, cfg["max_position_embeddings"])
    lens = sorted(packed_len(p) for p in train)
    log(f"[data] preferences: {len(rows)} pairs, train {len(train)} (skipped {skipped} over context), held out {len(hold)}; "
        f"length p50 {lens[len(lens) // 2]} max {lens[-1]}")

    model.eval()
    t0 = time.time()
    # The reference pass is a third of the run and the same for every beta/lr: it is kept beside the
    # output, keyed by everything it depends on, and reused when they match.
    key = hashlib.sha256(json.dumps([a.init or a.init_onnx, file_sha256(a.init) if a.init else file_sha256(os.path.join(a.init_onnx, "onnx", "model.onnx")),
                                     file_sha256(os.path.join(a.data, "preferences.jsonl")), file_sha256(a.tokenizer), a.precision, a.seed,
                                     a.holdout, a.max_pairs, a.batch_tokens]).encode()).hexdigest()
    ref_file = a.out + ".reference.pt"
    cached = torch.load(ref_file) if os.path.exists(ref_file) else None
    if cached is not None and cached.get("key") == key:
        ref_train, ref_hold = cached["train"], cached["hold"]
        log(f"[ref] reference log-probs of {len(train) + len(hold)} pairs reused from {ref_file}")
    else:
        ref_train = reference_logps(model, train, a.batch_tokens, bf16)
        ref_hold = reference_logps(model, hold, a.batch_tokens, bf16)
        torch.save({"key": key, "train": ref_train, "hold": ref_hold}, ref_file)
        log(f"[ref] reference log-probs of {len(train) + len(hold)} pairs in {time.time() - t0:.1f} s")
    before = summary(ref_hold, ref_hold, a.beta) if hold else None
    log(f"[eval] before: {json.dumps(before)}")

    # Every epoch has the same batches (the bucketing is fixed), each epoch in its own seeded order.
    steps = max(1, int(a.epochs * len(batches(train, a.batch_tokens, random.Random(0)))))
    plan, ep = [], 0
    while len(plan) < steps:
        plan.extend(batches(train, a.batch_tokens, random.Random(a.seed * 31 + ep)))
        ep += 1
    plan = plan[:steps]
    log(f"[plan] {steps} steps, beta {a.beta}, lr {a.lr}, ~{a.batch_tokens} tokens per step")
    opt = make_opt(model, a.lr, a.wd)
    sched = Sched(a.lr, a.warmup, steps, 0.1)
    model.train()
    t0 = time.time()
    seen = 0
    ema = None
    for step, bidx in enumerate(plan):
        for g in opt.param_groups:
            g["lr"] = sched(step)
        batch = tensors(train, bidx)
        logps = sequence_logps(model, batch, bf16)
        ref = ref_train[bidx]
        margin = a.beta * ((logps[:, 0] - ref[:, 0]) - (logps[:, 1] - ref[:, 1]))
        loss = -F.logsigmoid(margin).mean()
        if a.sft_weight > 0:
            chosen_tokens = torch.tensor([len(train[i][1]) for i in bidx], dtype=torch.float32)
            loss = loss + a.sft_weight * (-(logps[:, 0] / chosen_tokens)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        seen += batch[0].numel()
        acc = (margin > 0).float().mean().item()
        ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        if step % a.log_every == 0 or step == steps - 1:
            el = time.time() - t0
            log(f"step {step:4d}/{steps} lr {sched(step):.2e} loss {loss.item():.4f} ema {ema:.4f} acc {acc:.2f} "
                f"margin {margin.mean().item():.3f} gnorm {gn:.2f} | {seen / el:,.0f} tok/s, {el / 60:.1f} min")
    wall = time.time() - t0
    model.eval()
    after = summary(reference_logps(model, hold, a.batch_tokens, bf16), ref_hold, a.beta) if hold else None
    log(f"[eval] after: {json.dumps(after)}")
    stats = json.load(open(os.path.join(a.data, "stats.json"))).get("preferences", {})
    extra = dict(extra_in)
    extra["dpo"] = {
        "data": {"pairs": len(rows), "train_pairs": len(train), "heldout_pairs": len(hold), "skipped_over_context": skipped,
                 "rejected_kinds": stats.get("byRejectedKind"), "answerable_share": stats.get("answerableShare"),
                 "memorised_share": stats.get("memorisedShare")},
        "seed": a.seed, "beta": a.beta, "lr": a.lr, "warmup": a.warmup, "epochs": a.epochs, "steps": steps,
        "batch_tokens": a.batch_tokens, "sft_weight": a.sft_weight, "reference": "the starting instruct model (frozen)",
        "heldout_before": before, "heldout_after": after,
        "wall_seconds": round(wall, 1), "tokens_per_second": round(seen / max(wall, 1e-9)),
        "threads": a.threads, "precision": a.precision, "torch": torch.__version__, "argv": " ".join(sys.argv[1:]),
    }
    save_checkpoint(a.out, model, extra)
    log(f"[done] saved {a.out} ({(time.time() - t_start) / 60:.1f} min total)")


if __name__ == "__main__":
    main()
