// Adam and AdamW, one step in place on a flat parameter (Kingma & Ba 2015, Algorithm 1;
// decoupled weight decay: Loshchilov & Hutter 2019, Algorithm 2, as torch.optim.AdamW):
//   ADAMW:  p ← p − lr·wd·p                (decoupled decay)
//   Adam:   g ← g + wd·p                   (L2 decay through the gradient)
//   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / bc1) / (sqrt(v / bc2) + ε),   bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ (computed on the host)
// There is no backward: this is the update itself.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
override ADAMW: bool = true;

struct Params {
  count: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,
  bc2: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;  // [n]
@group(0) @binding(1) var<storage, read_write> m: array<f32>;      // [n] first moment
@group(0) @binding(2) var<storage, read_write> v: array<f32>;      // [n] second moment
@group(0) @binding(3) var<storage, read> grad: array<f32>;         // [n]
@group(0) @binding(4) var<uniform> p: Params;
// The same buffers as vec4, for adam4 (count % 4 == 0): llvmpipe fetches a vec4 in one per-lane loop.
@group(0) @binding(0) var<storage, read_write> param4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> v4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad4: array<vec4<f32>>;

@compute @workgroup_size(WG_X, 1)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG_X + lid.x;
  if (i >= p.count) { return; }
  var w = param[i];
  var g = grad[i];
  if (ADAMW) { w = w - p.lr * p.weight_decay * w; } else { g = g + p.weight_decay * w; }
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = w - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}

@compute @workgroup_size(WG_X, 1)
fn adam4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG_X + lid.x;
  if (i >= p.count / 4u) { return; }
  var w = param4[i];
  var g = grad4[i];
  if (ADAMW) { w = w - p.lr * p.weight_decay * w; } else { g = g + p.weight_decay * w; }
  let mi = p.beta1 * m4[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v4[i] + (1.0 - p.beta2) * g * g;
  m4[i] = mi;
  v4[i] = vi;
  param4[i] = w - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}
