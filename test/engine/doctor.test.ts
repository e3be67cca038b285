import { describe, expect, it } from 'vitest';
import { adapterReport } from '../../src/engine/doctor.js';
import { gpuOrSkip } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe('doctor adapter report', () => {
  it.skipIf(!gpu)(`describes the adapter with its limits${reason ? ` (skipped: ${reason})` : ''}`, async () => {
    const r = await adapterReport();
    expect(r.found).toBe(true);
    if (!r.found) return;
    expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(['cpu', 'gpu']).toContain(r.kind);
    expect(typeof r.subgroups).toBe('boolean');
  });
});
