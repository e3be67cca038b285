// Normalises each row (or each column) of a [rows, cols] matrix to unit L2 norm, in place,
// and writes the norms it divided by: x ← x / max(‖x‖, ε). Used as a projection between
// optimiser steps (e.g. unit-norm SAE decoder rows), so there is no backward.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;      // [rows, cols], in place
@group(0) @binding(1) var<storage, read_write> norms: array<f32>;  // [rows] or [cols]: the norms before
@group(0) @binding(2) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

@compute @workgroup_size(WG_X, 1)
fn normalize_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = x[r * p.cols + c]; s += v * v; }
  let norm = sqrt(s);
  let inv = 1.0 / max(norm, p.eps);
  for (var c = 0u; c < p.cols; c++) { x[r * p.cols + c] *= inv; }
  norms[r] = norm;
}

@compute @workgroup_size(WG_X, 1)
fn normalize_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = index(wid, nwg, lid);
  if (c >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { let v = x[r * p.cols + c]; s += v * v; }
  let norm = sqrt(s);
  let inv = 1.0 / max(norm, p.eps);
  for (var r = 0u; r < p.rows; r++) { x[r * p.cols + c] *= inv; }
  norms[c] = norm;
}
