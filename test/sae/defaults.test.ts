/** Training defaults that depend on the run: the learning rate on the width, the tokens on the capture. */
import { describe, expect, it } from 'vitest';
import { defaultTokens } from '../../sae/cli.js';
import { DEFAULT_TRAINING_TOKENS, defaultLr, trainConfig } from '../../sae/config.js';

describe('default learning rate', () => {
  it('topk and batchtopk: sparsify 2e-4 / sqrt(m / 2^14); relu and jumprelu: SAELens 3e-4', () => {
    expect(defaultLr('topk', 4096)).toBeCloseTo(4e-4, 12);
    expect(defaultLr('topk', 16384)).toBeCloseTo(2e-4, 12);
    expect(defaultLr('batchtopk', 65536)).toBeCloseTo(1e-4, 12);
    expect(defaultLr('relu', 4096)).toBe(3e-4);
    expect(defaultLr('jumprelu', 4096)).toBe(3e-4);
  });

  it('trainConfig uses it unless lr is given', () => {
    expect(trainConfig({ variant: 'topk', dIn: 128, dSae: 4096 }).lr).toBeCloseTo(4e-4, 12);
    expect(trainConfig({ variant: 'topk', dIn: 128, dSae: 4096, lr: 1e-3 }).lr).toBe(1e-3);
    expect(trainConfig({ variant: 'relu', dIn: 128, dSae: 4096 }).lr).toBe(3e-4);
  });
});

describe('default training tokens (train-sae without --tokens)', () => {
  it('a capture smaller than 2M tokens is repeated up to 2M, in whole batches', () => {
    expect(DEFAULT_TRAINING_TOKENS).toBe(2_000_000);
    expect(defaultTokens(847_984, 4096)).toBe(488 * 4096);
  });

  it('a larger capture is used once, in whole batches; a capture under one batch still gives one batch', () => {
    expect(defaultTokens(5_000_000, 4096)).toBe(Math.floor(5_000_000 / 4096) * 4096);
    expect(defaultTokens(100, 4_000_000)).toBe(4_000_000);
  });
});
