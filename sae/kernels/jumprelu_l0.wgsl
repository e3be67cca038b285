// Gradient of log θ for a JumpReLU SAE: the reconstruction part (dθ from the engine's
// jumprelu_backward_threshold) plus the L0 penalty's straight-through estimate
// (Rajamanoharan et al. 2024, eq. 12): ∂/∂θ_c (λ/B Σ_r H(pre_rc − θ_c)) ≈ −(λ/B)(1/ε) Σ_r K((pre_rc − θ_c)/ε),
// K(u) = 1[|u| < ½]; and the chain rule through θ = exp(log θ) multiplies by θ:
//   dlogθ[c] = θ_c · (dθ_rec[c] − coef · #{r : |pre_rc − θ_c| < ε/2} / ε),   coef = λ/B.
// The forward (H itself) is the engine's jumprelu_forward; this file is its L0 backward.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,    // bandwidth ε
  coef: f32,   // λ / B
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // [cols] d log θ
@group(0) @binding(1) var<storage, read> pre: array<f32>;        // [rows, cols]
@group(0) @binding(2) var<storage, read> theta: array<f32>;      // [cols] θ
@group(0) @binding(3) var<storage, read> dtheta: array<f32>;     // [cols] reconstruction dθ
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG_X, 1)
fn log_threshold_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = (wid.y * nwg.x + wid.x) * WG_X + lid.x;
  if (c >= p.cols) { return; }
  let t = theta[c];
  var n = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    if (abs(pre[r * p.cols + c] - t) < 0.5 * p.eps) { n += 1.0; }
  }
  out[c] = t * (dtheta[c] - p.coef * n / p.eps);
}
