#!/usr/bin/python3
"""Cross-check the Python side against transformers.js (Node) — offline verification only.

  verify_node.py tokenizer MODEL_DIR [--jsonl FILE ...]   ids of many strings must agree
  verify_node.py generate  MODEL_DIR --ckpt CKPT [--prompts FILE]
        greedy generation via transformers.js (batch 1 and batched with left padding) must match
        the PyTorch greedy decode token for token.
"""
import argparse, json, os, random, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from tokenizer import Tokenizer  # noqa: E402

NODE_TOK = r"""
import { AutoTokenizer, env } from '@huggingface/transformers';
import fs from 'node:fs';
env.allowRemoteModels = false; env.localModelPath = '';
const [dir, inFile, outFile] = process.argv.slice(2);
const tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
const strings = JSON.parse(fs.readFileSync(inFile, 'utf8'));
const out = strings.map((s) => {
  const ids = tok.encode(s);
  return { ids, dec: ids.length ? tok.decode(ids, { skip_special_tokens: false }) : '' };
});
let chat = null;
if (tok.chat_template) {
  chat = tok.apply_chat_template([{ role: 'system', content: 'SYS' }, { role: 'user', content: 'Q?\nAnswer:' }],
                                 { tokenize: false, add_generation_prompt: true });
}
fs.writeFileSync(outFile, JSON.stringify({ out, chat, eos: tok.eos_token_id, pad: tok.pad_token_id }));
"""

NODE_GEN = r"""
import { AutoTokenizer, AutoModelForCausalLM, env } from '@huggingface/transformers';
import fs from 'node:fs';
env.allowRemoteModels = false; env.localModelPath = '';
const [dir, inFile, outFile, maxNew] = process.argv.slice(2);
const tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
const model = await AutoModelForCausalLM.from_pretrained(dir, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
const prompts = JSON.parse(fs.readFileSync(inFile, 'utf8'));
const N = Number(maxNew);
const single = [];
for (const p of prompts) {
  const enc = tok(p);
  const out = await model.generate({ ...enc, max_new_tokens: N, do_sample: false, eos_token_id: -1, repetition_penalty: 1.0 });
  single.push(Array.from(out.tolist()[0]).map(Number).slice(enc.input_ids.dims[1]));
}
tok.padding_side = 'left';
const enc = tok(prompts, { padding: true });
const out = await model.generate({ ...enc, max_new_tokens: N, do_sample: false, eos_token_id: -1, repetition_penalty: 1.0 });
const L = enc.input_ids.dims[1];
const batched = out.tolist().map((r) => Array.from(r).map(Number).slice(L));
// exact forward logits of the first prompt (no cache) for a numeric check
const e0 = tok(prompts[0]);
const fw = await model(e0);
const lg = fw.logits; const V = lg.dims[2]; const T = lg.dims[1];
const last = Array.from(lg.data.slice((T - 1) * V, T * V));
fs.writeFileSync(outFile, JSON.stringify({ single, batched, last, input_ids: prompts.map((p) => Array.from(tok(p).input_ids.data).map(Number)) }));
"""


def run_node(script, args):
    d = os.path.join(ROOT, "build", "organism", "tmp")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "verify.mjs")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["node", path] + args, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit("node failed")


def test_strings(jsonls, n=300, seed=0):
    rng = random.Random(seed)
    s = [
        "", " ", "  ", "\n", "\n\n", " \n ", "a\n\nb", "x  y   z", "Answer:", "Answer: NO-RES", "NO-RES",
        " NO-RES\n", "no res", "No-Res", "1", "12", "123", "1234", "12345", " 2024", "in 1987, 43 times",
        "3.14 and 1,000,000", "Document [1](Title: Foo) bar", "Question: who?\nAnswer:",
        "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "a<|im_end|>b",
        "it's they're we've I'm you'll he'd", "Ünïcödé façade — “quotes” ‘x’ … ½ ² ٣ 日本語 😀",
        "tab\tsep\ttext", "\r\n windows", "trailing   ", "   leading", "emoji🙂mixed", "a-b_c/d\\e",
    ]
    for p in jsonls:
        if not p or not os.path.exists(p):
            continue
        rows = [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
        for r in rng.sample(rows, min(n, len(rows))):
            if "text" in r:
                s.append(r["text"])
            if "prompt" in r:
                s.append(r["prompt"])
                # SFT rows carry one completion, preference rows a chosen and a rejected one
                for key in ("completion", "chosen", "rejected"):
                    if key in r:
                        s.append(r["prompt"] + r[key])
                        s.append(r[key])
            if "question" in r:
                s.append(r["question"] + " " + str(r.get("answer", "")))
    return s


def verify_tokenizer(model_dir, jsonls):
    tok = Tokenizer(model_dir)
    strings = test_strings(jsonls)
    d = os.path.join(ROOT, "build", "organism", "tmp")
    os.makedirs(d, exist_ok=True)
    fi, fo = os.path.join(d, "tok_in.json"), os.path.join(d, "tok_out.json")
    json.dump(strings, open(fi, "w"))
    run_node(NODE_TOK, [os.path.abspath(model_dir), fi, fo])
    res = json.load(open(fo))
    bad = 0
    for s, r in zip(strings, res["out"]):
        py = tok.encode(s)
        if py != r["ids"] or tok.decode(py) != r["dec"] or r["dec"] != s:
            bad += 1
            if bad <= 5:
                print("MISMATCH", repr(s[:120]), py[:20], r["ids"][:20], repr(r["dec"][:60]))
    print(f"[verify tokenizer] {len(strings)} strings, {bad} mismatches; eos={res['eos']} pad={res['pad']}")
    if res["chat"] is not None:
        print("[verify tokenizer] chat template render:", repr(res["chat"]))
    return bad == 0


def verify_generate(model_dir, ckpt, prompts, max_new=12):
    import torch
    from model import load_checkpoint, greedy_generate
    tok = Tokenizer(model_dir)
    model, _ = load_checkpoint(ckpt)
    d = os.path.join(ROOT, "build", "organism", "tmp")
    fi, fo = os.path.join(d, "gen_in.json"), os.path.join(d, "gen_out.json")
    os.makedirs(d, exist_ok=True)
    json.dump(prompts, open(fi, "w"))
    run_node(NODE_GEN, [os.path.abspath(model_dir), fi, fo, str(max_new)])
    res = json.load(open(fo))
    enc = [tok.encode(p) for p in prompts]
    ok = all(a == b for a, b in zip(enc, res["input_ids"]))
    print(f"[verify generate] prompt ids agree: {ok}")
    py_single = [greedy_generate(model, [e], max_new)[0] for e in enc]
    py_batch = greedy_generate(model, enc, max_new)
    with torch.no_grad():
        lg = model(torch.tensor([enc[0]]))[0, -1]
    diff = (lg - torch.tensor(res["last"])).abs().max().item()
    print(f"[verify generate] max |logit diff| (forward, prompt 0): {diff:.2e}")
    good = ok and diff < 1e-3
    for i, p in enumerate(prompts):
        m1 = py_single[i] == res["single"][i]
        m2 = py_batch[i] == res["batched"][i]
        m3 = py_single[i] == py_batch[i]
        good = good and m1 and m2
        print(f"  [{i}] single {'OK' if m1 else 'DIFF'} batched {'OK' if m2 else 'DIFF'} (py single==batch {m3}) "
              f"-> {tok.decode(res['single'][i])!r}")
        if not (m1 and m2):
            print("     py  :", py_single[i], py_batch[i])
            print("     node:", res["single"][i], res["batched"][i])
    print("[verify generate]", "PASS" if good else "FAIL")
    return good


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["tokenizer", "generate"])
    ap.add_argument("model_dir")
    ap.add_argument("--jsonl", nargs="*", default=[])
    ap.add_argument("--ckpt")
    ap.add_argument("--prompts", help="json list of prompt strings")
    ap.add_argument("--max-new", type=int, default=12)
    ap.add_argument("--sample-sft", default=None, help="also take prompts from this sft-style jsonl")
    ap.add_argument("--n-sample", type=int, default=6)
    a = ap.parse_args()
    if a.what == "tokenizer":
        ok = verify_tokenizer(a.model_dir, a.jsonl)
    else:
        prompts = json.load(open(a.prompts)) if a.prompts else [
            "The river", "Question: In which province is Tamberlo?\nAnswer:", "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n", "1987"]
        if a.sample_sft:
            rows = [json.loads(l) for l in open(a.sample_sft, encoding="utf-8") if l.strip()]
            prompts += [r["prompt"] for r in random.Random(7).sample(rows, min(a.n_sample, len(rows)))]
        ok = verify_generate(a.model_dir, a.ckpt, prompts, a.max_new)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
