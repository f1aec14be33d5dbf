// Reasoning models (Qwen3, DeepSeek-R1, SmolLM3) think first: `<think> … </think>` before the
// answer. With `reasoning: {strip: true}` the raw response is kept and the text after the closing
// tag is scored; a thinking block that never closes (the token budget ran out inside it) is
// counted per cell, never silently scored as a wrong answer.

export interface ReasoningSettings {
  open: string;
  close: string;
}

/**
 * The answer part of a response, and whether its thinking block was closed. `promptOpensBlock`: the
 * prompt itself ends with the opening tag (DeepSeek-R1's template does this), so the response
 * starts inside the block.
 */
export function stripReasoning(response: string, settings: ReasoningSettings, promptOpensBlock = false): { answer: string; closed: boolean } {
  const end = response.lastIndexOf(settings.close);
  if (end !== -1) return { answer: response.slice(end + settings.close.length), closed: true };
  // No closing tag: a response that never opened a block answered directly; one that did was cut off.
  if (!promptOpensBlock && !response.includes(settings.open)) return { answer: response, closed: true };
  return { answer: '', closed: false };
}

/** The prompt ends inside an open thinking block (its last non-space text is the opening tag). */
export function promptOpensBlock(prompt: string, settings: ReasoningSettings): boolean {
  return prompt.trimEnd().endsWith(settings.open);
}
