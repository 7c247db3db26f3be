/**
 * The generator's randomness: one small PRNG reseeded from each event's id (as Beam's
 * `new Random(eventId)` and nexmark-rs's `SmallRng::seed_from_u64(id)`), so an event is a pure
 * function of its id and any split replays from any offset; and Nexmark's value generators
 * (`PriceGenerator`, `StringsGenerator`) drawing from it.
 */

/** The PRNG's state (mulberry32). Module-level: generation is synchronous, and this spares an allocation per event. */
let state = 0;

/** Restarts the PRNG at the stream that belongs to `id` (an integer up to 2^53). */
export function seed(id: number): void {
  const lo = id >>> 0;
  const hi = (id / 4294967296) >>> 0;
  state = (Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x632be5ab, 0xc2b2ae35)) | 0;
}

/** A uniform double in [0, 1). */
export function nextDouble(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A uniform integer in [0, n) (Java's `Random.nextInt(n)`). */
export function nextInt(n: number): number {
  return Math.floor(nextDouble() * n);
}

/** A log-uniform price in cents from $1 to $1M (Nexmark's `PriceGenerator.nextPrice`). */
export function nextPrice(): number {
  return Math.round(Math.pow(10, nextDouble() * 6) * 100);
}

const SPACE = 32;
const A = 97;

/**
 * A string of 3 to `maxLength - 1` characters: lowercase letters, each `special` with probability
 * 1/13, then trimmed of spaces (Nexmark's `StringsGenerator.nextString`).
 */
export function nextString(maxLength: number, special = SPACE): string {
  const length = 3 + nextInt(maxLength - 3);
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(nextInt(13) === 0 ? special : A + nextInt(26));
  return special === SPACE ? s.trim() : s;
}

/** Length of the fixed random text `extra` fields are cut from. */
const EXTRA_SOURCE_LENGTH = 1 << 20;

/** 1 MiB of random lowercase letters, fixed (seeded): an `extra` is a slice of it, which costs no copy. */
const EXTRA_SOURCE: string = (() => {
  seed(0x5eed);
  const codes = new Uint8Array(EXTRA_SOURCE_LENGTH);
  for (let i = 0; i < codes.length; i++) codes[i] = A + nextInt(26);
  return new TextDecoder('latin1').decode(codes);
})();

/**
 * Padding that brings an entity of `currentSize` bytes to `desiredAverageSize` on average, give
 * or take 20 % (Nexmark's `StringsGenerator.nextExtra`).
 */
export function nextExtra(currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return '';
  const avg = desiredAverageSize - currentSize;
  const delta = Math.round(avg * 0.2);
  const length = avg - delta + (delta === 0 ? 0 : nextInt(2 * delta));
  const start = nextInt(EXTRA_SOURCE_LENGTH - length);
  return EXTRA_SOURCE.slice(start, start + length);
}
