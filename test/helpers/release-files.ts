/**
 * Files as the hub's SAE releases write them, for tests: safetensors with F32 or BF16 tensors
 * (written here, independently of interp's writer, which has no BF16), JSON configs and NumPy
 * .npz archives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { npyBytes, npyHeader, zip } from './npz.js';

export type Dtype = 'F32' | 'BF16';
export interface RawTensor { dtype: Dtype; shape: number[]; data: Float32Array }

/** Rounds to bfloat16 (nearest, ties to even), as torch's .to(torch.bfloat16) does. */
export function bf16Bits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  return Uint16Array.from(u, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
}
export function bf16Values(x: Float32Array): Float32Array {
  const bits = bf16Bits(x);
  return new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
}

export function writeSafetensorsFile(file: string, tensors: Record<string, RawTensor>): void {
  const header: Record<string, unknown> = {};
  const bodies: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.dtype === 'F32' ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) : Buffer.from(bf16Bits(t.data).buffer);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    bodies.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...bodies]));
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

export function writeNpz(file: string, arrays: Record<string, { shape: number[]; data: Float32Array }>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const files = Object.entries(arrays).map(([name, a]) => ({ name: `${name}.npy`, data: npyBytes(npyHeader('<f4', a.shape), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)) }));
  fs.writeFileSync(file, zip(files, true));
}

