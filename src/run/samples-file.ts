// samples.jsonl: append-only, one record per line, synced to disk as each batch finishes so a
// killed run never loses a finished sample.
import { open, type FileHandle } from 'node:fs/promises';
import type { SampleRecord } from '../types.js';

export class SamplesFile {
  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<SamplesFile> {
    return new SamplesFile(await open(file, 'a'));
  }

  async append(records: readonly SampleRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.handle.appendFile(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
