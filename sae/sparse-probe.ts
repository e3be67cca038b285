/**
 * 1-sparse probing (Gao et al. 2024, §4.5 "probe loss"; SAEBench's sparse probing at k = 1): on
 * a labelled probe set — activations captured only where an attribute matters, such as
 * TinyWorld's probe sets (the token just before a word that expresses the value) — the single
 * latent whose firing (f > 0) best picks out each class value, by F1 over the set's rows.
 *
 * This differs from the dashboard's attribute tables, which score every token of held-out text:
 * here the negatives are the same kind of position with another value, which is what a linear
 * probe trained on the set is scored on. A latent that also fires elsewhere in the text is not
 * penalised for it.
 *
 * Shapes: n = labelled rows, d = d_in, m = d_sae.
 */
import { ShapeMismatchError } from '../src/errors.js';
import { readHook, readLabelledRows, type Capture } from '../src/store/index.js';
import { bestMatches, type AttributeMatch } from './attributes.js';
import { blockedEncoder } from './dashboard-encode.js';
import type { Sae } from './sae.js';

export interface SparseProbeReport {
  readonly capture: string;
  readonly hook: string;
  readonly label: string;
  /** Labelled rows scored. */
  readonly rows: number;
  /** One match per class value, named `label=value`. */
  readonly matches: readonly AttributeMatch[];
}

export async function sparseProbe(sae: Sae, capture: Capture, hook: string, label: string): Promise<SparseProbeReport> {
  const d = sae.cfg.d_in;
  const spec = capture.hooks[capture.hookIndex(hook)];
  if (spec.d !== d) throw new ShapeMismatchError(`${capture.dir}: hook ${hook} is ${spec.d} wide, the SAE reads ${d}`, 'use a capture of the hook the SAE was trained on');
  const labelled = readLabelledRows(capture, label);
  const x = readHook(capture, hook); // [N, d], every captured row
  const m = sae.cfg.d_sae;
  const k = labelled.classes.length;
  const tp = new Float64Array(k * m);
  const fires = new Float64Array(m);
  const positives = new Float64Array(k);
  const encode = blockedEncoder(sae);
  const BATCH = 1024;
  for (let start = 0; start < labelled.rows.length; start += BATCH) {
    const rows = labelled.rows.subarray(start, start + BATCH);
    const xb = new Float32Array(rows.length * d);
    for (let r = 0; r < rows.length; r++) xb.set(x.subarray(rows[r] * d, (rows[r] + 1) * d), r * d);
    const f = await encode(xb, rows.length); // [rows, m]
    for (let r = 0; r < rows.length; r++) {
      const y = labelled.y[rows[r]];
      positives[y]++;
      for (let l = 0; l < m; l++) {
        if (f[r * m + l] > 0) {
          fires[l]++;
          tp[y * m + l]++;
        }
      }
    }
  }
  const names = labelled.classes.map((c) => `${label}=${String(c)}`);
  return { capture: capture.dir, hook, label, rows: labelled.rows.length, matches: bestMatches(names, tp, fires, positives) };
}
