// samples.jsonl: append-only, one record per line. Every finished batch is written at once, so a
// killed run never loses a finished sample; it reaches the disk itself (datasync) at least once a
// second and on close, so an operating-system crash loses at most the last second of work.
// Syncing after every batch cost about 100 ms of a 1.35 s warm quickstart re-run (170 batches,
// all from the cache) for no gain: cached samples come back free on --resume.
// A failed write (a full disk) names the file; an interrupted run closes every open samples file
// cleanly (`closeAllForInterrupt`) before the process exits.
import { open, type FileHandle } from 'node:fs/promises';
import type { SampleRecord } from '../types.js';
import { writeFailure } from '../util/atomic-write.js';
import { linesToBuffer } from '../util/lines-buffer.js';

/** Files open in this process, for `closeAllForInterrupt`. */
const openFiles = new Set<SamplesFile>();

export class SamplesFile {
  private lastSync = performance.now();
  private unsynced = false;
  /** The append being written, if any (awaited by a clean close on interrupt). */
  private writing: Promise<void> | null = null;
  private stopped = false;
  private closed = false;
  /** Reused for the bytes of each append (see linesToBuffer), grown to the largest append. */
  private scratch: Buffer | undefined;
  private scratchBusy = false;

  private constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly syncEveryMs: number,
  ) {
    openFiles.add(this);
  }

  static async create(file: string, syncEveryMs = 1000): Promise<SamplesFile> {
    const handle = await open(file, 'a').catch((error: unknown) => {
      throw writeFailure(file, error);
    });
    return new SamplesFile(file, handle, syncEveryMs);
  }

  async append(records: readonly SampleRecord[]): Promise<void> {
    // After an interrupt the file is closed and the process is about to exit: nothing more is
    // written, and the caller waits for the exit.
    if (this.stopped) return new Promise<void>(() => {});
    if (records.length === 0) return;
    const writing = this.write(records);
    this.writing = writing.catch(() => {});
    try {
      await writing;
    } finally {
      this.writing = null;
    }
  }

  private async write(records: readonly SampleRecord[]): Promise<void> {
    try {
      const lines = records.map((r) => JSON.stringify(r));
      // The scratch buffer only when no other append is being written from it.
      const reuse = !this.scratchBusy;
      const bytes = linesToBuffer(lines, reuse ? this.scratch : undefined);
      if (!reuse) await this.handle.appendFile(bytes);
      else {
        // Too small a scratch buffer: linesToBuffer made a new one, exactly this size.
        if ((this.scratch?.length ?? 0) < bytes.length) this.scratch = bytes;
        this.scratchBusy = true;
        try {
          await this.handle.appendFile(bytes);
        } finally {
          this.scratchBusy = false;
        }
      }
      this.unsynced = true;
      if (performance.now() - this.lastSync >= this.syncEveryMs) await this.sync();
    } catch (error) {
      throw writeFailure(this.file, error);
    }
  }

  /** Whether records were written since the last datasync. */
  get pendingSync(): boolean {
    return this.unsynced;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openFiles.delete(this);
    try {
      await this.sync();
    } catch (error) {
      throw writeFailure(this.file, error);
    } finally {
      await this.handle.close();
    }
  }

  /** Stops appends, waits for the one being written, then syncs and closes. */
  private async stop(): Promise<void> {
    this.stopped = true;
    await this.writing;
    await this.close().catch(() => {});
  }

  private async sync(): Promise<void> {
    if (this.unsynced) await this.handle.datasync();
    this.unsynced = false;
    this.lastSync = performance.now();
  }

  /**
   * For a signal: every open samples file stops taking records, finishes the batch it is writing
   * (so no line is torn) and is synced and closed. Appends after this never settle.
   */
  static async closeAllForInterrupt(): Promise<void> {
    await Promise.all([...openFiles].map((f) => f.stop()));
  }
}
