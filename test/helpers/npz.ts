/**
 * .npy arrays and .npz archives as numpy writes them (version 1.0 headers; zip without zip64,
 * stored or deflated like savez / savez_compressed), for tests of the Gemma Scope reader.
 */
import { deflateRawSync } from 'node:zlib';

/** The Python-literal header dict of an .npy file. */
export function npyHeader(descr: string, shape: readonly number[], fortran = false): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
}

/** An .npy file: magic, version 1.0, the header padded so the data starts at a multiple of 64, then `body`. */
export function npyBytes(header: string, body: Buffer): Buffer {
  const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
  const text = `${header}${' '.repeat(pad)}\n`;
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head[7] = 0;
  // A mutated header may be longer than the field can say; the reader must cope with the lie.
  head.writeUInt16LE(Math.min(text.length, 0xffff), 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1'), body]);
}

/** A zip archive of `files` (stored or deflated). */
export function zip(files: readonly { name: string; data: Buffer }[], deflate: boolean): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const data = deflate ? deflateRawSync(f.data) : f.data;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
