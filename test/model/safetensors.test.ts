import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InterpError, ModelFormatError, UsageError } from '../../src/errors.js';
import {
  MAX_HEADER_BYTES,
  readSafetensorsHeader,
  readTensorF32,
  readTensorInts,
  writeSafetensors,
} from '../../src/model/safetensors.js';
import { fixturesDir, haveFixtures, rawSafetensors, tempDir, u16le, writeFile } from './helpers.js';

/** Runs `fn`, expecting a ModelFormatError whose message names `file` and matches `pattern`. */
function expectFormatError(fn: () => unknown, file: string, pattern: RegExp): ModelFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFormatError);
    const e = err as ModelFormatError;
    expect(e.message).toContain(file);
    expect(e.message).toMatch(pattern);
    expect(e.fix).toBeTruthy();
    return e;
  }
  throw new Error(`expected a ModelFormatError matching ${pattern}`);
}

describe.skipIf(!haveFixtures)('fixtures (../shared/fixtures)', () => {
  const gpt2 = path.join(fixturesDir, 'gpt2-tiny', 'model.safetensors');
  const llama = path.join(fixturesDir, 'llama-stories260K', 'model.safetensors');

  it('parses the gpt2-tiny header: 40 F32 tensors with the README shapes, packed back to back', () => {
    const h = readSafetensorsHeader(gpt2);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors).toHaveLength(40);
    expect(h.fileSize).toBe(751_080);
    const shape = (name: string) => h.tensors.find((t) => t.name === name)?.shape;
    expect(shape('wte.weight')).toEqual([512, 64]);
    expect(shape('wpe.weight')).toEqual([64, 64]);
    expect(shape('h.0.attn.c_attn.weight')).toEqual([64, 192]);
    expect(shape('h.2.mlp.c_fc.weight')).toEqual([64, 256]);
    expect(shape('h.1.mlp.c_proj.weight')).toEqual([256, 64]);
    expect(shape('ln_f.bias')).toEqual([64]);
    expect(h.tensors.some((t) => t.name === 'lm_head.weight')).toBe(false);
    let offset = h.dataStart;
    for (const t of h.tensors) {
      expect(t.dtype).toBe('F32');
      expect(t.offset).toBe(offset);
      expect(t.byteLength).toBe(t.shape.reduce((a, b) => a * b, 4));
      offset += t.byteLength;
    }
    expect(offset).toBe(h.fileSize);
    expect(h.dataStart % 8).toBe(0);
  });

  it('parses the llama-stories260K header: 48 tensors, GQA k/v shapes', () => {
    const h = readSafetensorsHeader(llama);
    expect(h.tensors).toHaveLength(48);
    const shape = (name: string) => h.tensors.find((t) => t.name === name)?.shape;
    expect(shape('model.embed_tokens.weight')).toEqual([512, 64]);
    expect(shape('model.layers.4.self_attn.k_proj.weight')).toEqual([32, 64]);
    expect(shape('model.layers.0.mlp.down_proj.weight')).toEqual([64, 172]);
    expect(shape('lm_head.weight')).toEqual([512, 64]);
  });

  it('reads an F32 tensor equal to the bytes at its offset, and lm_head equal to embed_tokens', () => {
    const h = readSafetensorsHeader(llama);
    const info = (name: string) => h.tensors.find((t) => t.name === name)!;
    const embed = readTensorF32(info('model.embed_tokens.weight'));
    expect(embed.length).toBe(512 * 64);
    const raw = fs.readFileSync(llama).subarray(info('model.embed_tokens.weight').offset);
    expect(embed[0]).toBe(raw.readFloatLE(0));
    expect(embed[12345]).toBe(raw.readFloatLE(12345 * 4));
    expect(readTensorF32(info('lm_head.weight'))).toEqual(embed);
  });

  it('reads reference input_ids (I64) as numbers', () => {
    const g = readSafetensorsHeader(path.join(fixturesDir, 'gpt2-tiny', 'reference.safetensors'));
    expect(g.tensors).toHaveLength(48);
    const ids = readTensorInts(g.tensors.find((t) => t.name === 'input_ids')!);
    expect(ids.shape).toEqual([2, 16]);
    expect(ids.data).toHaveLength(32);
    expect(ids.data.every((v) => Number.isInteger(v) && v >= 0 && v < 512)).toBe(true);

    const l = readSafetensorsHeader(path.join(fixturesDir, 'llama-stories260K', 'reference.safetensors'));
    expect(l.tensors).toHaveLength(80);
    expect(l.tensors[0].name).toBe('input_ids'); // forward order: the input comes first
    const lids = readTensorInts(l.tensors[0]);
    expect(lids.shape).toEqual([2, 24]);
    expect(lids.data[0]).toBe(1); // BOS
    expect(lids.data[24]).toBe(1);
  });

  it('refuses to read integers as floats and floats as integers', () => {
    const l = readSafetensorsHeader(path.join(fixturesDir, 'gpt2-tiny', 'reference.safetensors'));
    expect(() => readTensorF32(l.tensors.find((t) => t.name === 'input_ids')!)).toThrow(/I64, expected a floating-point/);
    expect(() => readTensorInts(l.tensors.find((t) => t.name === 'logits')!)).toThrow(ModelFormatError);
  });
});

describe('reading 16-bit and integer dtypes', () => {
  it('widens F16 and BF16 tensors to known fp32 values', () => {
    const dir = tempDir();
    const data = Buffer.concat([u16le([0x3c00, 0xc000, 0x3555, 0x7bff]), u16le([0x3f80, 0x4049, 0xc2f7, 0xff80])]);
    const file = writeFile(
      dir,
      'half.safetensors',
      rawSafetensors(
        {
          h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
          b: { dtype: 'BF16', shape: [4], data_offsets: [8, 16] },
        },
        data,
      ),
    );
    const h = readSafetensorsHeader(file);
    expect(h.metadata).toBeNull();
    expect([...readTensorF32(h.tensors[0])]).toEqual([1, -2, 0.333251953125, 65504]);
    expect([...readTensorF32(h.tensors[1])]).toEqual([1, 3.140625, -123.5, -Infinity]);
  });

  it('reads I32, I16, I8, U8 and BOOL as numbers', () => {
    const dir = tempDir();
    const data = Buffer.alloc(4 + 2 + 1 + 1 + 2);
    data.writeInt32LE(-7, 0);
    data.writeInt16LE(-300, 4);
    data.writeInt8(-5, 6);
    data.writeUInt8(200, 7);
    data.writeUInt8(1, 8);
    const file = writeFile(
      dir,
      'ints.safetensors',
      rawSafetensors(
        {
          a: { dtype: 'I32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'I16', shape: [], data_offsets: [4, 6] },
          c: { dtype: 'I8', shape: [1], data_offsets: [6, 7] },
          d: { dtype: 'U8', shape: [1], data_offsets: [7, 8] },
          e: { dtype: 'BOOL', shape: [2], data_offsets: [8, 10] },
        },
        data,
      ),
    );
    const values = readSafetensorsHeader(file).tensors.map((t) => readTensorInts(t).data);
    expect(values).toEqual([[-7], [-300], [-5], [200], [1, 0]]);
  });

  it('refuses I64 values a JavaScript number cannot hold', () => {
    const dir = tempDir();
    const data = Buffer.alloc(8);
    data.writeBigInt64LE(2n ** 60n, 0);
    const file = writeFile(dir, 'big.safetensors', rawSafetensors({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data));
    expect(() => readTensorInts(readSafetensorsHeader(file).tensors[0])).toThrow(/outside the range/);
  });
});

describe('writeSafetensors', () => {
  it('round-trips F32, F16, I64 and I32 tensors with metadata', () => {
    const dir = tempDir();
    const file = path.join(dir, 'out.safetensors');
    const w = new Float32Array([0.5, -1.25, 3, 1e-3, 7, 8]);
    writeSafetensors(
      file,
      {
        'probe.direction': { dtype: 'F32', shape: [2, 3], data: w },
        half: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
        ids: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 50256n]) },
        layer: { dtype: 'I32', shape: [], data: new Int32Array([6]) },
        empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      },
      { format: 'pt', hook: 'blocks.6.hook_resid_post' },
    );
    const h = readSafetensorsHeader(file);
    expect(h.metadata).toEqual({ format: 'pt', hook: 'blocks.6.hook_resid_post' });
    expect(h.dataStart % 8).toBe(0);
    expect(Buffer.from(h.headerBytes.subarray(8)).toString('utf8')).toMatch(/^\{.*\} *$/);
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    expect(readTensorF32(byName.get('probe.direction')!)).toEqual(w);
    expect(byName.get('probe.direction')!.shape).toEqual([2, 3]);
    expect([...readTensorF32(byName.get('half')!)]).toEqual([1, -2]);
    expect(readTensorInts(byName.get('ids')!).data).toEqual([1, 2, 50256]);
    expect(readTensorInts(byName.get('layer')!)).toEqual({ data: [6], shape: [] });
    expect(readTensorF32(byName.get('empty')!).length).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['out.safetensors']); // no temporary file left behind
  });

  it('writes subarray views with their own offset, not the whole buffer', () => {
    const dir = tempDir();
    const file = path.join(dir, 'v.safetensors');
    const backing = new Float32Array([9, 1, 2, 9]);
    writeSafetensors(file, { v: { dtype: 'F32', shape: [2], data: backing.subarray(1, 3) } });
    expect([...readTensorF32(readSafetensorsHeader(file).tensors[0])]).toEqual([1, 2]);
  });

  it('refuses a shape that disagrees with the data and leaves the old file intact', () => {
    const dir = tempDir();
    const file = path.join(dir, 'keep.safetensors');
    writeSafetensors(file, { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    const before = fs.readFileSync(file);
    expect(() => writeSafetensors(file, { a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(UsageError);
    expect(() =>
      writeSafetensors(file, { a: { dtype: 'I64', shape: [1], data: new Float32Array(1) as unknown as BigInt64Array } }),
    ).toThrow(/dtype I64 but data is a Float32Array/);
    expect(fs.readFileSync(file)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['keep.safetensors']);
  });

  it('reports an unwritable directory as an InterpError', () => {
    expect(() =>
      writeSafetensors('/nonexistent-dir-for-interp-test/x.safetensors', { a: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }),
    ).toThrow(/cannot write/);
  });
});

describe('corrupt files: every problem is a ModelFormatError naming the file', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const eight = new Uint8Array(8);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', () => new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/],
    ['empty file', () => new Uint8Array(0), /0 bytes/],
    ['header length past the file', () => rawSafetensors(ok, eight, 10_000n), /header length 10000 runs past the end/],
    ['absurd header length', () => rawSafetensors(ok, eight, 2n ** 63n), /exceeds the 104857600-byte limit/],
    ['header just over the limit', () => rawSafetensors(ok, eight, BigInt(MAX_HEADER_BYTES + 1)), /exceeds/],
    ['header not JSON', () => rawSafetensors('{"a": [', eight), /not valid UTF-8 JSON/],
    ['header not UTF-8', () => rawSafetensors(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), eight), /not valid UTF-8 JSON/],
    ['header an array', () => rawSafetensors([1, 2], eight), /must be a JSON object/],
    ['header null', () => rawSafetensors('null', eight), /must be a JSON object/],
    ['entry not an object', () => rawSafetensors({ a: 3 }, eight), /tensor "a": expected an object/],
    ['entry without dtype', () => rawSafetensors({ a: { shape: [2], data_offsets: [0, 8] } }, eight), /has no "dtype"/],
    ['entry without shape', () => rawSafetensors({ a: { dtype: 'F32', data_offsets: [0, 8] } }, eight), /has no "shape"/],
    ['entry without data_offsets', () => rawSafetensors({ a: { dtype: 'F32', shape: [2] } }, eight), /has no "data_offsets"/],
    ['unknown dtype', () => rawSafetensors({ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, eight), /dtype "F8_E4M3"; interp reads F64, F32/],
    ['negative shape', () => rawSafetensors({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, eight), /shape must be a list of non-negative integers/],
    ['fractional shape', () => rawSafetensors({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, eight), /shape must be/],
    ['negative offset', () => rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, eight), /non-negative integers/],
    ['non-integer offset', () => rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 7.5] } }, eight), /non-negative integers/],
    ['three offsets', () => rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] } }, eight), /\[begin, end\]/],
    ['offsets reversed', () => rawSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, eight), /end before they begin/],
    ['offsets past the file', () => rawSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eight), /run past the end of the file/],
    ['length ≠ shape × size', () => rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight), /needs 12 bytes, but data_offsets \[0, 8\] hold 8/],
    ['shape product overflows', () => rawSafetensors({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, eight), /impossible number of bytes/],
    [
      'overlapping tensors',
      () =>
        rawSafetensors(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
          eight,
        ),
      /tensors "a" and "b" overlap/,
    ],
    ['metadata not strings', () => rawSafetensors({ __metadata__: { n: 3 }, ...ok }, eight), /__metadata__ must be an object of strings/],
  ];

  it.each(cases)('%s', (_, bytes, pattern) => {
    const file = writeFile(tempDir(), 'bad.safetensors', bytes());
    expectFormatError(() => readSafetensorsHeader(file), file, pattern);
  });

  it('a file truncated after opening fails the read with the file named', () => {
    const dir = tempDir();
    const file = path.join(dir, 'shrinks.safetensors');
    writeSafetensors(file, { a: { dtype: 'F32', shape: [1024], data: new Float32Array(1024) } });
    const h = readSafetensorsHeader(file);
    fs.truncateSync(file, h.dataStart + 100);
    expectFormatError(() => readTensorF32(h.tensors[0]), file, /file ends after 100 of them/);
  });

  it('a missing file is an InterpError naming it', () => {
    const file = path.join(tempDir(), 'absent.safetensors');
    expect(() => readSafetensorsHeader(file)).toThrow(InterpError);
    expect(() => readSafetensorsHeader(file)).toThrow(/absent\.safetensors: cannot open \(ENOENT\)/);
  });

  it('zero-length tensors may share an offset', () => {
    const file = writeFile(
      tempDir(),
      'zeros.safetensors',
      rawSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, eight),
    );
    expect(readSafetensorsHeader(file).tensors.map((t) => t.name)).toEqual(['a', 'b']);
  });
});

describe('random truncations and mutations (fast-check)', () => {
  /** A small valid file: three tensors of different dtypes plus metadata. */
  function validBytes(dir: string): Buffer {
    const file = path.join(dir, 'valid.safetensors');
    writeSafetensors(
      file,
      {
        w: { dtype: 'F32', shape: [3, 4], data: new Float32Array(12).map((_, i) => i / 3) },
        h: { dtype: 'F16', shape: [5], data: new Uint16Array([0x3c00, 1, 2, 3, 0x7c00]) },
        ids: { dtype: 'I64', shape: [2, 2], data: new BigInt64Array([1n, 2n, 3n, 4n]) },
      },
      { format: 'pt' },
    );
    return fs.readFileSync(file);
  }

  /** Opens and reads every tensor; returns normally or throws an InterpError naming the file. */
  function openAndReadAll(file: string): void {
    const started = Date.now();
    try {
      const h = readSafetensorsHeader(file);
      for (const t of h.tensors) {
        if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64') readTensorF32(t);
        else readTensorInts(t);
      }
    } catch (err) {
      if (!(err instanceof InterpError)) throw new Error(`non-InterpError thrown: ${String(err)}`);
      if (!err.message.includes(file)) throw new Error(`message does not name the file: ${err.message}`);
    }
    expect(Date.now() - started).toBeLessThan(2000); // never a hang
  }

  it('truncated at any length: an InterpError naming the file, never another throw', () => {
    const dir = tempDir();
    const bytes = validBytes(dir);
    const file = path.join(dir, 'cut.safetensors');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (n) => {
        fs.writeFileSync(file, bytes.subarray(0, n));
        openAndReadAll(file);
        // Every cut that loses bytes the header refers to must be refused.
        if (n < bytes.length) expect(() => readSafetensorsHeader(file)).toThrow(ModelFormatError);
      }),
      { numRuns: 300 },
    );
  });

  it('random byte mutations: valid or an InterpError naming the file', () => {
    const dir = tempDir();
    const bytes = validBytes(dir);
    const file = path.join(dir, 'mutated.safetensors');
    const mutation = fc.array(fc.tuple(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(mutation, (edits) => {
        const copy = Buffer.from(bytes);
        for (const [at, value] of edits) copy[at] = value;
        fs.writeFileSync(file, copy);
        openAndReadAll(file);
      }),
      { numRuns: 500 },
    );
  });

  it('mutations focused on the header (length prefix and JSON text)', () => {
    const dir = tempDir();
    const bytes = validBytes(dir);
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const file = path.join(dir, 'header.safetensors');
    const printable = fc.integer({ min: 0x20, max: 0x7e });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: headerEnd - 1 }), fc.oneof(printable, fc.integer({ min: 0, max: 255 }))), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.boolean(),
        (edits, length, replaceLength) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits) copy[at] = value;
          if (replaceLength) copy.writeBigUInt64LE(length, 0);
          fs.writeFileSync(file, copy);
          openAndReadAll(file);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random JSON headers: valid or an InterpError naming the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'json.safetensors');
    const entry = fc.record(
      {
        dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'X9'), fc.anything()),
        shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 3 }), fc.anything()),
        data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -4, max: 80 }), fc.integer({ min: -4, max: 80 })), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(entry, fc.anything()), { maxKeys: 4 }), (header) => {
        fs.writeFileSync(file, rawSafetensors(header, new Uint8Array(64)));
        openAndReadAll(file);
      }),
      { numRuns: 500 },
    );
  });
});
