// Shared pieces of the backend tests: small node:http test servers and suite files that point
// `backend: openai` at a server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/ragtax.js');
export const TINY_BASE = path.join(ROOT, 'tests/fixtures/models/tiny-base');
export const TINY_CHAT = path.join(ROOT, 'tests/fixtures/models/tiny-chat');
export const FIXTURE_DATA = path.join(ROOT, 'tests/fixtures/data');

export interface TestServer {
  url: string;
  server: Server;
  /** Requests seen, in arrival order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Record<string, unknown> | null }[];
  inFlight: number;
  peakInFlight: number;
  close(): Promise<void>;
}

/** A server whose handler decides each answer; it counts requests in flight (from arrival to response end). */
export async function testServer(
  handler: (req: { method: string; url: string; headers: IncomingMessage['headers']; body: Record<string, unknown> | null; n: number }, res: ServerResponse) => void | Promise<void>,
): Promise<TestServer> {
  const state: TestServer = { url: '', server: undefined as unknown as Server, requests: [], inFlight: 0, peakInFlight: 0, close: async () => {} };
  const server = createServer(async (req, res) => {
    state.inFlight += 1;
    state.peakInFlight = Math.max(state.peakInFlight, state.inFlight);
    res.on('close', () => (state.inFlight -= 1));
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const entry = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
    state.requests.push(entry);
    await handler({ ...entry, n: state.requests.length }, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.server = server;
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** A minimal OpenAI-compatible model: lists `id`, answers completions with `text`. */
export function modelsList(id: string, extra: Record<string, unknown> = {}) {
  return { object: 'list', data: [{ id, object: 'model', owned_by: 'test', root: `/models/${id}`, ...extra }] };
}

export function completion(text: string, finish = 'length') {
  return { id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text, finish_reason: finish }], usage: { prompt_tokens: 3, completion_tokens: 2 } };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs the CLI asynchronously (servers in this process must keep answering). */
export function ragtax(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}
