// Stable ids for passages that come without one: a hash of title and text, so the same passage
// gets the same id in every file and every run.
import { createHash } from 'node:crypto';

/** Key under which two passages count as the same document (protocol: same title + text). */
export function contentKey(title: string, text: string): string {
  return `${title}\u0000${text}`;
}

export function contentDocId(prefix: string, title: string, text: string): string {
  return `${prefix}${createHash('sha256').update(contentKey(title, text)).digest('hex').slice(0, 16)}`;
}
