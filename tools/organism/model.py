#!/usr/bin/python3
"""A small Llama (RMSNorm, RoPE, GQA attention, SwiGLU, tied embeddings) in plain PyTorch 1.13.

Numerics follow Hugging Face's LlamaForCausalLM (rotate_half RoPE with cos/sin duplicated over
the two halves, RMSNorm in fp32 with weight after normalisation, lm_head tied to embed_tokens),
so that `export.py` can write the same function as an ONNX graph.
"""
import json, math
import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_CONFIG = dict(
    vocab_size=3072, hidden_size=192, intermediate_size=512, num_hidden_layers=4,
    num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=1024,
    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + self.eps))


def rope_tables(cfg, positions):
    """cos/sin of shape [..., head_dim] for integer positions (HF layout: halves duplicated)."""
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = positions.to(torch.float64)[..., None] * inv
    emb = torch.cat([ang, ang], -1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, nh, kvh = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.nh, self.kvh, self.hd = nh, kvh, d // nh
        self.q_proj = nn.Linear(d, nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kvh * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kvh * self.hd, bias=False)
        self.o_proj = nn.Linear(nh * self.hd, d, bias=False)

    def forward(self, x, cos, sin, bias, past=None, present=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kvh, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kvh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        if present is not None:
            present.append((k, v))
        rep = self.nh // self.kvh
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + bias
        att = att.softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, ff = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, bias, past=None, present=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, bias, past, present)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for n, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * self.cfg["num_hidden_layers"]) if n.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, 0.0, s)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, ids, attention_mask=None, position_ids=None, return_hidden=False):
        """ids [B,T]; attention_mask [B,T] (1 = real token, left padding allowed)."""
        B, T = ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(B, T, dtype=torch.long)
        if position_ids is None:
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        cos, sin = rope_tables(self.cfg, position_ids)  # [B,T,hd]
        cos, sin = cos[:, None], sin[:, None]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, -1e9)
        x = self.embed_tokens(ids)
        for blk in self.layers:
            x = blk(x, cos, sin, bias)
        h = self.norm(x)
        if return_hidden:
            return h
        return h @ self.embed_tokens.weight.t()


    def forward_cached(self, ids, attention_mask, position_ids, past=None):
        """Incremental forward (the ONNX contract): attention_mask covers past + new tokens.
        Returns (logits [B,S,V], present list of (k, v) per layer)."""
        B, S = ids.shape
        T = attention_mask.shape[1]
        cos, sin = rope_tables(self.cfg, position_ids)
        cos, sin = cos[:, None], sin[:, None]
        qpos = torch.arange(T - S, T)[:, None]
        causal = torch.arange(T)[None, :] <= qpos
        allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, -1e9)
        x = self.embed_tokens(ids)
        present = []
        for i, blk in enumerate(self.layers):
            x = blk(x, cos, sin, bias, None if past is None else past[i], present)
        return self.norm(x) @ self.embed_tokens.weight.t(), present


def save_checkpoint(path, model, extra):
    torch.save({"config": model.cfg, "state_dict": model.state_dict(), "extra": extra}, path)


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    m = Llama(ck["config"])
    m.load_state_dict(ck["state_dict"])
    m.eval()
    return m, ck.get("extra", {})


@torch.no_grad()
def greedy_generate(model, prompts, max_new, stop_ids=(), pad_id=0):
    """Greedy decode (full recompute per step) for a list of token-id lists, left padded.
    Returns the new tokens per row (rows keep generating after a stop token, cut by caller
    unless stop_ids given: then each row is truncated after its first stop token)."""
    model.eval()
    L = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (L - len(p)) + list(p) for p in prompts])
    mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts])
    outs = [[] for _ in prompts]
    done = [False] * len(prompts)
    for _ in range(max_new):
        logits = model(ids, mask)[:, -1]
        nxt = logits.argmax(-1)
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                outs[i].append(t)
                if t in stop_ids:
                    done[i] = True
        if stop_ids and all(done):
            break
        ids = torch.cat([ids, nxt[:, None]], 1)
        mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=torch.long)], 1)
    return outs


if __name__ == "__main__":
    m = Llama(DEFAULT_CONFIG)
    print(json.dumps(DEFAULT_CONFIG), m.n_params())
