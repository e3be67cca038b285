/**
 * The transcoder training step: the float64 reference (sae/reference-train.ts with dOut) against
 * finite differences, and the engine step (sae/step.ts, W_dec [m, o], b_dec [o], no b_dec
 * subtraction, target y) against the reference, with and without AuxK; o ≠ d so that a mix-up of
 * the two widths cannot pass.
 */
import { describe, expect, it } from 'vitest';
import { keep, scope, upload, type Tensor } from '../../src/engine/index.js';
import { trainConfig, type SaeVariant } from '../../sae/config.js';
import { referenceStep, type Params64, type RefStepOptions } from '../../sae/reference-train.js';
import { trainStep } from '../../sae/step.js';
import { expectClose, gpuOrSkip, randomArray, rng } from '../engine/helpers.js';

const { gpu, reason } = await gpuOrSkip();
const [B, d, o, m, k] = [7, 5, 6, 16, 3];

function params(next: () => number, variant: SaeVariant): Params64 {
  return {
    W_enc: randomArray(next, d * m, -0.6, 0.6),
    b_enc: randomArray(next, m, -0.2, 0.2),
    W_dec: randomArray(next, m * o, -0.6, 0.6),
    b_dec: randomArray(next, o, -0.3, 0.3),
    logThreshold: variant === 'jumprelu' ? randomArray(next, m, -2.5, -0.5) : null,
  };
}

function options(variant: SaeVariant, dead: Uint8Array | null): RefStepOptions {
  return { variant, d, m, dOut: o, k: variant === 'topk' || variant === 'batchtopk' ? k : null, lambda: 0.7, kAux: 4, auxkCoefficient: 0.5, bandwidth: 0.3, dead };
}

describe('float64 reference transcoder step', () => {
  for (const variant of ['topk', 'relu', 'jumprelu'] as const) {
    it(`${variant}: gradients match finite differences (W_dec [m, o], b_dec [o])`, () => {
      const next = rng(31 + variant.length);
      const p = params(next, variant);
      const x = randomArray(next, B * d, -1.5, 1.5);
      const y = randomArray(next, B * o, -1.5, 1.5);
      const dead = variant === 'topk' ? Uint8Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 1 : 0)) : null;
      const opts = options(variant, dead);
      const base = referenceStep(p, x, B, opts, y);
      expect(base.residual.length).toBe(B * o);
      expect(base.grads.b_dec.length).toBe(o);
      const fixed = { ...opts, residual: base.residual };
      const probe = rng(9);
      for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) {
        const arr = p[name];
        for (let n = 0; n < 6; n++) {
          const i = Math.floor(probe() * arr.length);
          const h = 1e-6;
          const keepValue = arr[i];
          arr[i] = keepValue + h;
          const up = referenceStep(p, x, B, fixed, y).loss;
          arr[i] = keepValue - h;
          const down = referenceStep(p, x, B, fixed, y).loss;
          arr[i] = keepValue;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(fd - base.grads[name][i]), `${variant} ${name}[${i}]`).toBeLessThan(1e-5 + 1e-4 * Math.abs(fd));
        }
      }
    });
  }

  it('the encoder reads x itself: b_dec does not move the pre-activations', () => {
    const next = rng(5);
    const p = params(next, 'topk');
    const x = randomArray(next, B * d, -1.5, 1.5);
    const y = randomArray(next, B * o, -1.5, 1.5);
    const a = referenceStep(p, x, B, options('topk', null), y);
    const shifted = { ...p, b_dec: p.b_dec.map((v) => v + 1) };
    const b = referenceStep(shifted, x, B, options('topk', null), y);
    expect([...b.f]).toEqual([...a.f]);
  });
});

describe.skipIf(!gpu)(`engine transcoder step against the reference${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const withDead of [false, true]) {
    it(`topk${withDead ? ' with AuxK on dead latents' : ''}: loss and every gradient`, async () => {
      const g = gpu!;
      const next = rng(211 + (withDead ? 1 : 0));
      const p = params(next, 'topk');
      const x = randomArray(next, B * d, -1.5, 1.5);
      const y = randomArray(next, B * o, -1.5, 1.5);
      const dead = withDead ? Uint8Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 1 : 0)) : null;
      const opts = options('topk', dead);
      const ref = referenceStep(p, x, B, opts, y);
      const cfg = trainConfig({ variant: 'topk', dIn: d, dOut: o, dSae: m, k, kAux: opts.kAux, auxkCoefficient: opts.auxkCoefficient });
      const up = (a: Float64Array, shape: number[]) => keep(upload(g, Float32Array.from(a), shape));
      const gp = { W_enc: up(p.W_enc, [d, m]), b_enc: up(p.b_enc, [m]), W_dec: up(p.W_dec, [m, o]), b_dec: up(p.b_dec, [o]), logThreshold: null };
      const xt = up(x, [B, d]);
      const yt = up(y, [B, o]);
      const numDead = dead ? dead.reduce((a, v) => a + v, 0) : 0;
      const out = scope(() => {
        const deadLatents = dead ? { bias: upload(g, Float32Array.from(dead, (v) => (v ? 0 : -1e30)), [m]), count: numDead } : null;
        return trainStep(cfg, gp, { x: xt, y: yt, lambda: 0, dead: deadLatents });
      });
      const read = async (t: Tensor | null): Promise<Float32Array> => {
        const v = (await t!.download()) as Float32Array;
        t!.dispose();
        return v;
      };
      expectClose([(await read(out.mse))[0]], [ref.mse], 1e-5, 1e-4, 'mse');
      expectClose([out.aux ? (await read(out.aux))[0] : 0], [ref.aux], 1e-5, 1e-4, 'aux');
      if (withDead) expect(ref.aux).toBeGreaterThan(0);
      for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) {
        const got = await read(out.grads[name]);
        expect(got.length, name).toBe(ref.grads[name].length);
        expectClose(got, ref.grads[name], 2e-5, 2e-4, `d${name}`);
      }
      out.counts.dispose();
      for (const t of [gp.W_enc, gp.b_enc, gp.W_dec, gp.b_dec, xt, yt]) t.dispose();
    });
  }

  it('a transcoder step without y is refused', () => {
    const cfg = trainConfig({ variant: 'topk', dIn: d, dOut: o, dSae: m, k });
    const g = gpu!;
    const gp = { W_enc: upload(g, new Float32Array(d * m), [d, m]), b_enc: upload(g, new Float32Array(m), [m]), W_dec: upload(g, new Float32Array(m * o), [m, o]), b_dec: upload(g, new Float32Array(o), [o]), logThreshold: null };
    const xt = upload(g, new Float32Array(B * d), [B, d]);
    expect(() => scope(() => trainStep(cfg, gp, { x: xt, lambda: 0, dead: null }))).toThrow(/needs input\.y/);
    for (const t of [gp.W_enc, gp.b_enc, gp.W_dec, gp.b_dec, xt]) t.dispose();
  });
});

describe('transcoder training config', () => {
  it('takes d_out, defaults kAux to d_out / 2, and refuses a non-TopK transcoder', () => {
    const cfg = trainConfig({ variant: 'topk', dIn: 8, dOut: 20, dSae: 64, k: 4 });
    expect(cfg.dOut).toBe(20);
    expect(cfg.kAux).toBe(10);
    expect(trainConfig({ variant: 'topk', dIn: 8, dSae: 64 }).dOut).toBeNull();
    expect(() => trainConfig({ variant: 'relu', dIn: 8, dOut: 8, dSae: 64 })).toThrow(/transcoders train with TopK only/);
  });
});
