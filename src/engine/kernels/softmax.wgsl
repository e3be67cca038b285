// Softmax and log-softmax along the rows of a [rows, cols] matrix, with their backward passes.
// One invocation per row. Forward subtracts the row max first (no overflow for large logits).
//   softmax:       y = exp(x − max) / Σ exp(x − max)
//   backward:      dx = y ⊙ (dy − Σ dy ⊙ y)            (saves y from forward)
//   log_softmax:   y = x − max − log Σ exp(x − max)
//   backward:      dx = dy − exp(y) · Σ dy             (saves y from forward)

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // [rows, cols]: y, or dx in backward
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [rows, cols]: x, or y (forward output) in backward
@group(0) @binding(2) var<storage, read> dy: array<f32>;         // [rows, cols]: backward only (a dummy in forward)
@group(0) @binding(3) var<uniform> p: Params;

fn row_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

// Returns (max, log Σ exp(x − max)) of row r.
fn row_stats(r: u32) -> vec2<f32> {
  let base = r * p.cols;
  var mx = -0x1.fffffep+127f;  // lowest f32
  for (var c = 0u; c < p.cols; c++) { mx = max(mx, x[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(x[base + c] - mx); }
  return vec2<f32>(mx, log(s));
}

@compute @workgroup_size(WG_X, 1)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = row_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let st = row_stats(r);
  let base = r * p.cols;
  for (var c = 0u; c < p.cols; c++) { out[base + c] = exp(x[base + c] - st.x - st.y); }
}

@compute @workgroup_size(WG_X, 1)
fn log_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = row_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let st = row_stats(r);
  let base = r * p.cols;
  for (var c = 0u; c < p.cols; c++) { out[base + c] = x[base + c] - st.x - st.y; }
}

@compute @workgroup_size(WG_X, 1)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = row_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += dy[base + c] * x[base + c]; }
  for (var c = 0u; c < p.cols; c++) { out[base + c] = x[base + c] * (dy[base + c] - s); }
}

@compute @workgroup_size(WG_X, 1)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = row_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += dy[base + c]; }
  for (var c = 0u; c < p.cols; c++) { out[base + c] = dy[base + c] - exp(x[base + c]) * s; }
}
