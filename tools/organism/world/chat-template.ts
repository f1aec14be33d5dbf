// The organism's ChatML template (tools/organism/chat_template.jinja), rendered the way
// transformers.js's `apply_chat_template` does it: the same jinja engine, `add_generation_prompt`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import type { ChatMessage, ChatRenderer } from '../../../src/types.js';

export const CHAT_TEMPLATE_PATH = fileURLToPath(new URL('../chat_template.jinja', import.meta.url));
/** What ends an assistant turn; SFT chat completions end with it. */
export const CHAT_END = '<|im_end|>';

export function loadChatRenderer(path = CHAT_TEMPLATE_PATH): ChatRenderer {
  const template = new Template(readFileSync(path, 'utf8'));
  return (messages: ChatMessage[]) => template.render({ messages, add_generation_prompt: true });
}
