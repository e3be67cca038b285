/**
 * A small builder for ONNX graphs. Families describe their forward pass through it; it keeps
 * nodes in creation order (which is topological), prunes everything no requested output needs
 * (so a graph "stops at a layer" by asking for nothing beyond it), and serialises a ModelProto
 * that onnxruntime-node loads.
 *
 * Weights are never copied into the protobuf: fp32 tensors in a safetensors file are referenced
 * as ONNX external data at their byte offset in that file, and other tensors are written once to
 * a side file by the caller (see weights.ts). The graph itself stays a few hundred kilobytes.
 */
import onnxProto from 'onnx-proto';
import { assert } from '../../errors.js';

const { onnx } = onnxProto;

/** Element types used in interp graphs. */
export type ElemType = 'float32' | 'int64' | 'bool';

const ELEM_CODE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A dimension: a fixed size, or a symbolic name such as `batch` or `pos`. */
export type Dim = number | string;

/** An attribute value of a node. Integers must be passed as `{ int: n }` to tell them from floats. */
export type AttrValue = number | { int: number } | { ints: readonly number[] } | { floats: readonly number[] } | string;

/** A weight stored outside the graph: `length` bytes of fp32 at `offset` within `location`. */
export interface ExternalTensor {
  readonly dims: readonly number[];
  /** File name relative to the directory the .onnx file is loaded from. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

interface NodeRecord {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly domain: string;
}

type InitRecord =
  | { kind: 'external'; name: string; tensor: ExternalTensor }
  | { kind: 'inline'; name: string; dims: readonly number[]; type: ElemType; values: Float32Array | BigInt64Array | Uint8Array };

export class GraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers = new Map<string, InitRecord>();
  private readonly inputs = new Map<string, { type: ElemType; dims: readonly Dim[] }>();
  private readonly outputs = new Map<string, { type: ElemType; dims: readonly Dim[] }>();
  private counter = 0;

  /** A fresh tensor name with a readable prefix. */
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}__${this.counter}`;
  }

  /** Declares a graph input. */
  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    assert(!this.inputs.has(name), () => `graph input ${name} declared twice`);
    this.inputs.set(name, { type, dims });
    return name;
  }

  /** Marks an existing tensor as a graph output under `name` (an Identity node renames it). */
  output(name: string, tensor: string, type: ElemType, dims: readonly Dim[]): void {
    if (this.outputs.has(name)) return;
    if (tensor !== name) this.node('Identity', [tensor], {}, [name]);
    this.outputs.set(name, { type, dims });
  }

  hasInput(name: string): boolean {
    return this.inputs.has(name);
  }

  /** A weight kept in an external file (no bytes pass through JavaScript). */
  external(name: string, tensor: ExternalTensor): string {
    this.initializers.set(name, { kind: 'external', name, tensor });
    return name;
  }

  /** A small constant stored inside the graph (shapes, axes, scalars, rotary tables). */
  constF32(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length], prefix = 'c'): string {
    const name = this.fresh(prefix);
    this.initializers.set(name, { kind: 'inline', name, dims, type: 'float32', values: Float32Array.from(values) });
    return name;
  }

  constI64(values: readonly number[], dims: readonly number[] = [values.length], prefix = 'i'): string {
    const name = this.fresh(prefix);
    this.initializers.set(name, { kind: 'inline', name, dims, type: 'int64', values: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** Adds a node; returns its single output's name (or the names given in `outputs`). */
  node(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, outputs?: readonly string[], domain = ''): string {
    const outs = outputs ?? [this.fresh(op.toLowerCase())];
    this.nodes.push({ op, inputs, outputs: outs, attrs, domain });
    return outs[0];
  }

  /** Adds a node with several outputs and returns all their names. */
  nodeMulti(op: string, inputs: readonly string[], nOutputs: number, attrs: Readonly<Record<string, AttrValue>> = {}): string[] {
    const outs = Array.from({ length: nOutputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, attrs, domain: '' });
    return outs;
  }

  /** Names of the declared graph outputs. */
  outputNames(): string[] {
    return [...this.outputs.keys()];
  }

  /**
   * Serialises the graph, keeping only nodes, initializers and inputs that some output needs.
   * Returns the ModelProto bytes and the inputs that survived pruning (callers feed only those).
   */
  serialize(graphName: string): { bytes: Uint8Array; inputs: string[] } {
    const needed = new Set<string>(this.outputs.keys());
    const kept: NodeRecord[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const inp of n.inputs) if (inp !== '') needed.add(inp);
    }
    kept.reverse();
    const inputs = [...this.inputs.entries()].filter(([name]) => needed.has(name));
    const inits = [...this.initializers.values()].filter((r) => needed.has(r.name));

    const graph = onnx.GraphProto.create({
      name: graphName,
      node: kept.map((n) =>
        onnx.NodeProto.create({
          opType: n.op,
          domain: n.domain,
          input: [...n.inputs],
          output: [...n.outputs],
          attribute: Object.entries(n.attrs).map(([k, v]) => toAttribute(k, v)),
        }),
      ),
      initializer: inits.map(toTensorProto),
      input: inputs.map(([name, v]) => valueInfo(name, v.type, v.dims)),
      output: [...this.outputs.entries()].map(([name, v]) => valueInfo(name, v.type, v.dims)),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'interp',
      opsetImport: [{ domain: '', version: 17 }],
      graph,
    });
    return { bytes: onnx.ModelProto.encode(model).finish(), inputs: inputs.map(([name]) => name) };
  }
}

function valueInfo(name: string, type: ElemType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_CODE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function toAttribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if ('int' in v) return { name, type: T.INT, i: v.int };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  return { name, type: T.FLOATS, floats: [...v.floats] };
}

function toTensorProto(r: InitRecord): onnxProto.onnx.ITensorProto {
  if (r.kind === 'external') {
    return {
      name: r.name,
      dataType: ELEM_CODE.float32,
      dims: [...r.tensor.dims],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: r.tensor.location },
        { key: 'offset', value: String(r.tensor.offset) },
        { key: 'length', value: String(r.tensor.length) },
      ],
    };
  }
  const bytes = new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.byteLength);
  return { name: r.name, dataType: ELEM_CODE[r.type], dims: [...r.dims], rawData: bytes };
}
