/**
 * Bounds on the vectors in Arrow IPC metadata, checked before apache-arrow decodes it.
 *
 * Arrow's footer and message headers are flatbuffers, and the flatbuffers runtime trusts every
 * vector length it reads: a damaged 2 KB footer claiming 2^32 fields makes apache-arrow's
 * Footer.decode loop for minutes (the fuzzing of issue 9 found one taking 13 minutes). So before
 * decoding, this walks the few vectors Arrow iterates over — record-batch and dictionary blocks,
 * schema fields and their children, key-value metadata, field nodes and buffers — and checks
 * that each fits inside the bytes given. It reads only lengths and offsets, through the
 * flatbuffers layout (https://flatbuffers.dev/internals/): a table starts with an int32 offset
 * back to its vtable, whose uint16 entries give each field's position in the table; a reference
 * field holds a uint32 offset forward to its target; a vector is a uint32 length and its items.
 *
 * Field numbers below are the order of fields in Arrow's format/File.fbs, Schema.fbs and
 * Message.fbs.
 */

class OutOfBounds extends Error {}

/** One flatbuffer table at `pos` in `view`; every read is bounds-checked. */
class Table {
  constructor(
    private readonly view: DataView,
    private readonly pos: number,
  ) {}

  static root(bytes: Uint8Array): Table {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Table(view, u32(view, 0)).checked();
  }

  /** Absolute position of field `i`, or 0 when the table does not have it. */
  private field(i: number): number {
    const vtable = this.pos - i32(this.view, this.pos);
    const vtableSize = u16(this.view, vtable);
    if (4 + 2 * i >= vtableSize) return 0;
    const at = u16(this.view, vtable + 4 + 2 * i);
    return at === 0 ? 0 : this.pos + at;
  }

  /** Where the reference in field `i` points, or 0. */
  private target(i: number): number {
    const at = this.field(i);
    return at === 0 ? 0 : at + u32(this.view, at);
  }

  table(i: number): Table | null {
    const at = this.target(i);
    return at === 0 ? null : new Table(this.view, at).checked();
  }

  /** Length of the vector in field `i` (0 when absent), checked to fit with `itemBytes` per item. */
  vectorLength(i: number, itemBytes: number): number {
    const at = this.target(i);
    if (at === 0) return 0;
    const n = u32(this.view, at);
    if (at + 4 + n * itemBytes > this.view.byteLength) throw new OutOfBounds(`a vector of ${n} items at byte ${at} runs past the ${this.view.byteLength}-byte metadata`);
    return n;
  }

  /** Item `k` of a vector of tables in field `i`. */
  vectorTable(i: number, k: number): Table {
    const item = this.target(i) + 4 + 4 * k;
    return new Table(this.view, item + u32(this.view, item)).checked();
  }

  /** A uint8 scalar field (the union type tags), 0 when absent. */
  u8(i: number): number {
    const at = this.field(i);
    return at === 0 ? 0 : u8(this.view, at);
  }

  private checked(): Table {
    // Reading the vtable offset checks that the table's first bytes exist.
    u16(this.view, this.pos - i32(this.view, this.pos));
    return this;
  }
}

function within(view: DataView, at: number, size: number): number {
  if (!Number.isSafeInteger(at) || at < 0 || at + size > view.byteLength) throw new OutOfBounds(`an offset (${at}) points outside the ${view.byteLength}-byte metadata`);
  return at;
}
const u8 = (v: DataView, at: number) => v.getUint8(within(v, at, 1));
const u16 = (v: DataView, at: number) => v.getUint16(within(v, at, 2), true);
const u32 = (v: DataView, at: number) => v.getUint32(within(v, at, 4), true);
const i32 = (v: DataView, at: number) => v.getInt32(within(v, at, 4), true);

/** KeyValue tables {key, value}: strings, i.e. byte vectors. */
function checkKeyValues(t: Table, field: number): void {
  for (let k = 0, n = t.vectorLength(field, 4); k < n; k++) {
    const kv = t.vectorTable(field, k);
    kv.vectorLength(0, 1);
    kv.vectorLength(1, 1);
  }
}

/** Field {name 0, nullable 1, type_type 2, type 3, dictionary 4, children 5, custom_metadata 6}. */
function checkFields(t: Table, vectorField: number, budget: { tables: number }, depth: number): void {
  if (depth > 64) throw new OutOfBounds('schema fields are nested more than 64 deep');
  for (let k = 0, n = t.vectorLength(vectorField, 4); k < n; k++) {
    // Tables may be shared by forged offsets; the budget keeps the walk linear in the bytes.
    if (--budget.tables < 0) throw new OutOfBounds('the schema names more fields than its bytes can hold');
    const field = t.vectorTable(vectorField, k);
    field.vectorLength(0, 1);
    checkKeyValues(field, 6);
    checkFields(field, 5, budget, depth + 1);
  }
}

/** RecordBatch {length 0, nodes 1, buffers 2, compression 3, variadicBufferCounts 4}: nodes and buffers are 16-byte structs. */
function checkRecordBatch(t: Table | null): void {
  if (!t) return;
  t.vectorLength(1, 16);
  t.vectorLength(2, 16);
  t.vectorLength(4, 8);
}

/**
 * Checks a footer (Footer {version 0, schema 1, dictionaries 2, recordBatches 3, custom_metadata 4};
 * Schema {endianness 0, fields 1, custom_metadata 2, features 3}); returns a description of the
 * first vector that does not fit, or null.
 */
export function footerProblem(bytes: Uint8Array): string | null {
  try {
    const footer = Table.root(bytes);
    footer.vectorLength(2, 24); // Block structs: offset, metaDataLength (+ padding), bodyLength
    footer.vectorLength(3, 24);
    checkKeyValues(footer, 4);
    const schema = footer.table(1);
    if (schema) {
      checkFields(schema, 1, { tables: Math.floor(bytes.length / 8) }, 0);
      checkKeyValues(schema, 2);
      schema.vectorLength(3, 8);
    }
    return null;
  } catch (err) {
    if (err instanceof OutOfBounds) return err.message;
    throw err;
  }
}

/**
 * Checks a message header (Message {version 0, header_type 1, header 2, bodyLength 3,
 * custom_metadata 4}; header type 2 is a DictionaryBatch {id 0, data 1, isDelta 2}, 3 a
 * RecordBatch); returns a description of the first vector that does not fit, or null.
 */
export function messageProblem(bytes: Uint8Array): string | null {
  try {
    const message = Table.root(bytes);
    checkKeyValues(message, 4);
    const type = message.u8(1);
    const header = message.table(2);
    if (type === 3) checkRecordBatch(header);
    else if (type === 2 && header) checkRecordBatch(header.table(1));
    return null;
  } catch (err) {
    if (err instanceof OutOfBounds) return err.message;
    throw err;
  }
}
