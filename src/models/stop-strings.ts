// Where a response ends on a stop string, shared by the in-process backends so that they cut
// alike and report the same `stopString` (what `serve` returns as vLLM's `stop_reason`).

/** The text up to the earliest stop string in it (the longer one when two start at the same place). */
export function cutAtStop(text: string, stops: readonly string[]): { text: string; stopString?: string } {
  let matched: { at: number; stop: string } | undefined;
  for (const stop of stops) {
    if (stop.length === 0) continue;
    const at = text.indexOf(stop);
    if (at >= 0 && (!matched || at < matched.at || (at === matched.at && stop.length > matched.stop.length))) matched = { at, stop };
  }
  return matched ? { text: text.slice(0, matched.at), stopString: matched.stop } : { text };
}
