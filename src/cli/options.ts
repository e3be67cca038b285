/**
 * Parsers for command-line option values. Each throws a UsageError naming the flag, so commander
 * actions never see a NaN or a half-parsed list.
 */
import { UsageError } from '../errors.js';

export function parseNumberFlag(flag: string, opts: { min?: number; max?: number; integer?: boolean } = {}): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    const bad = value.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
    if (bad) {
      const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
      throw new UsageError(`${flag}: "${value}" is not ${opts.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`, `pass ${flag} with a valid value`);
    }
    return n;
  };
}

/** `1,2,3` → [1, 2, 3] (non-negative integers). */
export function parseIdList(flag: string): (value: string) => number[] {
  return (value: string) => {
    const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const ids = parts.map(Number);
    if (parts.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new UsageError(`${flag}: "${value}" is not a comma-separated list of token ids`, `pass e.g. ${flag} 1,345,22`);
    }
    return ids;
  };
}

/** `a,b,c` → ['a', 'b', 'c']. */
export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `--device`, for every command that runs a model (src/runtime/device.ts). */
export const DEVICE_FLAG = '--device <name>';
export const DEVICE_HELP = 'where the model runs: cpu (default, or INTERP_DEVICE), webgpu (bundled; Vulkan/Metal/D3D12, lavapipe without a GPU) or cuda (ONNXRUNTIME_NODE_INSTALL=cuda12)';
