/**
 * Where the runtime's graphs run: onnxruntime's CPU provider (the default), its WebGPU provider
 * (bundled with onnxruntime-node on Linux; Dawn over Vulkan, Metal or D3D12, lavapipe without a
 * GPU), or its CUDA provider (installed with ONNXRUNTIME_NODE_INSTALL=cuda12). The device is chosen
 * per model at load (`--device`, else INTERP_DEVICE, else cpu); every inference session of that
 * model runs on it. Outputs are always returned in CPU memory: onnxruntime-node 1.30 aborts the
 * process when a 'gpu-buffer' output is downloaded, so none is ever requested.
 */
import * as ort from 'onnxruntime-node';
import { EnvironmentError, UsageError } from '../errors.js';
import { GraphBuilder } from './onnx/graph.js';

export const RUNTIME_DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type RuntimeDevice = (typeof RUNTIME_DEVICES)[number];

/** What installs or enables each provider when it cannot be opened. */
export const DEVICE_HINTS: Readonly<Record<RuntimeDevice, string>> = {
  cpu: 'reinstall onnxruntime-node (npm install)',
  webgpu: 'WebGPU needs a Vulkan driver on Linux (libvulkan1 and the GPU\'s driver, or mesa-vulkan-drivers for lavapipe); `interp doctor` shows what Dawn finds',
  cuda: 'install the CUDA provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (it needs CUDA 12 and cuDNN 9), or use --device webgpu',
};

/** The device a command asked for: the flag, else INTERP_DEVICE, else cpu. */
export function runtimeDevice(requested?: string): RuntimeDevice {
  const value = requested ?? process.env.INTERP_DEVICE ?? 'cpu';
  const device = RUNTIME_DEVICES.find((d) => d === value);
  if (!device) {
    const from = requested !== undefined ? '--device' : 'INTERP_DEVICE';
    throw new UsageError(`${from} ${JSON.stringify(value)} is not a runtime device`, `use one of ${RUNTIME_DEVICES.join(', ')}`);
  }
  return device;
}

/** onnxruntime's execution providers for a device (CPU kept last, for the few nodes a GPU provider leaves). */
export function executionProviders(device: RuntimeDevice): ort.InferenceSession.SessionOptions['executionProviders'] {
  switch (device) {
    case 'cpu':
      return ['cpu'];
    case 'webgpu':
      return ['webgpu', 'cpu'];
    case 'cuda':
      return [{ name: 'cuda', deviceId: Number(process.env.INTERP_CUDA_DEVICE ?? 0) }, 'cpu'];
  }
}

/** The providers this onnxruntime-node build knows, and whether each ships with it. */
export function supportedBackends(): { readonly name: string; readonly bundled: boolean }[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends;
  return list ? list() : [{ name: 'cpu', bundled: true }];
}

/** The first line of an error's message, at most `max` characters (onnxruntime's carry source paths and stacks). */
function firstLine(err: unknown, max: number): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, max);
}

/**
 * The error to raise when onnxruntime failed to open a session on `device` or to run a forward on
 * it. The usual cause of a failed forward on a small adapter is a limit: onnxruntime's WebGPU
 * kernels split a tensor larger than one storage binding into several, and a big embedding
 * (Gemma's 256k × d) then needs more bindings than a shader may have (lavapipe binds 128 MiB each).
 */
export function deviceError(device: RuntimeDevice, err: unknown, phase: 'open' | 'run'): EnvironmentError {
  if (phase === 'open') return new EnvironmentError(`onnxruntime could not run the model on ${device} (${firstLine(err, 300)})`, DEVICE_HINTS[device]);
  const message = firstLine(err, 400);
  const limit = /storage buffers|maxStorage|limit/i.test(message);
  return new EnvironmentError(
    `onnxruntime's ${device} provider failed running the model (${message})`,
    limit ? `the adapter's limits are too small for this model (\`interp doctor\` shows them): run it with --device cpu, or on a GPU with larger storage bindings` : `run it with --device cpu; ${DEVICE_HINTS[device]}`,
  );
}

/** Whether onnxruntime opens `device`: a one-node graph (x + 1) is run on it; the error says why not. */
export async function probeDevice(device: RuntimeDevice): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string; readonly fix: string }> {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [4]);
  g.output('y', g.node('Add', [x, g.constF32([1])]), 'float32', [4]);
  const { bytes } = g.serialize('probe');
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: executionProviders(device), logSeverityLevel: 3 });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0, 1, 2, 3]), [4]) });
      const y = out.y.data as Float32Array;
      if (y[3] !== 4) return { ok: false, reason: `the probe graph returned ${Array.from(y).join(', ')}`, fix: DEVICE_HINTS[device] };
    } finally {
      await session.release();
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: firstLine(err, 200), fix: DEVICE_HINTS[device] };
  }
}
