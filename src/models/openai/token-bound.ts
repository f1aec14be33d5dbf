// A safe upper bound on a prompt's token count, so that the context-overflow check needs no
// tokenizer call (a /tokenize round trip per sample against a server) for prompts that clearly fit.
//
// Why it holds: a byte-level BPE (GPT-2, Llama 3, Qwen, Mistral's Tekken, OLMo…) first maps the
// UTF-8 bytes of the (normalised) text to 256 symbols and then only merges adjacent symbols, so
// every token covers at least one byte; added tokens (`<|im_start|>`) cover their own text. The
// only tokens that cover no byte are the ones the tokenizer adds around a prompt (a BOS, counted
// here as `specialTokens`) and, with `add_prefix_space`, one leading space (always allowed for:
// the `+ 1`). A Unicode normaliser may change the byte count (NFKC turns one 3-byte ligature into
// two letters), so the bytes are counted after the same normal form.
//
// Where it is not applied (the prompt is counted as before): any tokenizer not shown to be a
// byte-level BPE (SentencePiece adds a `▁` before the first word, WordPiece and Unigram differ),
// one with another normaliser (lowercasing, replacements, a prepended `▁`), chat messages that the
// server renders with its own template (their text is not known here).
//
// How it is decided: from tokenizer.json when the model entry has a local `tokenizer` (the model
// is `BPE`, its pre-tokenizer is or contains `ByteLevel`, its normaliser is none or one Unicode
// normal form); from the server otherwise: its /tokenize (vLLM's, with `return_token_strs`) must
// spell a probe text in GPT-2's byte alphabet, token strings concatenated, under one of the normal
// forms; the same probe with and without `add_special_tokens` gives the special tokens added.

/** A Unicode normal form a tokenizer's normaliser applies (null: none). */
export type NormalForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | null;

export interface ByteBound {
  /** The normaliser's form: bytes are counted after it. */
  normalForm: NormalForm;
  /** Tokens the tokenizer adds to a raw prompt (BOS/EOS); a rendered chat prompt gets none (GenerationRequest.chat). */
  specialTokens: number;
  /** How the bound was established, for the manifest. */
  decidedBy: 'tokenizer.json' | 'server /tokenize token strings';
}

const FORMS: NormalForm[] = [null, 'NFC', 'NFD', 'NFKC', 'NFKD'];

/**
 * At least as many tokens as a byte-level BPE makes of `text`: its UTF-8 bytes after the normal
 * form, one possible prefix space, and the special tokens of a raw prompt (`chat`: none).
 */
export function tokenUpperBound(bound: ByteBound, text: string, chat: boolean): number {
  let bytes = Buffer.byteLength(text);
  // ASCII (as many bytes as UTF-16 units) is unchanged by every normal form.
  if (bound.normalForm !== null && bytes !== text.length) bytes = Buffer.byteLength(text.normalize(bound.normalForm));
  return bytes + 1 + (chat ? 0 : bound.specialTokens);
}

type Json = Record<string, unknown>;

/** The normal form of a tokenizer.json normaliser, or undefined when it is something else. */
function normalFormOf(normalizer: unknown): NormalForm | undefined {
  if (normalizer === null || normalizer === undefined) return null;
  const n = normalizer as Json;
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const forms = n.normalizers.map(normalFormOf);
    if (forms.some((f) => f === undefined)) return undefined;
    const real = forms.filter((f) => f !== null);
    if (real.length === 0) return null;
    return real.length === 1 ? real[0] : undefined;
  }
  return FORMS.find((f) => f !== null && f === n.type) ?? undefined;
}

function hasByteLevel(preTokenizer: unknown): boolean {
  if (preTokenizer === null || typeof preTokenizer !== 'object') return false;
  const p = preTokenizer as Json;
  if (p.type === 'ByteLevel') return true;
  return p.type === 'Sequence' && Array.isArray(p.pretokenizers) && p.pretokenizers.some(hasByteLevel);
}

/**
 * The normal form when tokenizer.json describes a byte-level BPE whose bound holds, else the reason
 * it does not (for the manifest).
 */
export function byteLevelOfTokenizerJson(json: unknown): { normalForm: NormalForm } | { reason: string } {
  const t = (json ?? {}) as Json;
  const model = (t.model ?? {}) as Json;
  if (model.type !== 'BPE') return { reason: `the tokenizer model is ${String(model.type ?? 'unknown')}, not BPE` };
  if (!hasByteLevel(t.pre_tokenizer)) return { reason: 'the tokenizer has no ByteLevel pre-tokenizer' };
  const normalForm = normalFormOf(t.normalizer);
  if (normalForm === undefined) return { reason: 'the tokenizer normalises text beyond one Unicode normal form' };
  return { normalForm };
}

/** GPT-2's byte-to-symbol table (bytes_to_unicode): printable bytes stand for themselves, the rest from U+0100 on. */
const BYTE_SYMBOL: string[] = (() => {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : next++);
  }
  return table;
})();

/** `text` in GPT-2's byte alphabet (`a b` → `aĠb`). */
export function byteLevelSpelling(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += BYTE_SYMBOL[byte];
  return out;
}

/**
 * The probe sent to a server's /tokenize: its normal forms all differ (a decomposed and a
 * precomposed é, a ligature, capitals, a newline), so the token strings tell which one the
 * tokenizer applied, or that it did something else.
 */
export const BYTE_LEVEL_PROBE = 'Ragtax probe: cafe\u0301 café \uFB01ne\n  42';

/** The normal form under which `tokenStrings` spell the probe in GPT-2's byte alphabet; undefined when they do not. */
export function byteLevelOfTokenStrings(tokenStrings: unknown): NormalForm | undefined {
  if (!Array.isArray(tokenStrings) || tokenStrings.length === 0 || !tokenStrings.every((s) => typeof s === 'string')) return undefined;
  const joined = tokenStrings.join('');
  const space = BYTE_SYMBOL[0x20]!;
  for (const form of FORMS) {
    const spelled = byteLevelSpelling(form === null ? BYTE_LEVEL_PROBE : BYTE_LEVEL_PROBE.normalize(form));
    if (joined === spelled || joined === space + spelled) return form;
  }
  return undefined;
}
