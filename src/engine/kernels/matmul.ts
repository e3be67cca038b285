/**
 * matmul: C[m, n] = op(A)[m, k] · op(B)[k, n] (+ bias[n]), where op transposes when asked.
 * Backward of C = A·B is two more matmuls: dA = dC·Bᵀ, dB = Aᵀ·dC (transA / transB below).
 *
 * Two kernels: matmul_lanes.wgsl for CPU adapters with 8-lane subgroups (lavapipe), and
 * matmul_tiled.wgsl (workgroup-memory tiling) for GPUs. Operands larger than the adapter's
 * storage binding limit (128 MiB on lavapipe) are split: C and A by blocks of rows of C, and
 * the reduction by blocks of k with accumulation into C.
 */
import { UsageError, assert } from '../../errors.js';
import type { Gpu } from '../device.js';
import { dispatch, packParams, type BoundBuffer, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../tensor.js';
import { transpose } from './transpose.js';

/** Options of `matmul`. */
export interface MatmulOptions {
  /** A is stored [k, m] and used transposed. */
  readonly transA?: boolean;
  /** B is stored [n, k] and used transposed. */
  readonly transB?: boolean;
  /** [n]: added to every row of C. */
  readonly bias?: Tensor;
  /** [m, n]: written instead of a new tensor. */
  readonly out?: Tensor;
  /** Add into `out` (C += op(A)·op(B)) instead of overwriting it; requires `out`. */
  readonly accumulate?: boolean;
  /** Force a kernel family (tests, benchmarks); by default it is chosen per adapter. */
  readonly kernel?: 'lanes' | 'tiled';
}

interface Variant {
  /** Which WGSL file. */
  readonly file: 'lanes' | 'tiled';
  /** Rows × columns of C per workgroup. */
  readonly block: readonly [rows: number, cols: number];
  readonly workgroup: readonly [number, number];
}

const LANES: Variant = { file: 'lanes', block: [32, 32], workgroup: [8, 1] };
const TILED: Variant = { file: 'tiled', block: [64, 64], workgroup: [16, 16] };

/** The lanes kernel needs a subgroup to hold its whole 8-invocation workgroup. */
export function matmulVariant(gpu: Gpu, forced?: 'lanes' | 'tiled'): Variant {
  const p = gpu.profile;
  const lanesOk = p.subgroups && p.subgroupMinSize >= 8;
  if (forced === 'lanes' && !lanesOk) throw new UsageError('matmul: kernel "lanes" needs subgroups of at least 8 invocations, which this adapter lacks', 'leave `kernel` unset');
  if (forced) return forced === 'lanes' ? LANES : TILED;
  return p.kind === 'cpu' && lanesOk ? LANES : TILED;
}

function spec(variant: Variant, entry: 'matmul' | 'matmul_b4', transA: boolean, transB: boolean, bias: boolean, accumulate: boolean): KernelSpec {
  return {
    name: `matmul_${variant.file}${entry === 'matmul_b4' ? '_b4' : ''}`,
    wgsl: new URL(`./matmul_${variant.file}.wgsl`, import.meta.url),
    entry,
    workgroup: variant.workgroup,
    bindings: [
      { name: 'C', access: 'write', shape: '[m, n] f32' },
      { name: 'A', access: 'read', shape: '[m, lda] or transposed [k, lda] f32' },
      { name: 'B', access: 'read', shape: '[k, ldb] or transposed [n, ldb] f32' },
      { name: 'bias', access: 'read', shape: '[n] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
    constants: { TRANS_A: +transA, TRANS_B: +transB, HAS_BIAS: +bias, ACCUMULATE: +accumulate },
  };
}

const dummies = new WeakMap<GPUDevice, GPUBuffer>();
function dummy(gpu: Gpu): GPUBuffer {
  let b = dummies.get(gpu.device);
  if (!b) dummies.set(gpu.device, (b = gpu.device.createBuffer({ label: 'interp dummy', size: 16, usage: GPUBufferUsage.STORAGE })));
  return b;
}

/**
 * Binds rows [row0, row1) of a row-major [*, width] buffer, aligning the offset down;
 * returns the binding and the element offset of row0 inside it.
 */
function bindRows(gpu: Gpu, buffer: GPUBuffer, width: number, row0: number, row1: number): { bound: BoundBuffer; base: number } {
  const align = gpu.profile.storageOffsetAlignment;
  const start = row0 * width * 4;
  const offset = Math.floor(start / align) * align;
  const size = Math.max(4, row1 * width * 4 - offset);
  assert(size <= gpu.profile.maxStorageBindingBytes, () => `matmul binding of ${size} bytes exceeds the limit`);
  return { bound: { buffer, offset, size }, base: (start - offset) / 4 };
}

/** Computes op(A)·op(B) (+ bias); see MatmulOptions. Returns C [m, n]. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const gpu = a.gpu;
  // On the lanes kernel, a transposed B is cheaper to transpose once (one pass over B) and use
  // as [k, n] with vec4 loads than to read with scalar loads: ~1.4x for the whole product.
  if (options.transB && matmulVariant(gpu, options.kernel).file === 'lanes' && b.shape.length === 2 && b.shape[0] % 4 === 0 && b.shape[0] >= 4 && b.size * 4 <= gpu.profile.maxStorageBindingBytes) {
    const bt = transpose(b);
    try {
      return matmul(a, bt, { ...options, transB: false });
    } finally {
      bt.dispose();
    }
  }
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const [ar, ac] = expectMatrix('matmul', 'a', a);
  const [br, bc] = expectMatrix('matmul', 'b', b);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    throw new UsageError(`matmul: inner sizes differ: op(a) is [${m}, ${k}] (a ${a.describe()}${transA ? ', transposed' : ''}) but op(b) is [${k2}, ${n}] (b ${b.describe()}${transB ? ', transposed' : ''})`, 'check transA / transB and the operand order');
  }
  if (options.bias) expectShape('matmul', 'bias', options.bias, [n]);
  if (options.accumulate && !options.out) throw new UsageError('matmul: accumulate needs `out`, the tensor to add into', 'pass out: the [m, n] tensor to accumulate into');
  const out = options.out ?? empty(gpu, [m, n]);
  if (options.out) expectShape('matmul', 'out', options.out, [m, n]);
  if (m === 0 || n === 0) return out;
  if (k === 0) {
    assert(!options.bias, () => 'matmul with k = 0 and a bias is not supported');
    if (!options.accumulate) gpu.device.queue.writeBuffer(out.buffer, 0, new Float32Array(m * n));
    return out;
  }

  const variant = matmulVariant(gpu, options.kernel);
  const limit = gpu.profile.maxStorageBindingBytes - 256;
  const rowsAlign = 64; // rows per chunk: a multiple of both blocks, and 64·4 bytes keeps offsets aligned
  // Rows of C per dispatch: C's rows must fit, and so must A's rows when A is not transposed.
  const rowBytes = Math.max(n, transA ? 0 : k) * 4;
  const maxRows = Math.min(Math.floor(limit / rowBytes / rowsAlign) * rowsAlign, (gpu.profile.maxWorkgroupsPerDimension - 1) * variant.block[0]);
  // Reduction length per dispatch: A's rows (transposed) and B's rows (not transposed) must fit.
  const kBytes = Math.max(transA ? m : 0, transB ? 0 : n) * 4;
  const maxK = kBytes === 0 ? k : Math.floor(limit / kBytes);
  // The lanes kernel's vec4 entry point needs B untransposed and n a multiple of 4.
  const b4 = variant.file === 'lanes' && !transB && n % 4 === 0;
  if (maxRows < rowsAlign || maxK < 1 || (transB && n * k * 4 > limit)) {
    throw new UsageError(`matmul: operands [${m}, ${k}] · [${k}, ${n}] do not fit this adapter's ${gpu.profile.maxStorageBindingBytes} byte storage binding limit in any split`, 'split the product yourself, or pass b untransposed');
  }
  const bias = options.bias?.buffer ?? dummy(gpu);
  for (let m0 = 0; m0 < m; m0 += maxRows) {
    const m1 = Math.min(m, m0 + maxRows);
    for (let k0 = 0; k0 < k; k0 += maxK) {
      const k1 = Math.min(k, k0 + maxK);
      const first = k0 === 0;
      const c = bindRows(gpu, out.buffer, n, m0, m1);
      const aBind = transA ? bindRows(gpu, a.buffer, m, k0, k1) : bindRows(gpu, a.buffer, k, m0, m1);
      const bBind = transB ? bindRows(gpu, b.buffer, k, 0, n) : bindRows(gpu, b.buffer, n, k0, k1);
      assert(c.base === 0, () => 'matmul output chunk is not aligned');
      const aBase = aBind.base + (transA ? m0 : k0);
      const bBase = bBind.base + (transB ? k0 : 0);
      const params = packParams([['u32', m1 - m0], ['u32', k1 - k0], ['u32', n], ['u32', transA ? m : k], ['u32', transB ? k : n], ['u32', aBase], ['u32', bBase]]);
      const kernel = spec(variant, b4 && bBase % 4 === 0 ? 'matmul_b4' : 'matmul', transA, transB, first && options.bias !== undefined, !first || (options.accumulate ?? false));
      const groups: [number, number] = [Math.ceil(n / variant.block[1]), Math.ceil((m1 - m0) / variant.block[0])];
      dispatch(gpu, kernel, [{ buffers: [c.bound, aBind.bound, bBind.bound, bias], params, groups }]);
    }
  }
  return out;
}
