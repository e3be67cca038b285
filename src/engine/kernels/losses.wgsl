// Losses over all elements of a prediction and a target of the same shape, averaged over the
// element count n, with their gradients with respect to the prediction.
//   mse:  L = (1/n) Σ (ŷ − y)²                          ∂L/∂ŷ = 2(ŷ − y)/n
//   bce:  L = (1/n) Σ max(z, 0) − z·y + log(1 + e^−|z|)  ∂L/∂z = (σ(z) − y)/n   (z: logits, y ∈ [0, 1])
// `*_partial` writes one partial sum per chunk of CHUNK elements; reduce.wgsl sums the partials.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
const CHUNK: u32 = 256u;

struct Params {
  count: u32,  // elements in this block
  total: u32,  // n, the divisor of the mean (backward entries only)
  scale: f32,  // multiplies the gradient (1 for the plain mean loss)
  out_base: u32,  // partials: index of this block's first partial in out
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // partials [ceil(n/CHUNK)] or grad [n]
@group(0) @binding(1) var<storage, read> pred: array<f32>;       // [n] ŷ or logits z
@group(0) @binding(2) var<storage, read> truth: array<f32>;     // [n] y
@group(0) @binding(3) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

fn bce_term(z: f32, y: f32) -> f32 {
  return max(z, 0.0) - z * y + log(1.0 + exp(-abs(z)));
}

@compute @workgroup_size(WG_X, 1)
fn mse_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let q = index(wid, nwg, lid);
  let start = q * CHUNK;
  if (start >= p.count) { return; }
  var s = 0.0;
  for (var i = start; i < min(start + CHUNK, p.count); i++) { let d = pred[i] - truth[i]; s += d * d; }
  out[p.out_base + q] = s;
}

@compute @workgroup_size(WG_X, 1)
fn mse_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.count) { return; }
  out[i] = p.scale * 2.0 * (pred[i] - truth[i]) / f32(p.total);
}

@compute @workgroup_size(WG_X, 1)
fn bce_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let q = index(wid, nwg, lid);
  let start = q * CHUNK;
  if (start >= p.count) { return; }
  var s = 0.0;
  for (var i = start; i < min(start + CHUNK, p.count); i++) { s += bce_term(pred[i], truth[i]); }
  out[p.out_base + q] = s;
}

@compute @workgroup_size(WG_X, 1)
fn bce_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.count) { return; }
  let z = pred[i];
  let s = select(exp(z) / (1.0 + exp(z)), 1.0 / (1.0 + exp(-z)), z >= 0.0);
  out[i] = p.scale * (s - truth[i]) / f32(p.total);
}
