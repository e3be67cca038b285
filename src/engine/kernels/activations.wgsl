// ReLU and JumpReLU on a [rows, cols] matrix, forward and backward.
//   relu:      y = max(x, 0)                       backward: dx = dy · [x > 0]
//   jumprelu:  y = x · H(x − θ[c])                  (θ: one threshold per column / latent)
//   backward:  dx = dy · H(x − θ)
//              dθ[c] = Σ_rows dy · ∂y/∂θ with the straight-through estimate of Rajamanoharan et
//              al. 2024 ("Jumping Ahead", eq. 11): ∂y/∂θ = −(θ/ε) · K((x − θ)/ε), K the
//              rectangle kernel 1[|u| < ½]. ε is the kernel bandwidth (SAELens default 1e-3).
// The backward passes save nothing: they read x (the forward input) again.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
override ACCUMULATE: bool = false;  // dθ: add into out (the second and later blocks of rows)

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,   // JumpReLU kernel bandwidth ε
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;   // [rows, cols] y or dx; [cols] dθ
@group(0) @binding(1) var<storage, read> x: array<f32>;           // [rows, cols] forward input
@group(0) @binding(2) var<storage, read> dy: array<f32>;          // [rows, cols] (a dummy in forward)
@group(0) @binding(3) var<storage, read> theta: array<f32>;       // [cols] (a dummy for relu)
@group(0) @binding(4) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

@compute @workgroup_size(WG_X, 1)
fn relu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  out[i] = max(x[i], 0.0);
}

@compute @workgroup_size(WG_X, 1)
fn relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  out[i] = select(0.0, dy[i], x[i] > 0.0);
}

@compute @workgroup_size(WG_X, 1)
fn jumprelu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  out[i] = select(0.0, x[i], x[i] > theta[i % p.cols]);
}

@compute @workgroup_size(WG_X, 1)
fn jumprelu_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  out[i] = select(0.0, dy[i], x[i] > theta[i % p.cols]);
}

// One invocation per column: dθ[c] = Σ_r dy[r, c] · (−θ[c]/ε) · 1[|x[r, c] − θ[c]| < ε/2].
@compute @workgroup_size(WG_X, 1)
fn jumprelu_backward_threshold(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = index(wid, nwg, lid);
  if (c >= p.cols) { return; }
  let t = theta[c];
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + c;
    if (abs(x[i] - t) < 0.5 * p.eps) { s += dy[i]; }
  }
  var prev = 0.0;
  if (ACCUMULATE) { prev = out[c]; }
  out[c] = prev - (t / p.eps) * s;
}
