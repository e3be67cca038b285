// The logistic objective's two passes over X for CPU adapters (Mesa lavapipe), where the engine's
// general matmul is a poor fit: with K ≤ 8 columns, X·W is a skinny product and the lanes matmul
// loads X with scalar loads into a 32-column block it mostly wastes. llvmpipe turns each storage
// load with a non-constant address into a per-lane loop (see src/engine/kernels/matmul_lanes.wgsl),
// so loads bound the speed: both passes here load X as vec4 (4 floats per lane-load), exactly once.
//
//   forward:  z_ik = x_i · w_k + b_k                     one invocation per row i
//             G_ik = (σ(z_ik) − t_ik) / n                [n, K]
//             L_i  = Σ_k max(z,0) − z·t + log(1 + e^−|z|)   [n]  (stable log(1+exp(−m)))
//   backward: P[block, k, j] = Σ_{i in block} G_ik x_ij  one invocation per 4 columns j and row block
// The host sums P over blocks, G over rows and L (engine reduce) for ∇_W, ∇_b and the loss.

override WG: u32 = 64;
override K: u32 = 1;       // problems (logits per row), ≤ KMAX
const KMAX: u32 = 8u;

struct Params {
  n: u32,               // rows
  d4: u32,              // d / 4
  rows_per_block: u32,  // rows summed by one backward invocation
  inv_n: f32,           // 1 / n
}

@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;        // [n, d/4]
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;        // [K, d/4]
@group(0) @binding(2) var<storage, read> B: array<f32>;              // [K]
@group(0) @binding(3) var<storage, read> T: array<f32>;              // [n, K] targets in {0, 1}
@group(0) @binding(4) var<storage, read_write> G: array<f32>;        // [n, K]
@group(0) @binding(5) var<storage, read_write> L: array<f32>;        // [n]
@group(0) @binding(6) var<storage, read_write> P: array<vec4<f32>>;  // [blocks, K, d/4]
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(WG, 1)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= p.n) { return; }
  var acc: array<vec4<f32>, KMAX>;
  let base = i * p.d4;
  for (var j = 0u; j < p.d4; j++) {
    let xv = X[base + j];
    for (var k = 0u; k < K; k++) { acc[k] = fma(xv, W[k * p.d4 + j], acc[k]); }
  }
  var loss = 0.0;
  for (var k = 0u; k < K; k++) {
    let z = acc[k].x + acc[k].y + acc[k].z + acc[k].w + B[k];
    let t = T[i * K + k];
    loss += max(z, 0.0) - z * t + log(1.0 + exp(-abs(z)));
    let s = select(exp(z) / (1.0 + exp(z)), 1.0 / (1.0 + exp(-z)), z >= 0.0);
    G[i * K + k] = (s - t) * p.inv_n;
  }
  L[i] = loss;
}

@compute @workgroup_size(WG, 1)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.d4) { return; }
  let block = wid.y;
  let r0 = block * p.rows_per_block;
  let r1 = min(p.n, r0 + p.rows_per_block);
  var acc: array<vec4<f32>, KMAX>;
  for (var i = r0; i < r1; i++) {
    let xv = X[i * p.d4 + j];
    for (var k = 0u; k < K; k++) { acc[k] = fma(vec4<f32>(G[i * K + k]), xv, acc[k]); }
  }
  for (var k = 0u; k < K; k++) { P[(block * K + k) * p.d4 + j] = acc[k]; }
}
