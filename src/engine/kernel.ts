/**
 * Kernel descriptors and dispatch. Every kernel is a WGSL file beside the TypeScript that
 * dispatches it; a KernelSpec record names its entry point, workgroup size, bindings and override
 * constants. Pipelines are built once per (kernel, constants) and labelled with the kernel name;
 * INTERP_DEBUG_WGSL=name (a substring, or `*`) prints the WGSL of matching kernels when built.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, assert } from '../errors.js';
import type { Gpu } from './device.js';

/** How a kernel uses one binding. */
export type BindingAccess =
  /** var<storage, read>: an input tensor. */
  | 'read'
  /** var<storage, read_write>: an output (or an in-place) tensor. */
  | 'write'
  /** var<uniform>: the small struct of sizes and scalars (always the last binding). */
  | 'uniform';

/** One @binding of a kernel; the order of `bindings` is the @binding index. */
export interface BindingSpec {
  /** Name in the WGSL file. */
  readonly name: string;
  readonly access: BindingAccess;
  /** Shape in the engine's vocabulary, for readers and error messages, e.g. "[rows, cols] f32". */
  readonly shape: string;
}

/** Everything needed to build one compute pipeline. */
export interface KernelSpec {
  /** Kernel name: the pipeline label, and what INTERP_DEBUG_WGSL matches. */
  readonly name: string;
  /**
   * The WGSL file, resolved relative to the dispatching module (`new URL('./x.wgsl', import.meta.url)`),
   * or several files concatenated in order into one module (a kernel plus shared functions it calls).
   */
  readonly wgsl: URL | readonly URL[];
  /** Entry point (@compute fn) in the file. */
  readonly entry: string;
  /** Workgroup size, passed to the shader as override constants WG_X, WG_Y (z is always 1). */
  readonly workgroup: readonly [x: number, y: number];
  /** Bindings in @binding order; the uniform, when present, is last. */
  readonly bindings: readonly BindingSpec[];
  /** Further override constants that specialise the shader (e.g. TRANS_A). */
  readonly constants?: Readonly<Record<string, number>>;
}

const sources = new Map<string, string>();
const pipelines = new WeakMap<GPUDevice, Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; key: string }>>();

function wgslSource(url: URL): string {
  let text = sources.get(url.href);
  if (text === undefined) {
    text = readFileSync(fileURLToPath(url), 'utf8');
    sources.set(url.href, text);
  }
  return text;
}

function debugMatches(name: string): boolean {
  const pattern = process.env.INTERP_DEBUG_WGSL;
  return !!pattern && (pattern === '*' || pattern.split(',').some((p) => name.includes(p)));
}

function pipelineFor(gpu: Gpu, spec: KernelSpec): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; key: string } {
  let cache = pipelines.get(gpu.device);
  if (!cache) pipelines.set(gpu.device, (cache = new Map()));
  const constants: Record<string, number> = { WG_X: spec.workgroup[0], WG_Y: spec.workgroup[1], ...spec.constants };
  const files = spec.wgsl instanceof URL ? [spec.wgsl] : spec.wgsl;
  const key = `${files.map((f) => f.href).join('+')}#${spec.entry}#${JSON.stringify(constants)}`;
  let entry = cache.get(key);
  if (entry) return entry;
  const code = files.map(wgslSource).join('\n');
  if (debugMatches(spec.name)) {
    process.stderr.write(`// ---- INTERP_DEBUG_WGSL ${spec.name} (${spec.entry}) constants ${JSON.stringify(constants)}\n${code}\n`);
  }
  const device = gpu.device;
  const module = device.createShaderModule({ label: spec.name, code });
  const layout = device.createBindGroupLayout({
    label: spec.name,
    entries: spec.bindings.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.access === 'uniform' ? 'uniform' : b.access === 'read' ? 'read-only-storage' : 'storage' },
    })),
  });
  const pipeline = device.createComputePipeline({
    label: spec.name,
    layout: device.createPipelineLayout({ label: spec.name, bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: spec.entry, constants },
  });
  entry = { pipeline, layout, key };
  cache.set(key, entry);
  return entry;
}

/** A buffer range bound to one binding. */
export interface BoundBuffer {
  readonly buffer: GPUBuffer;
  /** Byte offset (a multiple of the adapter's storage offset alignment); 0 when absent. */
  readonly offset?: number;
  /** Byte size; the rest of the buffer when absent. */
  readonly size?: number;
}

/** One dispatch: the buffers in binding order (uniform excluded), the uniform bytes and the grid. */
export interface Dispatch {
  readonly buffers: readonly (GPUBuffer | BoundBuffer)[];
  /** Contents of the trailing uniform binding (from `packParams`); omitted when the kernel has none. */
  readonly params?: ArrayBuffer;
  /** Number of workgroups in x and y. */
  readonly groups: readonly [x: number, y: number];
}

/**
 * Uniform buffers for kernel parameters, reused across submissions. Reuse right after submit is
 * safe: queue.writeBuffer is itself a queue operation, ordered after the command buffers
 * submitted before it. Within one submission every dispatch takes its own buffer.
 */
const uniformPools = new WeakMap<GPUDevice, GPUBuffer[]>();

/**
 * Bind groups by (pipeline, buffer ranges): a training loop binds the same pooled buffers every
 * step, so caching them keeps Dawn objects from piling up between garbage collections.
 */
const bindGroups = new WeakMap<GPUDevice, Map<string, GPUBindGroup>>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
const BIND_GROUP_CACHE_LIMIT = 4096;

function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) bufferIds.set(buffer, (id = nextBufferId++));
  return id;
}

function bindGroupFor(device: GPUDevice, pipelineKey: string, label: string, layout: GPUBindGroupLayout, entries: GPUBindGroupEntry[]): GPUBindGroup {
  let cache = bindGroups.get(device);
  if (!cache) bindGroups.set(device, (cache = new Map()));
  const key = `${pipelineKey}|${entries.map((e) => {
    const r = e.resource as GPUBufferBinding;
    return `${bufferId(r.buffer)}:${r.offset ?? 0}:${r.size ?? '-'}`;
  }).join(',')}`;
  let group = cache.get(key);
  if (!group) {
    if (cache.size >= BIND_GROUP_CACHE_LIMIT) cache.clear();
    group = device.createBindGroup({ label, layout, entries });
    cache.set(key, group);
  }
  return group;
}

function takeUniform(device: GPUDevice, bytes: number): GPUBuffer {
  const pool = uniformPools.get(device);
  const i = pool ? pool.findIndex((b) => b.size === bytes) : -1;
  if (pool && i >= 0) return pool.splice(i, 1)[0];
  return device.createBuffer({ label: 'interp params', size: bytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
}

function giveUniforms(device: GPUDevice, buffers: GPUBuffer[]): void {
  let pool = uniformPools.get(device);
  if (!pool) uniformPools.set(device, (pool = []));
  for (const b of buffers) {
    if (pool.length < 64) pool.push(b);
    else b.destroy();
  }
}

/**
 * Encodes and submits dispatches of one kernel in one compute pass. Nothing waits here: the
 * queue orders later work after it, and downloads wait through `settle`.
 */
export function dispatch(gpu: Gpu, spec: KernelSpec, runs: readonly Dispatch[]): void {
  const { pipeline, layout, key } = pipelineFor(gpu, spec);
  const device = gpu.device;
  const encoder = device.createCommandEncoder({ label: spec.name });
  const pass = encoder.beginComputePass({ label: spec.name });
  pass.setPipeline(pipeline);
  const uniforms: GPUBuffer[] = [];
  for (const run of runs) {
    const storageCount = spec.bindings.filter((b) => b.access !== 'uniform').length;
    assert(run.buffers.length === storageCount, () => `${spec.name}: ${run.buffers.length} buffers for ${storageCount} storage bindings`);
    const entries: GPUBindGroupEntry[] = run.buffers.map((b, i) => {
      const bound: BoundBuffer = 'buffer' in b ? b : { buffer: b };
      return { binding: i, resource: { buffer: bound.buffer, offset: bound.offset ?? 0, size: bound.size } };
    });
    if (run.params) {
      const uniform = takeUniform(device, Math.max(16, run.params.byteLength));
      device.queue.writeBuffer(uniform, 0, run.params);
      uniforms.push(uniform);
      entries.push({ binding: entries.length, resource: { buffer: uniform } });
    }
    const [gx, gy] = run.groups;
    if (gx === 0 || gy === 0) continue;
    assert(gx <= gpu.profile.maxWorkgroupsPerDimension && gy <= gpu.profile.maxWorkgroupsPerDimension, () => `${spec.name}: grid ${gx}x${gy} exceeds the adapter limit`);
    pass.setBindGroup(0, bindGroupFor(device, key, spec.name, layout, entries));
    pass.dispatchWorkgroups(gx, gy);
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  giveUniforms(device, uniforms);
}

/** A scalar field of a kernel's uniform struct, in WGSL declaration order. */
export type Param = readonly ['u32' | 'i32' | 'f32', number];

/** Packs uniform fields (each 4 bytes, declared in the same order in WGSL), padded to 16 bytes. */
export function packParams(fields: readonly Param[]): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else {
      assert(Number.isInteger(value) && value >= 0 && value < 2 ** 32, () => `u32 param ${i} out of range: ${value}`);
      view.setUint32(i * 4, value, true);
    }
  });
  return bytes;
}

/**
 * A 1-D launch of `count` invocations as a 2-D grid of workgroups of `perGroup` invocations, so
 * that it never exceeds the per-dimension limit. WGSL kernels rebuild the linear index as
 * `(wid.y * num_workgroups.x + wid.x) * WG_X + lid.x`.
 */
export function linearGroups(gpu: Gpu, count: number, perGroup: number): [number, number] {
  const groups = Math.ceil(count / perGroup);
  if (groups === 0) return [0, 0];
  const max = gpu.profile.maxWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

/**
 * Splits `rows` rows into ranges [r0, r1) such that every chunked binding fits the adapter's
 * storage binding limit and starts at an aligned offset. `rowBytes` lists the bytes per row of
 * each chunked binding (bindings bound whole are not listed). Most tensors give one range.
 */
export function rowChunks(gpu: Gpu, rows: number, rowBytes: readonly number[]): Array<[number, number]> {
  const limit = gpu.profile.maxStorageBindingBytes;
  const align = gpu.profile.storageOffsetAlignment;
  const widest = Math.max(4, ...rowBytes);
  if (rows * widest <= limit) return [[0, rows]];
  // Rows per chunk: a multiple of what keeps every binding's offset aligned.
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let step = 1;
  for (const bytes of rowBytes) {
    const need = align / gcd(align, bytes);
    step = (step * need) / gcd(step, need);
  }
  const per = Math.floor(limit / widest / step) * step;
  if (per < 1) throw new UsageError(`a row of ${widest} bytes cannot be split to fit the adapter's ${limit} byte storage binding limit`, 'use smaller rows (fewer columns)');
  const out: Array<[number, number]> = [];
  for (let r0 = 0; r0 < rows; r0 += per) out.push([r0, Math.min(rows, r0 + per)]);
  return out;
}

/** Binds rows [r0, r1) of a buffer with `rowBytes` bytes per row (offset aligned by rowChunks). */
export function bindRowRange(buffer: GPUBuffer, rowBytes: number, r0: number, r1: number): BoundBuffer {
  return { buffer, offset: r0 * rowBytes, size: Math.max(4, (r1 - r0) * rowBytes) };
}
