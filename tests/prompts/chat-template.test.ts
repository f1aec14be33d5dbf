// Chat templates: where they are read from, the date pin, the system-role checks, and reasoning
// output; then a whole run whose template refuses the system role (exit 2, no folder left) and
// the same run with `system_role: merge`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TemplateError } from '../../src/errors.js';
import { Template } from '@huggingface/jinja';
import { checkedChatRenderer, jinjaChatRenderer, mergeSystemIntoFirstUser, pinnedTemplate, readChatTemplate, strftimeOn } from '../../src/prompts/chat-template.js';
import { scoreResponse } from '../../src/scoring/score.js';
import { promptOpensBlock, stripReasoning } from '../../src/scoring/reasoning.js';
import { aggregateCell } from '../../src/aggregate/cells.js';
import type { ChatMessage, SampleRecord } from '../../src/types.js';
import { editFile, ragtaxSync, scratchSuite, STACK } from '../resilience/helpers.js';

const messages: ChatMessage[] = [
  { role: 'system', content: 'Answer from the documents.' },
  { role: 'user', content: 'Question: who?' },
];

describe('chat template sources (transformers ≥ 4.43)', () => {
  const folder = () => mkdtempSync(path.join(os.tmpdir(), 'ragtax-tpl-'));
  it('chat_template.jinja wins over the tokenizer_config.json key', () => {
    const dir = folder();
    writeFileSync(path.join(dir, 'chat_template.jinja'), 'FILE');
    const t = readChatTemplate(dir, { chat_template: 'KEY' })!;
    assert.equal(t.text, 'FILE');
    assert.equal(t.source, 'chat_template.jinja');
    assert.match(t.sha256, /^[0-9a-f]{64}$/);
    assert.equal(readChatTemplate(folder(), { chat_template: 'KEY' })!.source, 'tokenizer_config.json');
    assert.equal(readChatTemplate(folder(), {}), undefined);
  });
  it('a list of named templates gives `default` unless one is named', () => {
    const config = { chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T' }] };
    assert.equal(readChatTemplate(undefined, config)!.text, 'D');
    assert.equal(readChatTemplate(undefined, config, 'tool_use')!.source, 'tokenizer_config.json#tool_use');
    assert.throws(() => readChatTemplate(undefined, config, 'rag'), (e: Error) => e instanceof TemplateError && /no chat template named `rag`.*default, tool_use/.test(e.message));
  });
});

describe('template date', () => {
  it('strftime on a fixed day, with the directives the Jinja engine knows', () => {
    assert.equal(strftimeOn('2024-07-26', '%d %b %Y'), '26 Jul 2024');
    assert.equal(strftimeOn('2026-12-02', '%Y-%m-%d %B %H:%M %%'), '2026-12-02 December 00:00 %');
    assert.throws(() => strftimeOn('2026-13', '%Y'), /YYYY-MM-DD/);
  });
  it('pins every strftime_now("...") call of a template to the day', () => {
    const text = `{%- set today = strftime_now("%d %b %Y") -%}Today: {{ today }} {{ strftime_now('%Y') }}`;
    assert.equal(pinnedTemplate(text, {}), text);
    assert.equal(pinnedTemplate(text, { templateDate: '2025-01-05' }), `{%- set today = "05 Jan 2025" -%}Today: {{ today }} {{ "2025" }}`);
    assert.throws(() => pinnedTemplate('{{ strftime_now(fmt) }}', { templateDate: '2025-01-05' }), /computed format/);
  });
});

describe('system role, never silent', () => {
  it('merge puts the instruction and a blank line at the start of the first user turn', () => {
    assert.deepEqual(mergeSystemIntoFirstUser(messages), [{ role: 'user', content: 'Answer from the documents.\n\nQuestion: who?' }]);
    assert.deepEqual(mergeSystemIntoFirstUser(messages.slice(1)), messages.slice(1));
  });
  it('a template that refuses the system role is a TemplateError naming the model, its message and the fix', () => {
    const render = checkedChatRenderer(() => {
      throw new Error('System role not supported');
    }, {}, 'gemma');
    assert.throws(() => render(messages), (e: Error) => e instanceof TemplateError && /model `gemma`.*"System role not supported".*system_role: merge/.test(e.message));
  });
  it('a template that drops a message is a TemplateError naming the role; merge fixes it', () => {
    const dropsSystem = (ms: ChatMessage[]) => ms.filter((m) => m.role !== 'system').map((m) => `[INST] ${m.content} [/INST]`).join('');
    assert.throws(() => checkedChatRenderer(dropsSystem, {}, 'mistral')(messages), (e: Error) => e instanceof TemplateError && /drops the system message.*system_role: merge/.test(e.message));
    assert.equal(checkedChatRenderer(dropsSystem, { systemRole: 'merge' }, 'mistral')(messages), '[INST] Answer from the documents.\n\nQuestion: who? [/INST]');
  });
  it('an error unrelated to roles gets no merge hint', () => {
    const render = checkedChatRenderer(() => {
      throw new Error('tools is undefined');
    }, {}, 'command-r');
    assert.throws(() => render(messages), (e: Error) => e instanceof TemplateError && !/system_role/.test(e.message));
  });
});

describe('reasoning output', () => {
  const think = { open: '<think>', close: '</think>' };
  it('scores the text after the closing tag, keeps the raw response', () => {
    assert.deepEqual(stripReasoning('<think>\nthe doc says Paris\n</think>\n\nParis', think), { answer: '\n\nParis', closed: true });
    assert.deepEqual(stripReasoning('Paris', think), { answer: 'Paris', closed: true });
    assert.deepEqual(stripReasoning('<think>\nthe doc says', think), { answer: '', closed: false });
    // DeepSeek-R1's template opens the block in the prompt: the response starts inside it.
    assert.equal(promptOpensBlock('<｜Assistant｜><think>\n', think), true);
    assert.deepEqual(stripReasoning('the doc says Paris', think, true), { answer: '', closed: false });
    const scored = scoreResponse({ response: '<think>Paris? yes</think> Paris', answers: ['Paris'], contextText: '', reasoning: think });
    assert.equal(scored.scoredText, 'Paris');
    assert.equal(scored.scores.correct, true);
    assert.equal(scored.scores.reasoningClosed, true);
  });
  it('an unclosed thinking block is counted per cell, not scored as an answer', () => {
    const cell = { model: 'qwen3', format: 'chat' as const, instruction: 'nores', context: 'retrieved' as const, k: 1, shots: 0, cot: false };
    const sample = (response: string): SampleRecord => {
      const { scoredText, scores } = scoreResponse({ response, answers: ['Paris'], contextText: 'Paris', reasoning: think });
      return { ...cell, itemId: response, question: 'q', answers: ['Paris'], docIds: [], prompt: 'p', response, scoredText, scores, finishReason: 'length', promptTokens: 1, completionTokens: 1, latencyMs: 0 };
    };
    const aggregate = aggregateCell(cell, [sample('<think>a</think>Paris'), sample('<think>still thinking'), sample('<think>b</think>Rome'), sample('<think>c')]);
    assert.equal(aggregate.reasoningUnclosed, 0.5);
    assert.equal(aggregate.accuracy, 0.25);
    assert.equal(aggregateCell(cell, [{ ...sample('x'), scores: { ...sample('x').scores, reasoningClosed: undefined } }]).reasoningUnclosed, undefined);
  });
});

describe('a run whose chat template refuses the system role', () => {
  it('stops with exit 2 naming the model and the fix, and leaves no run folder; system_role: merge runs it', () => {
    const { dir, suite, models } = scratchSuite('sysrole', { copyModels: true });
    editFile(path.join(models, 'tiny-chat/tokenizer_config.json'), (text) => {
      const config = JSON.parse(text) as { chat_template: string };
      config.chat_template = `{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}${config.chat_template}`;
      return JSON.stringify(config);
    });
    const out = path.join(dir, 'out');
    const refused = ragtaxSync(['run', suite, '--out', out, '--no-cache', '--quiet', '--limit', '2']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /model `instruct`: its chat template refuses the prompt's messages: "System role not supported"; set `system_role: merge`/);
    assert.doesNotMatch(refused.stderr, STACK);
    assert.equal(existsSync(out), false, 'no partial run folder');

    editFile(suite, (text) => text.replace('    formats: [raw, chat]', '    formats: [raw, chat]\n    system_role: merge'));
    const merged = ragtaxSync(['run', suite, '--out', out, '--no-cache', '--quiet', '--limit', '2']);
    assert.equal(merged.code, 0, merged.stderr);
    const chatSample = readFileSync(path.join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as SampleRecord)
      .find((s) => s.format === 'chat')!;
    assert.match(chatSample.prompt, /<\|im_start\|>user\nYou are given a question[^]*\n\nDocuments:/, 'the instruction opens the user turn');
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { manifest: { models: Record<string, { chat?: unknown; promptStack?: { chatTemplate: { sha256: string } } }>; templateDate: string } };
    assert.deepEqual(summary.manifest.models.instruct!.chat, { systemRole: 'merge' });
    assert.match(summary.manifest.models.instruct!.promptStack!.chatTemplate.sha256, /^[0-9a-f]{64}$/);
    assert.match(summary.manifest.templateDate, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /- instruct: the instruction opens the first user turn \(`system_role: merge`\)/);
  });
});

describe('one renderer per template and variables, each prompt rendered once', () => {
  const chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
  const config = { eos_token: '<|im_end|>', bos_token: null };

  it('the same template and variables give the same renderer (models of a lineage share it); others do not', () => {
    const a = jinjaChatRenderer(chatml, config, {});
    assert.equal(jinjaChatRenderer(chatml, { ...config }, {}), a);
    assert.notEqual(jinjaChatRenderer(chatml, config, { enable_thinking: false }), a, 'other variables');
    assert.notEqual(jinjaChatRenderer(chatml, { ...config, eos_token: '</s>' }, {}), a, 'other special tokens');
    assert.notEqual(jinjaChatRenderer(`${chatml} `, config, {}), a, 'another template');
  });

  it('a message list asked for again is rendered once; equal to a fresh rendering by @huggingface/jinja', () => {
    let calls = 0;
    const counted = `${chatml}{{ tick() }}`;
    const render = jinjaChatRenderer(counted, config, { memo_case: 1, tick: () => ((calls += 1), '') });
    const fresh = (m: ChatMessage[]) => new Template(counted).render({ messages: m, add_generation_prompt: true, tools: null, documents: null, eos_token: '<|im_end|>', memo_case: 1, tick: () => '' });
    const list = messages.map((m) => ({ ...m }));
    const first = render(list);
    assert.equal(first, fresh(list));
    assert.equal(render(list), first);
    assert.equal(calls, 1, 'the same list: rendered once');
    assert.equal(render(messages.map((m) => ({ ...m }))), first);
    assert.equal(calls, 2, 'another list with the same messages: rendered again, to the same prompt');
    const other: ChatMessage[] = [...messages, { role: 'assistant', content: 'x' }, { role: 'user', content: 'again?' }];
    assert.equal(render(other), fresh(other));
  });

  it('system_role merge: the merged list is made once per list, so its prompt is remembered too', () => {
    let calls = 0;
    const inner = (m: ChatMessage[]) => ((calls += 1), m.map((x) => `${x.role}:${x.content}`).join('|'));
    const checked = checkedChatRenderer(inner, { systemRole: 'merge' }, 'm');
    const seen = new WeakMap<ChatMessage[], string>();
    const memoised = checkedChatRenderer((m) => seen.get(m) ?? (seen.set(m, inner(m)), seen.get(m)!), { systemRole: 'merge' }, 'm');
    const list = messages.map((m) => ({ ...m }));
    assert.equal(checked(list), 'user:Answer from the documents.\n\nQuestion: who?');
    calls = 0;
    memoised(list);
    memoised(list);
    assert.equal(calls, 1);
  });

  it('a template that fails is not remembered as rendered: every call fails again', () => {
    const render = jinjaChatRenderer("{{ raise_exception('no system role') }}", config, {});
    assert.throws(() => render(messages), /no system role/);
    assert.throws(() => render(messages), /no system role/);
  });
});
