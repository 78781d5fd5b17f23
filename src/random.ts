/**
 * Seeded randomness of our own (never Math.random): the same numbers on every
 * run, process and platform, since only integer ops and one division are used.
 */

/** mulberry32: a small, fast 32-bit generator; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1). */
export function uniformArray(rand: () => number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rand() * 2 - 1;
  return out;
}

/**
 * Natural logarithm from IEEE-754 basic operations only (+ − × ÷), each of which
 * is correctly rounded, so the result is the same bits on every platform and JS
 * engine. Math.log carries no such promise (ECMAScript leaves its accuracy to the
 * implementation). Accurate to a few ulps, which is all a Gaussian sampler needs.
 * Defined for x > 0.
 */
export function portableLog(x: number): number {
  // x = m · 2^e with m in [√½, √2): scaling by 2 is exact.
  let exponent = 0;
  let m = x;
  while (m >= Math.SQRT2) {
    m /= 2;
    exponent++;
  }
  while (m < Math.SQRT1_2) {
    m *= 2;
    exponent--;
  }
  // ln m = 2·atanh(s), s = (m−1)/(m+1) ∈ (−0.172, 0.172): the series s^(2k+1)/(2k+1)
  // gains ~1.5 decimal digits a term, so 12 terms reach double precision.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let term = s;
  let sum = 0;
  for (let k = 0; k < 12; k++) {
    sum += term / (2 * k + 1);
    term *= s2;
  }
  return 2 * sum + exponent * Math.LN2;
}

/**
 * Standard-normal values × `std`, by Marsaglia's polar method over `rand`: it needs
 * a logarithm and a square root but no sine or cosine, and both are taken from
 * correctly rounded or basic operations (Math.sqrt is correctly rounded by the
 * IEEE-754 standard; the log is `portableLog`), so the same seed gives the same
 * bits on every platform and in every process.
 */
export function gaussianArray(rand: () => number, length: number, std = 1): Float32Array {
  const out = new Float32Array(length);
  let i = 0;
  while (i < length) {
    const u = rand() * 2 - 1;
    const v = rand() * 2 - 1;
    const r2 = u * u + v * v;
    if (r2 >= 1 || r2 === 0) continue;
    const factor = Math.sqrt((-2 * portableLog(r2)) / r2) * std;
    out[i++] = u * factor;
    if (i < length) out[i++] = v * factor;
  }
  return out;
}
