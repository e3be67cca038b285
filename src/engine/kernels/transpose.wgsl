// Transpose of a [rows, cols] matrix into [cols, rows]. One invocation per element. No backward
// entry point: the gradient of a transpose is the transpose of the gradient.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // [cols, rows]
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [rows, cols]
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X, 1)
fn transpose(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG_X + lid.x;   // index into out
  if (i >= p.rows * p.cols) { return; }
  let c = i / p.rows;
  let r = i % p.rows;
  out[i] = x[r * p.cols + c];
}
