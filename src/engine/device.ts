/**
 * The WebGPU device the engine runs on: adapter selection, the adapter profile that kernels
 * specialise on, and the wait for submitted work.
 *
 * Facts this file relies on (measured on Debian 12, see DESIGN.md "Install notes"):
 * - the object returned by `create()` from the `webgpu` package must stay referenced for the
 *   life of the process (letting it be collected crashed Dawn at random), so it is kept in a
 *   module-level constant and never released;
 * - while a command buffer is pending, awaiting Dawn's promise alone busy-polls the JS thread and
 *   takes a core from lavapipe; `settle` sleeps ~1 ms (Atomics.wait) between polls instead.
 */
import { create, globals } from 'webgpu';
import { filterNativeStderr } from './native-stderr.js';
import { EnvironmentError, InternalError } from '../errors.js';

/** Which family of kernels suits the adapter. */
export type AdapterKind =
  /** A CPU implementation (Mesa lavapipe / llvmpipe, SwiftShader): invocations are SIMD lanes. */
  | 'cpu'
  /** A real GPU: many cores, fast workgroup memory and barriers. */
  | 'gpu';

/** What the engine knows about its adapter; kernels choose their variant from it. */
export interface AdapterProfile {
  readonly kind: AdapterKind;
  /** Vendor as reported by the adapter, e.g. "mesa", "nvidia". */
  readonly vendor: string;
  /** Architecture, e.g. "software", "ampere". */
  readonly architecture: string;
  /** Device name, e.g. "llvmpipe-llvm-15-0-6-256-bits-". */
  readonly device: string;
  /** Driver description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  readonly description: string;
  /** The WebGPU subgroups feature is enabled on the device. */
  readonly subgroups: boolean;
  /** Smallest subgroup size the adapter may use (0 when unknown). */
  readonly subgroupMinSize: number;
  /** The shader-f16 feature is available (not used by kernels yet; reported by doctor). */
  readonly shaderF16: boolean;
  /** Largest storage-buffer binding in bytes (128 MiB on lavapipe); kernels split bindings above it. */
  readonly maxStorageBindingBytes: number;
  /** Alignment of a storage binding's offset in bytes. */
  readonly storageOffsetAlignment: number;
  /** Largest number of workgroups per dispatch dimension. */
  readonly maxWorkgroupsPerDimension: number;
}

/** The engine's device and what goes with it. One per process (see `getGpu`). */
export interface Gpu {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly profile: AdapterProfile;
  /** WebGPU errors raised since the last wait; `sync` and downloads throw them. */
  readonly errors: string[];
}

/** The command that installs a WebGPU adapter on a machine without a GPU (Debian 12). */
export const LAVAPIPE_INSTALL_HINT =
  'install a GPU driver, or Mesa lavapipe (software Vulkan) version 24 or newer. On Debian 12: ' +
  'echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list && ' +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers ' +
  "(Debian 12's own mesa-vulkan-drivers 22.x is rejected by Dawn)";

Object.assign(globalThis, globals);
/** Dawn's GPU object, kept referenced for the life of the process (see the file comment). */
const navigatorGpu: GPU = create(dawnOptions());
let pending: Promise<Gpu> | undefined;

function dawnOptions(): string[] {
  const options: string[] = [];
  const backend = process.env.INTERP_WEBGPU_BACKEND;
  if (backend) options.push(`backend=${backend}`);
  const adapter = process.env.INTERP_WEBGPU_ADAPTER;
  if (adapter) options.push(`adapter=${adapter}`);
  return options;
}

/** Requests the adapter without opening a device; undefined when there is none. */
export async function requestAdapter(): Promise<GPUAdapter | undefined> {
  // Dawn enumerates adapters inside this call and prints two informational warnings per request.
  const adapter = await filterNativeStderr(() => navigatorGpu.requestAdapter({ powerPreference: 'high-performance' }));
  return adapter ?? undefined;
}

/** Classifies an adapter: lavapipe reports architecture "software" and a device "llvmpipe…". */
export function adapterKind(info: GPUAdapterInfo): AdapterKind {
  const text = `${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /software|llvmpipe|lavapipe|swiftshader/.test(text) ? 'cpu' : 'gpu';
}

/**
 * The process-wide device, opened on first use with the adapter's largest buffer limits.
 * Throws EnvironmentError naming what to install when no adapter exists.
 */
export function getGpu(): Promise<Gpu> {
  pending ??= openGpu().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function openGpu(): Promise<Gpu> {
  const adapter = await requestAdapter();
  if (!adapter) throw new EnvironmentError('no WebGPU adapter was found (Dawn saw no Vulkan, Metal or D3D12 device)', LAVAPIPE_INSTALL_HINT);
  const features: GPUFeatureName[] = [];
  const subgroups = adapter.features.has('subgroups');
  if (subgroups) features.push('subgroups');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    label: 'interp engine',
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (event) => {
    if (errors.length < 20) errors.push((event as GPUUncapturedErrorEvent).error.message);
  });
  const info = adapter.info;
  const forced = process.env.INTERP_ADAPTER_KIND;
  const profile: AdapterProfile = {
    // INTERP_ADAPTER_KIND=gpu|cpu overrides the kernel family (tests run the GPU kernels on lavapipe).
    kind: forced === 'gpu' || forced === 'cpu' ? forced : adapterKind(info),
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    subgroups,
    subgroupMinSize: (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0,
    shaderF16: adapter.features.has('shader-f16'),
    maxStorageBindingBytes: device.limits.maxStorageBufferBindingSize,
    storageOffsetAlignment: device.limits.minStorageBufferOffsetAlignment,
    maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
  return { device, adapter, profile, errors };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Awaits a Dawn promise (onSubmittedWorkDone, mapAsync) without spinning: between polls the JS
 * thread sleeps `sleepMs` in Atomics.wait, so a CPU adapter keeps every core. Dawn resolves its
 * promises from a setImmediate tick, which each iteration lets run once.
 */
export async function settle<T>(promise: Promise<T>, sleepMs = 1): Promise<T> {
  let done = false;
  promise.then(() => { done = true; }, () => { done = true; });
  await new Promise((resolve) => setImmediate(resolve));
  while (!done) {
    Atomics.wait(sleepCell, 0, 0, sleepMs);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return promise;
}

/** Waits until all submitted work on the device has finished. */
export async function sync(gpu: Gpu): Promise<void> {
  await settle(gpu.device.queue.onSubmittedWorkDone(), gpu.profile.kind === 'cpu' ? 1 : 0.05);
  throwGpuErrors(gpu);
}

/** Throws (as a bug in interp) the WebGPU validation errors raised since the last check. */
export function throwGpuErrors(gpu: Gpu): void {
  if (gpu.errors.length === 0) return;
  const messages = gpu.errors.splice(0).join('\n  ');
  throw new InternalError(`WebGPU reported errors (a kernel or dispatch is invalid):\n  ${messages}`);
}
