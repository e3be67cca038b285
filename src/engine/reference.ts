/**
 * Plain TypeScript float64 references of every engine kernel: loops written for clarity, used by
 * the tests (GPU against reference) and by the finite-difference gradient checks. Matrices are
 * row-major arrays with their sizes passed beside them, in the kernels' argument order
 * (outputs are returned; inputs, then sizes).
 */

type Arr = ArrayLike<number>;

/** C[m, n] = op(A)·op(B) (+ bias[n]); A is [m, k] or, transposed, [k, m]; B is [k, n] or [n, k]. */
export function matmulRef(a: Arr, b: Arr, m: number, k: number, n: number, transA = false, transB = false, bias?: Arr): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let q = 0; q < k; q++) s += (transA ? a[q * m + i] : a[i * k + q]) * (transB ? b[j * k + q] : b[q * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}
