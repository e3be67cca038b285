/**
 * GPU tensors with explicit lifetimes. A Tensor owns one GPU buffer from the engine's pool;
 * `dispose()` returns it, and `scope(fn)` disposes every tensor made inside `fn` except those it
 * returns, so a training loop of a million steps reuses the same buffers instead of growing.
 *
 * Shapes are row-major; the engine's vocabulary: [rows, cols] for matrices, [batch, d_in],
 * [batch, d_sae], [d_sae, d_in] for SAE operands, [n] for vectors.
 */
import { ShapeMismatchError, UsageError, assert } from '../errors.js';
import { getGpu, settle, throwGpuErrors, type Gpu } from './device.js';

/** Element types a tensor can hold; all are 4 bytes. */
export type DType = 'f32' | 'u32' | 'i32';

type HostArray<D extends DType> = D extends 'f32' ? Float32Array : D extends 'u32' ? Uint32Array : Int32Array;

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
/** Pooled bytes above which disposed buffers are destroyed instead of kept. */
const POOL_LIMIT_BYTES = 1 << 30;

/** Free GPU buffers by byte size, per device. Same-shape steps of a loop reuse the same buffers. */
class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  /** Buffers handed out and not yet returned: the engine's live GPU allocations. */
  liveBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  take(bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.free.get(size);
    const buffer = list?.pop();
    this.liveBytes += size;
    if (buffer) {
      this.pooledBytes -= size;
      return buffer;
    }
    return this.device.createBuffer({ label: 'interp tensor', size, usage: STORAGE });
  }

  give(buffer: GPUBuffer): void {
    this.liveBytes -= buffer.size;
    if (this.pooledBytes + buffer.size > POOL_LIMIT_BYTES) {
      buffer.destroy();
      return;
    }
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}

const pools = new WeakMap<GPUDevice, BufferPool>();
function poolOf(gpu: Gpu): BufferPool {
  let pool = pools.get(gpu.device);
  if (!pool) pools.set(gpu.device, (pool = new BufferPool(gpu.device)));
  return pool;
}

/** Bytes of GPU memory held by live (not disposed) tensors. */
export function liveTensorBytes(gpu: Gpu): number {
  return poolOf(gpu).liveBytes;
}

/** Releases pooled (free) GPU buffers back to the driver. */
export function trimPool(gpu: Gpu): void {
  poolOf(gpu).trim();
}

const scopes: Tensor[][] = [];

/** A GPU tensor: a shape, a dtype and a buffer, valid until `dispose()`. */
export class Tensor<D extends DType = DType> {
  /** Number of elements (product of the shape). */
  readonly size: number;
  private storage: GPUBuffer | undefined;

  /** Use `empty`, `upload` or an op to make tensors; this adopts a buffer from the pool. */
  constructor(
    readonly gpu: Gpu,
    readonly shape: readonly number[],
    readonly dtype: D,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeMismatchError(`tensor shape [${shape.join(', ')}] has a dimension that is not a non-negative integer`, 'pass whole-number sizes');
    }
    this.size = shape.reduce((a, b) => a * b, 1);
    this.storage = poolOf(gpu).take(this.size * 4);
    scopes.at(-1)?.push(this);
  }

  /** The GPU buffer; throws if the tensor was disposed. */
  get buffer(): GPUBuffer {
    if (!this.storage) throw new UsageError(`a ${this.describe()} tensor was used after dispose()`, 'keep the tensor alive (return it from the scope, or call keep()) until its last use');
    return this.storage;
  }

  get disposed(): boolean {
    return this.storage === undefined;
  }

  /** Returns the buffer to the pool. Safe to call twice. */
  dispose(): void {
    if (!this.storage) return;
    poolOf(this.gpu).give(this.storage);
    this.storage = undefined;
  }

  /** "[4096, 768] f32" — for messages. */
  describe(): string {
    return `[${this.shape.join(', ')}] ${this.dtype}`;
  }

  /** Copies the tensor to the host (waits for pending work). */
  async download(): Promise<HostArray<D>> {
    const bytes = this.size * 4;
    const device = this.gpu.device;
    const staging = device.createBuffer({ label: 'interp download', size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      if (bytes > 0) {
        const encoder = device.createCommandEncoder({ label: 'interp download' });
        encoder.copyBufferToBuffer(this.buffer, 0, staging, 0, bytes);
        device.queue.submit([encoder.finish()]);
      }
      await settle(staging.mapAsync(GPUMapMode.READ), this.gpu.profile.kind === 'cpu' ? 1 : 0.05);
      const copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      throwGpuErrors(this.gpu);
      return (this.dtype === 'f32' ? new Float32Array(copy) : this.dtype === 'u32' ? new Uint32Array(copy) : new Int32Array(copy)) as HostArray<D>;
    } finally {
      staging.destroy();
    }
  }

  /** Overwrites the tensor's contents from the host; `data.length` must equal `size`. */
  write(data: ArrayLike<number>): void {
    if (data.length !== this.size) throw new ShapeMismatchError(`write into a ${this.describe()} tensor: expected ${this.size} values, received ${data.length}`, 'pass exactly one value per element');
    if (this.size === 0) return;
    const host = this.dtype === 'f32' ? Float32Array.from(data) : this.dtype === 'u32' ? Uint32Array.from(data) : Int32Array.from(data);
    this.gpu.device.queue.writeBuffer(this.buffer, 0, host.buffer, host.byteOffset, host.byteLength);
  }
}

/** An uninitialised tensor (contents are whatever the pooled buffer held). */
export function empty<D extends DType = 'f32'>(gpu: Gpu, shape: readonly number[], dtype?: D): Tensor<D> {
  return new Tensor(gpu, shape, (dtype ?? 'f32') as D);
}

/** A tensor filled with zeros. */
export function zeros<D extends DType = 'f32'>(gpu: Gpu, shape: readonly number[], dtype?: D): Tensor<D> {
  const t = empty(gpu, shape, dtype);
  if (t.size > 0) {
    const encoder = gpu.device.createCommandEncoder({ label: 'interp zeros' });
    encoder.clearBuffer(t.buffer, 0, t.size * 4);
    gpu.device.queue.submit([encoder.finish()]);
  }
  return t;
}

/** Uploads host data as a tensor of `shape` (checked against the data's length). */
export function upload<D extends DType = 'f32'>(gpu: Gpu, data: ArrayLike<number>, shape: readonly number[], dtype?: D): Tensor<D> {
  const t = empty(gpu, shape, dtype);
  try {
    t.write(data);
  } catch (error) {
    t.dispose();
    throw error;
  }
  return t;
}

/** Shorthand for `upload` on the process-wide device. */
export async function tensor<D extends DType = 'f32'>(data: ArrayLike<number>, shape: readonly number[], dtype?: D): Promise<Tensor<D>> {
  return upload(await getGpu(), data, shape, dtype);
}

/** Collects the tensors reachable from a scope's result (a tensor, an array, or an object's fields). */
function reachable(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (value instanceof Tensor) into.add(value);
  else if (depth < 3 && value && typeof value === 'object') {
    for (const v of Array.isArray(value) ? value : Object.values(value)) reachable(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created during it, except the tensors in its result
 * (a tensor, or an array or object holding tensors), which move to the enclosing scope.
 * Works with async functions as long as no other scope opens concurrently.
 */
export function scope<T>(fn: () => T): T {
  const mine: Tensor[] = [];
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of mine) t.dispose();
    throw error;
  }
  assert(!(result instanceof Promise), () => 'scope() takes a synchronous function; await downloads outside it');
  scopes.pop();
  const keep = new Set<Tensor>();
  reachable(result, keep);
  for (const t of mine) {
    if (keep.has(t)) scopes.at(-1)?.push(t);
    else t.dispose();
  }
  return result;
}

/** Moves a tensor out of the current scope so the scope's end does not dispose it. */
export function keep<T extends Tensor>(t: T): T {
  const current = scopes.at(-1);
  if (current) {
    const i = current.indexOf(t);
    if (i >= 0) current.splice(i, 1);
  }
  return t;
}

/** Checks that `t` has exactly `shape` (−1 matches any size) and `dtype`; names the op and argument. */
export function expectShape(op: string, arg: string, t: Tensor, shape: readonly number[], dtype: DType = 'f32'): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok || t.dtype !== dtype) {
    const want = `[${shape.map((d) => (d === -1 ? '*' : d)).join(', ')}] ${dtype}`;
    throw new ShapeMismatchError(`${op}: ${arg} must be ${want}, received ${t.describe()}`, `pass a ${want} tensor as ${arg}`);
  }
}

/** Checks that `t` is a matrix (rank 2) of `dtype`, returning [rows, cols]. */
export function expectMatrix(op: string, arg: string, t: Tensor, dtype: DType = 'f32'): [number, number] {
  expectShape(op, arg, t, [-1, -1], dtype);
  return [t.shape[0], t.shape[1]];
}

/** Checks that `bytes` (of `what`, e.g. "W [24576, 768] f32") fit one storage binding of the adapter. */
export function expectBindableBytes(gpu: Gpu, op: string, what: string, bytes: number): void {
  const limit = gpu.profile.maxStorageBindingBytes;
  if (bytes > limit) {
    throw new UsageError(`${op}: ${what} is ${bytes} bytes, more than this adapter's ${limit} byte storage binding limit`, `split it into parts under ${Math.floor(limit / 2 ** 20)} MiB`);
  }
}

/** Checks that `t` fits one storage binding (for kernels that cannot split it). */
export function expectBindable(op: string, arg: string, t: Tensor): void {
  expectBindableBytes(t.gpu, op, `${arg} ${t.describe()}`, t.size * 4);
}
