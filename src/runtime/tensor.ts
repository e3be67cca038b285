/** A dense fp32 tensor in JavaScript memory, row-major. */
export interface HostTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Element count of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, n) => a * n, 1);
}
