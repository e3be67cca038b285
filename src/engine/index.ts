/**
 * The GPU engine's public API: probes and SAEs import from here only.
 *
 *   const gpu = await getGpu();                       // adapter + device (EnvironmentError if none)
 *   const x = upload(gpu, data, [batch, d_in]);        // tensors have explicit lifetimes:
 *   const loss = scope(() => mse(matmul(x, w), y).loss) // scope() disposes temporaries
 *   console.log(await loss.download()); loss.dispose();
 *
 * Every op checks shapes and dtypes at its boundary and throws ShapeMismatchError or UsageError
 * naming the op and the argument. Ops enqueue GPU work and return at once; `download()` and
 * `sync()` wait.
 */
export { getGpu, sync, settle, adapterKind, LAVAPIPE_INSTALL_HINT, type Gpu, type AdapterProfile, type AdapterKind } from './device.js';
// For kernels written outside the engine (e.g. sae/kernels): descriptors, dispatch and binding splits.
export { dispatch, packParams, linearGroups, rowChunks, bindRowRange, type KernelSpec, type BindingSpec, type Dispatch, type Param } from './kernel.js';
export { Tensor, empty, zeros, upload, tensor, scope, keep, expectShape, expectMatrix, expectBindable, liveTensorBytes, trimPool, type DType } from './tensor.js';
export { matmul, type MatmulOptions } from './kernels/matmul.js';
export { transpose } from './kernels/transpose.js';
export { unary, binary, UNARY_OPS, BINARY_OPS, type UnaryOp, type BinaryOp } from './kernels/elementwise.js';
export { reduce, REDUCE_OPS, type ReduceOp, type ReduceAxis } from './kernels/reduce.js';
export { softmax, softmaxBackward, logSoftmax, logSoftmaxBackward } from './kernels/softmax.js';
export { topk, batchTopk, type TopK, type BatchTopK } from './kernels/topk.js';
export { gatherDecode, gatherDecodeBackward, type GatherDecodeGrads } from './kernels/gather_decode.js';
export { reluForward, reluBackward, jumpreluForward, jumpreluBackward, type JumpReluGrads } from './kernels/activations.js';
export { mse, bce, type LossResult } from './kernels/losses.js';
export { adamStep, adamState, disposeAdamState, type AdamOptions, type AdamState } from './kernels/adam.js';
export { normalize } from './kernels/normalize.js';
