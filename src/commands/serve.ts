// `ragtax serve <model-dir-or-id>`: see src/serve/server.ts. Runs until SIGINT or SIGTERM.
import { InputError } from '../errors.js';
import { startServer, type RunningServer } from '../serve/server.js';

export interface ServeCommandOptions {
  model: string;
  port: number;
  host: string;
  batchSize: number;
  device: string;
  dtype?: string;
  modelId?: string;
  apiKeyEnv?: string;
  allowRemote?: boolean;
}

const DEVICES = ['cpu', 'cuda', 'webgpu'];

export async function runServeCommand(options: ServeCommandOptions, log: NodeJS.WritableStream): Promise<RunningServer> {
  if (!DEVICES.includes(options.device)) throw new InputError(`--device must be one of ${DEVICES.join(', ')}, got '${options.device}'`);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new InputError(`--port must be a port number (0-65535), got ${options.port}`);
  let apiKey: string | undefined;
  if (options.apiKeyEnv !== undefined) {
    apiKey = process.env[options.apiKeyEnv];
    if (!apiKey) throw new InputError(`--api-key-env names ${options.apiKeyEnv}, which is not set`);
  }
  const server = await startServer({
    source: options.model,
    modelId: options.modelId,
    host: options.host,
    port: options.port,
    batchSize: options.batchSize,
    device: options.device as 'cpu',
    dtype: options.dtype,
    apiKey,
    allowRemote: options.allowRemote,
  });
  log.write(
    `ragtax serve: model '${server.modelId}' on ${server.url}/v1 (batch size ${options.batchSize}, device ${options.device}, context ${server.model.contextLength} tokens${apiKey ? ', API key required' : ''}); Ctrl-C stops it\n`,
  );
  const stop = (signal: NodeJS.Signals) => {
    log.write(`ragtax serve: ${signal}, closing (${server.stats.requests} requests in ${server.stats.batches} batches)\n`);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}
