// Greedy generations that ended on their own, reused for the same request with another token
// budget. Greedy decoding picks each token from the prompt and the tokens before it; the budget
// only decides when to stop cutting. So a generation that ended with EOS or a stop string after c
// tokens is, token for token, the generation of every budget above c: a sweep over
// `max_new_tokens` (the quickstart's 15 against 50) generates each answer once. The cache makes
// the same promise (a hit is what the model would generate again); a reused ending is written to
// the cache under its own key, so a re-run finds it there.
import type { CachedGeneration } from './generation-cache.js';
import type { DecodingParams, GenerationRequest } from '../types.js';

/** Everything a greedy generation depends on but the budget, comparable as a string. */
function withoutBudget(request: GenerationRequest): string {
  const { maxNewTokens: _budget, ...rest } = request.decoding;
  const decoding = Object.keys(rest)
    .sort()
    .map((key) => [key, rest[key as keyof Omit<DecodingParams, 'maxNewTokens'>]]);
  return JSON.stringify([request.chat === true, decoding]);
}

/** One model's endings, for one run (a model's turn): held by reference to the run's own strings. */
export class NaturalEndings {
  /** By prompt (the run's own string, not a copy), then by the rest of the request. */
  private readonly byPrompt = new Map<string, { request: GenerationRequest; result: CachedGeneration; rest?: string }[]>();

  /** Keeps `result` if it is a greedy generation that ended on its own. */
  add(request: GenerationRequest, result: CachedGeneration): void {
    if (request.decoding.temperature !== 0 || (result.finishReason !== 'eos' && result.finishReason !== 'stop')) return;
    const entries = this.byPrompt.get(request.prompt);
    if (entries) entries.push({ request, result });
    else this.byPrompt.set(request.prompt, [{ request, result }]);
  }

  /**
   * A kept generation that `request` would give too: the same prompt and decoding but the budget,
   * ended on its own in fewer tokens than this request's budget (fewer, not as many: at exactly
   * the budget a backend may report `length`).
   */
  find(request: GenerationRequest): CachedGeneration | undefined {
    if (request.decoding.temperature !== 0) return undefined;
    const entries = this.byPrompt.get(request.prompt);
    if (!entries) return undefined;
    const rest = withoutBudget(request);
    for (const entry of entries) {
      if (entry.result.completionTokens >= request.decoding.maxNewTokens) continue;
      entry.rest ??= withoutBudget(entry.request);
      if (entry.rest === rest) return entry.result;
    }
    return undefined;
  }
}
