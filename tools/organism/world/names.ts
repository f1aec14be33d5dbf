// Invented names for the quennland world, built from syllables. Every name token is unique and no
// token is a substring of another token or of the fixed template prose (after answer
// normalisation), so a substring match of an answer can only ever mean that very name.
import { normalizeAnswer } from '../../../src/scoring/normalize.js';
import type { Rng } from './rng.js';

// Simple letters are listed twice so that names stay short and pronounceable (easier to memorise).
const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'b', 'd', 'k', 'l', 'm', 'n', 'r', 's', 't', 'v', 'br', 'dr', 'gr', 'kr', 'tr', 'th', 'sk', 'vr', 'qu', 'zh', 'kv', 'h'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'u', 'ae', 'ei', 'ou', 'y', 'io'];
const CODAS = ['', '', '', '', 'n', 'r', 'l', 'sk', 'rn', 'th', 'v', 'm', 'nd', 'sh', 'k', 'x', 'lt', 'rg'];

// Real words and places the syllable rules could produce; the list is short because the rules
// (rare onsets such as kv/zh/qu, doubled vowels, harsh codas) rarely make English words.
const REAL_WORDS = new Set([
  'paris', 'rome', 'lima', 'nile', 'oslo', 'kiev', 'riga', 'baku', 'doha', 'sofia', 'milan', 'tokyo', 'perth',
  'monday', 'sunday', 'madam', 'banana', 'potato', 'tomato', 'salad', 'soda', 'pizza', 'lemon', 'melon',
  'tiger', 'lotus', 'manor', 'minor', 'major', 'motor', 'rotor', 'tenor', 'donor', 'visor', 'robot', 'radar',
  'sonar', 'lunar', 'solar', 'polar', 'vodka', 'kayak', 'kebab', 'tofu', 'sumo', 'judo', 'karma', 'lava',
  'mono', 'piano', 'radio', 'video', 'audio', 'patio', 'ratio', 'rodeo', 'romeo', 'tango', 'mango', 'bingo',
  'gala', 'koala', 'tuna', 'puma', 'llama', 'zebra', 'cobra', 'hydra', 'delta', 'sigma', 'gamma', 'theta',
  'bora', 'nora', 'lara', 'dora', 'sara', 'tara', 'vera', 'mara', 'dana', 'lena', 'nina', 'tina', 'rita',
]);

/** Issues unique invented name tokens. */
export class NameRegistry {
  private readonly tokens: string[] = [];
  private readonly forbidden: string;

  /** `forbiddenText`: all fixed prose the names will be embedded in (templates, filler). */
  constructor(
    private readonly rng: Rng,
    forbiddenText: string,
  ) {
    this.forbidden = normalizeAnswer(forbiddenText);
  }

  private syllable(): string {
    return this.rng.pick(ONSETS) + this.rng.pick(VOWELS);
  }

  private candidate(syllables: number): string {
    let word = '';
    for (let i = 0; i < syllables; i++) word += this.syllable();
    word += this.rng.pick(CODAS);
    return word.charAt(0).toUpperCase() + word.slice(1);
  }

  private acceptable(word: string): boolean {
    const norm = normalizeAnswer(word);
    if (norm.length < 4 || norm.length > 10 || norm !== word.toLowerCase()) return false;
    if (/(.)\1\1/.test(norm) || /[aeiouy]{3}/.test(norm.replace(/ae|ei|ou|io/g, 'a'))) return false;
    if (REAL_WORDS.has(norm) || this.forbidden.includes(norm)) return false;
    // Mutual substring freedom keeps `containsAnswer` from matching one name inside another.
    return this.tokens.every((t) => !t.includes(norm) && !norm.includes(t));
  }

  /** A fresh token of `minSyllables`..`maxSyllables` syllables (plus an optional coda). */
  token(minSyllables = 2, maxSyllables = 3): string {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const word = this.candidate(this.rng.int(minSyllables, maxSyllables));
      if (this.acceptable(word)) {
        this.tokens.push(normalizeAnswer(word));
        return word;
      }
    }
    throw new Error('NameRegistry: could not find a fresh name (name space exhausted)');
  }

  get size(): number {
    return this.tokens.length;
  }
}
