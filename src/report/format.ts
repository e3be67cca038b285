/** Number formatting shared by tables, manifest cards and token hover text. */

/**
 * A number for people: integers as they are (with thin grouping past 10^4), others to 4
 * significant digits, exponent form outside [1e-3, 1e6). NaN and infinities are spelled out.
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return Math.abs(x) >= 1e4 ? x.toLocaleString('en-US') : String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

/**
 * Rounds plotted values to 6 significant digits: figures are for reading, and shortest
 * round-trip printing of float32 values (0.10000000149011612) would triple the page size.
 * Non-finite values become null, which plotly draws as a gap (JSON has no NaN).
 */
export function plotNumber(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  return x === 0 ? 0 : Number(x.toPrecision(6));
}

/** `plotNumber` over any numeric array (number[], Float32Array, ...). */
export function plotNumbers(values: ArrayLike<number>): (number | null)[] {
  return Array.from(values, plotNumber);
}
