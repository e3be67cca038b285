// Decoder-row operations of SAE training, on W [d_sae, d_in] and its gradient G of the same shape.
//   project_rows:   G_i ← G_i − (G_i·W_i / W_i·W_i) W_i   — removes the gradient component parallel
//                   to each decoder row before the optimiser step, so unit-norm rows stay on the
//                   sphere to first order (Gao et al. 2024 §2.3; sparsify and SAELens do the same);
//                   followed by renormalisation after the step (engine `normalize`).
//   scale_rows_add: G_i ← G_i + alpha · s_i · W_i         — the decoder-norm part of the April 2024
//                   L1 gradient: ∂/∂W_i (λ/B Σ_b f_bi ‖W_i‖) = (λ/B) (Σ_b f_bi) W_i / ‖W_i‖.
// Both are projections or additions on gradients: no backward of their own.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,   // d_sae
  cols: u32,   // d_in
  alpha: f32,
}

@group(0) @binding(0) var<storage, read_write> G: array<f32>;  // [rows, cols], in place
@group(0) @binding(1) var<storage, read> W: array<f32>;        // [rows, cols]
@group(0) @binding(2) var<storage, read> s: array<f32>;        // [rows] (a dummy for project_rows)
@group(0) @binding(3) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

@compute @workgroup_size(WG_X, 1)
fn project_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var gw = 0.0;
  var ww = 0.0;
  for (var c = 0u; c < p.cols; c++) { gw += G[base + c] * W[base + c]; ww += W[base + c] * W[base + c]; }
  if (ww <= 0.0) { return; }
  let a = gw / ww;
  for (var c = 0u; c < p.cols; c++) { G[base + c] -= a * W[base + c]; }
}

@compute @workgroup_size(WG_X, 1)
fn scale_rows_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  G[i] += p.alpha * s[i / p.cols] * W[i];
}
