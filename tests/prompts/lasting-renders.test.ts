// Rendered chat prompts remembered across runs: the record is what answers (a planted prompt comes
// back), keyed by the renderer (template, variables) and the messages; a broken record is reported
// and rewritten; nothing made, nothing written.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { jinjaChatRenderer, rememberRendersIn } from '../../src/prompts/chat-template.js';
import { LASTING_RENDERS_FILE, LastingRenders } from '../../src/prompts/lasting-renders.js';
import type { ChatMessage } from '../../src/types.js';

const TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
const messages = (question: string): ChatMessage[] => [
  { role: 'system', content: 'Answer from the documents.' },
  { role: 'user', content: question },
];

function withMemo<T>(memo: LastingRenders, work: () => T): T {
  rememberRendersIn(memo);
  try {
    return work();
  } finally {
    rememberRendersIn(undefined);
  }
}

test('rendered prompts are recorded, and the record answers later renders of the same messages', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragtax-renders-'));
  try {
    const first = LastingRenders.open(dir);
    const render = jinjaChatRenderer(TEMPLATE, undefined, { lasting_test: 1 });
    const prompt = withMemo(first, () => render(messages('Where is Quennland?')));
    assert.equal(prompt, '<|system|>Answer from the documents.\n<|user|>Where is Quennland?\n<|assistant|>');
    assert.equal(first.made, 1);
    await first.save();
    const file = path.join(dir, LASTING_RENDERS_FILE);
    const record = JSON.parse(readFileSync(file, 'utf8')) as { format: string; prompts: Record<string, string> };
    assert.deepEqual(Object.values(record.prompts), [prompt]);

    // Plant another text under that key: a new process (here: new message arrays, so the in-process
    // memo misses) gets the planted text, which shows the record is what answers.
    const [key] = Object.keys(record.prompts);
    writeFileSync(file, JSON.stringify({ ...record, prompts: { [key!]: 'PLANTED' } }));
    const second = LastingRenders.open(dir);
    assert.equal(withMemo(second, () => render(messages('Where is Quennland?'))), 'PLANTED');
    // Other messages, another template or other variables: rendered, not read.
    assert.equal(withMemo(second, () => render(messages('Who rules Quennland?'))), '<|system|>Answer from the documents.\n<|user|>Who rules Quennland?\n<|assistant|>');
    assert.notEqual(withMemo(second, () => jinjaChatRenderer(`${TEMPLATE} `, undefined, { lasting_test: 1 })(messages('Where is Quennland?'))), 'PLANTED');
    assert.notEqual(withMemo(second, () => jinjaChatRenderer(TEMPLATE, undefined, { lasting_test: 2 })(messages('Where is Quennland?'))), 'PLANTED');
    assert.equal(second.made, 3);
    // Without a record set, nothing is looked up.
    assert.equal(render(messages('Where is Quennland?')), '<|system|>Answer from the documents.\n<|user|>Where is Quennland?\n<|assistant|>');

    // Nothing made: the record is not rewritten.
    const untouched = statSync(file).mtimeMs;
    const third = LastingRenders.open(dir);
    withMemo(third, () => render(messages('Where is Quennland?')));
    await third.save();
    assert.equal(statSync(file).mtimeMs, untouched);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken record is reported and rewritten', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragtax-renders-'));
  try {
    const file = path.join(dir, LASTING_RENDERS_FILE);
    writeFileSync(file, '{"format": "ragtax-chat-renders/1", "prompts": ');
    const broken = LastingRenders.open(dir);
    assert.match(broken.unreadable ?? '', /JSON/);
    await broken.save();
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { format: 'ragtax-chat-renders/1', prompts: {} });
    writeFileSync(file, JSON.stringify({ format: 'something else', prompts: {} }));
    assert.match(LastingRenders.open(dir).unreadable ?? '', /not a ragtax-chat-renders\/1 record/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
