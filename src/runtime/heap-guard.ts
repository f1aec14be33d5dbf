// V8 aborts the whole process when its heap is full (a fatal error with its own stack dump, which
// no JavaScript handler sees), so "out of memory" cannot be caught where it happens. Code whose
// memory grows with its input (reading a data file, building an index) calls check() at each chunk
// instead, and stops with one ragtax line (exit 3) while there is still room to print it.
//
// What is compared is the LIVE old generation: its size right after each full (mark-compact)
// collection, reported by a `gc` PerformanceObserver. The heap size seen at an arbitrary moment
// swings with garbage (measured reading a 125 MB corpus under a 256 MB heap: 169 to 230 MB between
// consecutive chunks), so a threshold on it either fires early or too late; V8 gives up when
// full collections stop freeing memory near the limit (it died with 227 of 256 MB live, 89%).
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { RuntimeFailure } from '../errors.js';

const MIB = 2 ** 20;
/** Stop when a full collection leaves more than this share of the old generation's limit live. */
const LIVE_SHARE = 0.75;
/**
 * V8's heap_size_limit is the old generation's limit (--max-old-space-size) plus the young
 * generation's reserve (3 semi-spaces of 16 MiB on 64-bit Node 20: 4,144 = 4,096 + 48 MiB). The
 * process dies when the OLD generation cannot grow, so that is what is compared.
 */
const YOUNG_RESERVE = 48 * MIB;

function oldGeneration(): { used: number; limit: number } {
  let young = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') young += space.space_used_size;
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics();
  return { used: used - young, limit: Math.max(limit - YOUNG_RESERVE, limit / 2) };
}

/** The old generation's size after the latest full collection (0 before the first). */
let liveAfterFullGc = 0;
let observer: PerformanceObserver | null = null;
let guards = 0;

function observeFullCollections(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) liveAfterFullGc = oldGeneration().used;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

export class HeapGuard {
  private closed = false;

  /** `doing`: what was under way, for the message ("reading corpus.jsonl at line 12"). */
  constructor(private readonly doing: () => string) {
    guards += 1;
    observeFullCollections();
  }

  check(): void {
    const { limit } = oldGeneration();
    if (liveAfterFullGc <= LIVE_SHARE * limit) return;
    const suggestion = 2 ** Math.ceil(Math.log2((2 * limit) / MIB));
    const live = liveAfterFullGc;
    liveAfterFullGc = 0; // one message per exhaustion, not one per guard that sees it afterwards
    throw new RuntimeFailure(
      `out of memory ${this.doing()} (JavaScript heap ${Math.round(live / MIB)} of ${Math.round(limit / MIB)} MB in use); ` +
        `give Node more heap, e.g. NODE_OPTIONS=--max-old-space-size=${suggestion}, or use a smaller file`,
    );
  }

  /** Stops observing collections once no guard is open (an observer keeps nothing alive, but costs a little per collection). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    guards -= 1;
    if (guards === 0 && observer) {
      observer.disconnect();
      observer = null;
      liveAfterFullGc = 0;
    }
  }
}
