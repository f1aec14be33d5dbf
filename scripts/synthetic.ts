// Seeded synthetic data for retrieval tests and benchmarks. ANN indexes must be measured on
// clustered vectors (real embeddings are clustered); on uniform random vectors in high dimension
// every point is about equally far from every other and any ANN index looks broken.
/** A seeded uniform [0, 1) source: sfc32 (Doug's small fast counter), 53 bits from two draws. */
export function uniformSource(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next(); // mix the seed in
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/** mulberry32: a small seeded generator of floats in [0, 1), for simulated runs and outcomes. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller). */
export function gaussianSource(seed: number): () => number {
  const uniform = uniformSource(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function normalizeRows(vectors: Float32Array, dim: number): void {
  for (let base = 0; base < vectors.length; base += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[base + j]! * vectors[base + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) vectors[base + j] = vectors[base + j]! * inv;
  }
}

export interface ClusteredVectors {
  /** n × dim, unit length. */
  vectors: Float32Array;
  /** Queries drawn from the same mixture (not copies of corpus points), unit length. */
  queries: Float32Array;
  centres: Float32Array;
}

/**
 * n unit vectors from a mixture of `clusters` Gaussian clusters in `dim` dimensions: random unit
 * centres, points = centre + spread · N(0, I/dim), renormalised. Queries come from the same mixture.
 */
export function clusteredVectors(n: number, nQueries: number, dim: number, clusters: number, seed: number, spread = 0.5): ClusteredVectors {
  const gauss = gaussianSource(seed);
  const pick = uniformSource(seed ^ 0x5bd1e995);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = gauss();
  normalizeRows(centres, dim);
  const scale = spread / Math.sqrt(dim);
  const draw = (count: number): Float32Array => {
    const out = new Float32Array(count * dim);
    for (let row = 0; row < count; row++) {
      const c = Math.floor(pick() * clusters);
      for (let j = 0; j < dim; j++) out[row * dim + j] = centres[c * dim + j]! + scale * gauss();
    }
    normalizeRows(out, dim);
    return out;
  };
  return { vectors: draw(n), queries: draw(nQueries), centres };
}

/**
 * Synthetic passages over a Zipfian vocabulary (rank r has weight 1 / r^s): `count` passages of
 * 40–80 words. Words are pronounceable strings made from the rank. Seeded.
 */
export function zipfPassages(count: number, vocabSize: number, seed: number, s = 1.07): { title: string; text: string }[] {
  const words = Array.from({ length: vocabSize }, (_, r) => wordOf(r));
  const cumulative = new Float64Array(vocabSize);
  let total = 0;
  for (let r = 0; r < vocabSize; r++) cumulative[r] = total += 1 / Math.pow(r + 1, s);
  const uniform = uniformSource(seed);
  const sample = (): string => {
    const x = uniform() * total;
    let lo = 0;
    let hi = vocabSize - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  return Array.from({ length: count }, () => {
    const length = 40 + Math.floor(uniform() * 41);
    const text = Array.from({ length }, sample).join(' ');
    const title = `${sample()} ${sample()}`;
    return { title, text };
  });
}

/** A synthetic word for a frequency rank: syllables of its base-16 digits. */
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'si', 'de', 'po', 'gu', 'ha', 'ji', 'be', 'fa', 'zo'];
export function wordOf(rank: number): string {
  let word = '';
  let r = rank + 16;
  while (r > 0) {
    word += SYLLABLES[r % 16];
    r = Math.floor(r / 16);
  }
  return word;
}
