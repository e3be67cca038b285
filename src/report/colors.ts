/**
 * Colour scales shared by heatmap figures (passed to plotly as explicit colorscales) and token
 * text (computed here, in Node), so the same value has the same colour in both. All four are
 * colour-blind safe: viridis and cividis (Nuñez et al. 2018, "Optimizing colormaps with
 * consideration for color vision deficiency"), and ColorBrewer's Blues and RdBu (Brewer,
 * colorbrewer2.org, both marked colour-blind safe).
 */

/** Sequential scales for values with a natural zero at the low end; `diverging` for signed values. */
export type ColorScaleName = 'viridis' | 'cividis' | 'blues' | 'diverging';

const STOPS: Readonly<Record<ColorScaleName, readonly string[]>> = {
  // matplotlib viridis and cividis sampled at 10 evenly spaced points.
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
  cividis: ['#00224e', '#123570', '#3b496c', '#575d6d', '#707173', '#8a8779', '#a69d75', '#c4b56c', '#e4cf5b', '#fee838'],
  // ColorBrewer Blues (9 classes): white at zero keeps token text readable.
  blues: ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'],
  // ColorBrewer RdBu (11 classes), reversed so negative is blue and positive red; white at the middle.
  diverging: ['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f'],
};

type Rgb = readonly [number, number, number];

function parseHex(hex: string): Rgb {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** The scale as plotly's colorscale: [[position 0..1, colour], ...]. */
export function plotlyColorscale(name: ColorScaleName): [number, string][] {
  const stops = STOPS[name];
  return stops.map((c, i) => [i / (stops.length - 1), c]);
}

/** The colour at t in [0, 1] (clamped; NaN gives light grey), linearly interpolated in sRGB. */
export function colorAt(name: ColorScaleName, t: number): string {
  if (Number.isNaN(t)) return '#e0e0e0';
  const stops = STOPS[name];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = parseHex(stops[i]);
  const b = parseHex(stops[i + 1]);
  const mix = (k: number): string => Math.round(a[k] + (b[k] - a[k]) * f).toString(16).padStart(2, '0');
  return `#${mix(0)}${mix(1)}${mix(2)}`;
}

/** Black or white, whichever reads better on the given background (WCAG relative luminance). */
export function textColorOn(background: string): '#000' | '#fff' {
  const channel = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = parseHex(background);
  const luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  // 0.179 is where contrast against black equals contrast against white.
  return luminance > 0.179 ? '#000' : '#fff';
}

/** A CSS linear-gradient of the scale, for colour legends. */
export function cssGradient(name: ColorScaleName): string {
  return `linear-gradient(to right, ${STOPS[name].join(', ')})`;
}
