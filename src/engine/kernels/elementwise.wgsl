// Elementwise ops on flat f32 arrays. One invocation per element; the 1-D launch is a 2-D grid
// of workgroups (see linearGroups in kernel.ts). No backward entry points: the gradients of these
// ops are themselves elementwise ops (d(a·b) = b·dy, …), composed by the caller.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
// unary OP: 0 neg, 1 exp, 2 log, 3 sqrt, 4 square, 5 abs, 6 affine (alpha·x + beta), 7 sigmoid, 8 tanh
// binary OP: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min
override OP: u32 = 0;
// binary: how b is indexed: 0 same shape as a, 1 a row vector [cols] repeated over rows, 2 a scalar [1]
override BROADCAST: u32 = 0;

struct Params {
  count: u32,  // elements of out
  cols: u32,   // row length, for BROADCAST = 1
  alpha: f32,  // affine scale
  beta: f32,   // affine shift
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // [count]
@group(0) @binding(1) var<storage, read> a: array<f32>;          // [count]
@group(0) @binding(2) var<storage, read> b: array<f32>;          // [count], [cols] or [1] (binary only)
@group(0) @binding(3) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

@compute @workgroup_size(WG_X, 1)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.count) { return; }
  let x = a[i];
  var y: f32;
  switch (OP) {
    case 0u: { y = -x; }
    case 1u: { y = exp(x); }
    case 2u: { y = log(x); }
    case 3u: { y = sqrt(x); }
    case 4u: { y = x * x; }
    case 5u: { y = abs(x); }
    case 6u: { y = p.alpha * x + p.beta; }
    case 7u: { y = 1.0 / (1.0 + exp(-x)); }
    default: { y = tanh(x); }
  }
  out[i] = y;
}

@compute @workgroup_size(WG_X, 1)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.count) { return; }
  let x = a[i];
  var bi = i;
  if (BROADCAST == 1u) { bi = i % p.cols; } else if (BROADCAST == 2u) { bi = 0u; }
  let z = b[bi];
  var y: f32;
  switch (OP) {
    case 0u: { y = x + z; }
    case 1u: { y = x - z; }
    case 2u: { y = x * z; }
    case 3u: { y = x / z; }
    case 4u: { y = max(x, z); }
    default: { y = min(x, z); }
  }
  out[i] = y;
}
