// Lines of text as the UTF-8 bytes of `line\n` each, for appending to a JSONL file.
//
// Written out because Node's own path is slow for this: joining a batch's JSON lines, then
// Buffer.from(text), flattens the joined string and runs V8's general UTF-8 encoder over it. On a
// warm quickstart re-run (3,600 records, 5 MB: the exact prompts) that was ~40 ms of joining and
// ~45 ms of encoding, the largest cost of writing samples.jsonl. JSON lines are almost always pure
// ASCII (JSON.stringify escapes control characters; prompts are mostly English), and ASCII text's
// UTF-8 bytes are its Latin-1 bytes, which Buffer#write copies without encoding. So each line is
// written straight into one buffer: a line whose UTF-8 length equals its length (pure ASCII) as
// Latin-1, any other line as UTF-8.
//
// `into`: a buffer to write into when it is large enough (the bytes are then a view of it). A
// writer that appends batch after batch reuses one buffer, because on a VM a fresh page costs a
// fault of about 10 µs: a new 1.4 MB buffer per 1,024 records was ~350 faults each.
export function linesToBuffer(lines: readonly string[], into?: Buffer): Buffer {
  const sizes = new Array<number>(lines.length);
  let bytes = lines.length; // one '\n' per line
  for (let i = 0; i < lines.length; i++) bytes += sizes[i] = Buffer.byteLength(lines[i]!, 'utf8');
  const buffer = into !== undefined && into.length >= bytes ? into.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    offset += buffer.write(line, offset, sizes[i] === line.length ? 'latin1' : 'utf8');
    buffer[offset++] = 0x0a;
  }
  if (offset !== bytes) throw new Error(`linesToBuffer: wrote ${offset} of ${bytes} bytes`); // cannot happen: byteLength and write agree
  return buffer;
}
