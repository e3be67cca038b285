/**
 * The engine training step (sae/step.ts) against the float64 reference (sae/reference-train.ts)
 * for every variant, and the reference against finite differences.
 */
import { describe, expect, it } from 'vitest';
import { keep, scope, upload, type Gpu, type Tensor } from '../../src/engine/index.js';
import { trainConfig, type SaeVariant } from '../../sae/config.js';
import { uploadParams, type HostParams } from '../../sae/params.js';
import { referenceStep, type Params64, type RefStepOptions } from '../../sae/reference-train.js';
import { batchTopkSelection, disposeSelection, trainStep } from '../../sae/step.js';
import { expectClose, gpuOrSkip, randomArray, rng } from '../engine/helpers.js';

const { gpu, reason } = await gpuOrSkip();
const [B, d, m, k] = [7, 5, 16, 3];

function params(next: () => number, variant: SaeVariant): Params64 {
  return {
    W_enc: randomArray(next, d * m, -0.6, 0.6),
    b_enc: randomArray(next, m, -0.2, 0.2),
    W_dec: randomArray(next, m * d, -0.6, 0.6),
    b_dec: randomArray(next, d, -0.3, 0.3),
    logThreshold: variant === 'jumprelu' ? randomArray(next, m, -2.5, -0.5) : null,
  };
}

const f32 = (a: Float64Array) => Float32Array.from(a);
const host = (p: Params64): HostParams => ({ W_enc: f32(p.W_enc), b_enc: f32(p.b_enc), W_dec: f32(p.W_dec), b_dec: f32(p.b_dec), logThreshold: p.logThreshold ? f32(p.logThreshold) : null });

function options(variant: SaeVariant, dead: Uint8Array | null): RefStepOptions {
  return { variant, d, m, k: variant === 'topk' || variant === 'batchtopk' ? k : null, lambda: 0.7, kAux: 4, auxkCoefficient: 0.5, bandwidth: 0.3, dead };
}

/** Finite differences of the reference loss for a few coordinates of each parameter. */
function checkReferenceGradients(p: Params64, x: Float64Array, o: RefStepOptions): void {
  const base = referenceStep(p, x, B, o);
  const fixed = { ...o, residual: base.residual };
  const names = ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const;
  const next = rng(7);
  for (const name of names) {
    const arr = p[name];
    for (let n = 0; n < 6; n++) {
      const i = Math.floor(next() * arr.length);
      const h = 1e-6;
      const keep = arr[i];
      arr[i] = keep + h;
      const up = referenceStep(p, x, B, fixed).loss;
      arr[i] = keep - h;
      const down = referenceStep(p, x, B, fixed).loss;
      arr[i] = keep;
      const fd = (up - down) / (2 * h);
      const g = base.grads[name][i];
      // Selections (top-k, the JumpReLU step) are piecewise constant; h is far below any gap in these data.
      if (Math.abs(fd - g) > 1e-5 + 1e-4 * Math.abs(fd)) throw new Error(`${o.variant} ${name}[${i}]: gradient ${g}, finite difference ${fd}`);
    }
  }
}

async function engineStep(g: Gpu, p: Params64, x: Float64Array, o: RefStepOptions) {
  const cfg = trainConfig({ variant: o.variant, dIn: d, dSae: m, k: o.k ?? undefined, kAux: o.kAux, auxkCoefficient: o.auxkCoefficient, bandwidth: o.bandwidth });
  const gp = uploadParams(g, host(p), d, m);
  const numDead = o.dead ? o.dead.reduce((a, v) => a + v, 0) : 0;
  const xt = keep(upload(g, x, [B, d]));
  const selection = o.variant === 'batchtopk' ? await batchTopkSelection(cfg, gp, xt) : null;
  const out = scope(() => {
    const dead = numDead > 0 ? { bias: upload(g, Float32Array.from(o.dead!, (v) => (v ? 0 : -1e30)), [m]), count: numDead } : null;
    return trainStep(cfg, gp, { x: xt, lambda: o.lambda, dead, selection });
  });
  xt.dispose();
  disposeSelection(selection);
  const read = async (t: Tensor | null): Promise<Float32Array | Uint32Array | null> => {
    if (!t) return null;
    const v = await t.download();
    t.dispose();
    return v as Float32Array | Uint32Array;
  };
  const result = {
    mse: (await read(out.mse))![0],
    sparsity: (await read(out.sparsity))?.[0] ?? null,
    aux: (await read(out.aux))?.[0] ?? 0,
    counts: (await read(out.counts)) as Uint32Array,
    batchThreshold: (await read(out.batchThreshold))?.[0] ?? null,
    W_enc: (await read(out.grads.W_enc))!, b_enc: (await read(out.grads.b_enc))!, W_dec: (await read(out.grads.W_dec))!, b_dec: (await read(out.grads.b_dec))!,
    logThreshold: await read(out.grads.logThreshold),
  };
  for (const t of [gp.W_enc, gp.b_enc, gp.W_dec, gp.b_dec, gp.logThreshold]) t?.dispose();
  return result;
}

const VARIANTS: SaeVariant[] = ['relu', 'topk', 'batchtopk', 'jumprelu'];

describe('float64 reference step', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: gradients match finite differences`, () => {
      const next = rng(11 + VARIANTS.indexOf(variant));
      const p = params(next, variant);
      const x = randomArray(next, B * d, -1.5, 1.5);
      const dead = variant === 'topk' || variant === 'batchtopk' ? Uint8Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 1 : 0)) : null;
      checkReferenceGradients(p, x, options(variant, dead));
    });
  }
});

describe.skipIf(!gpu)(`engine step against the reference${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const variant of VARIANTS) {
    for (const withDead of variant === 'topk' || variant === 'batchtopk' ? [false, true] : [false]) {
      it(`${variant}${withDead ? ' with AuxK on dead latents' : ''}: loss and every gradient`, async () => {
        const next = rng(101 + VARIANTS.indexOf(variant) * 7 + (withDead ? 1 : 0));
        const p = params(next, variant);
        const x = randomArray(next, B * d, -1.5, 1.5);
        const dead = withDead ? Uint8Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 1 : 0)) : null;
        const o = options(variant, dead);
        const ref = referenceStep(p, x, B, o);
        const got = await engineStep(gpu!, p, x, o);
        expectClose([got.mse], [ref.mse], 1e-5, 1e-4, 'mse');
        expectClose([got.aux], [ref.aux], 1e-5, 1e-4, 'aux');
        if (variant === 'relu') expectClose([got.sparsity!], [ref.sparsity], 1e-5, 1e-4, 'sparsity');
        if (variant === 'jumprelu') expectClose([(o.lambda / B) * got.counts.reduce((a, v) => a + v, 0)], [ref.sparsity], 1e-6, 1e-6, 'L0');
        const fired = new Uint32Array(m);
        for (let t = 0; t < B * m; t++) if (ref.f[t] > 0) fired[t % m]++;
        expect([...got.counts]).toEqual([...fired]);
        if (variant === 'batchtopk') expectClose([got.batchThreshold!], [ref.batchThreshold!], 1e-5, 1e-4, 'batch threshold');
        for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) expectClose(got[name], ref.grads[name], 2e-5, 2e-4, `d${name}`);
        if (variant === 'jumprelu') expectClose(got.logThreshold!, ref.grads.logThreshold!, 2e-5, 2e-4, 'd log θ');
      });
    }
  }
});
