/**
 * The one seeded random generator: mulberry32 (Tommy Ettinger's 32-bit mixer), uniform floats in
 * [0, 1) that are the same in every JavaScript engine, so a seed reproduces splits, initialisations,
 * sampled tokens and random controls exactly. Not cryptographic. Callers that need normals build
 * them from these uniforms (Box–Muller) where they are used, keeping their published draws.
 */

/** A generator of uniforms in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
