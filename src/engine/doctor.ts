/**
 * What `interp doctor` reports about WebGPU: the adapter Dawn picks, its key limits, and the
 * optional features kernels may use. A typed report, so the CLI (and tests) print or check it.
 */
import { LAVAPIPE_INSTALL_HINT, adapterKind, requestAdapter, type AdapterKind } from './device.js';

/** Adapter limits that matter to the engine (bytes, counts). */
export interface AdapterLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minStorageBufferOffsetAlignment: number;
}

/** The WebGPU adapter, or why there is none. */
export type AdapterReport =
  | {
      readonly found: true;
      /** 'cpu' for lavapipe and other software adapters, 'gpu' otherwise. */
      readonly kind: AdapterKind;
      readonly vendor: string;
      readonly architecture: string;
      readonly device: string;
      readonly description: string;
      /** Dawn's backend: from INTERP_WEBGPU_BACKEND, else the platform's default. */
      readonly backend: string;
      readonly limits: AdapterLimits;
      readonly shaderF16: boolean;
      readonly subgroups: boolean;
      /** [min, max] subgroup size, or null when the adapter does not say. */
      readonly subgroupSizes: readonly [number, number] | null;
    }
  | {
      readonly found: false;
      /** What to install. */
      readonly fix: string;
    };

function defaultBackend(): string {
  if (process.env.INTERP_WEBGPU_BACKEND) return process.env.INTERP_WEBGPU_BACKEND;
  return process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
}

/** Asks Dawn for the adapter the engine would use and describes it. Never throws for a missing adapter. */
export async function adapterReport(): Promise<AdapterReport> {
  const adapter = await requestAdapter().catch(() => undefined);
  if (!adapter) return { found: false, fix: LAVAPIPE_INSTALL_HINT };
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const l = adapter.limits;
  return {
    found: true,
    kind: adapterKind(info),
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend: defaultBackend(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    },
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    subgroupSizes: info.subgroupMinSize ? [info.subgroupMinSize, info.subgroupMaxSize ?? info.subgroupMinSize] : null,
  };
}
