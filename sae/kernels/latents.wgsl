// Per-latent bookkeeping of SAE activations, and the sparse → dense scatter of top-k gradients.
//   count_dense:   counts[c] += #{r : f[r, c] > 0}                 (f dense [rows, cols])
//   count_sparse:  counts[idx[r, j]] += 1 where vals[r, j] > 0     (vals, idx [rows, k])
//   count_rows:    counts[r] += #{c : f[r, c] > 0}                 (one invocation per row; BatchTopK's widest row)
//   scatter_dense: dense[r, idx[r, j]] += vals[r, j]               (one invocation per row, so
//                  no two invocations write one element: indices within a row are distinct)
// counts feed dead-latent tracking (Gao et al. 2024: dead = no firing in the last N tokens) and
// the density histogram. No backward: these are bookkeeping, and scatter_dense is itself the
// backward of a gather.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,  // d_sae
  k: u32,     // entries per row of vals / idx (sparse entries only)
}

@group(0) @binding(0) var<storage, read_write> counts: array<atomic<u32>>; // [cols]
@group(0) @binding(1) var<storage, read_write> dense: array<f32>;          // [rows, cols]
@group(0) @binding(2) var<storage, read> vals: array<f32>;                 // [rows, cols] or [rows, k]
@group(0) @binding(3) var<storage, read> idx: array<u32>;                  // [rows, k]
@group(0) @binding(4) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

@compute @workgroup_size(WG_X, 1)
fn count_dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  if (vals[i] > 0.0) { atomicAdd(&counts[i % p.cols], 1u); }
}

@compute @workgroup_size(WG_X, 1)
fn count_sparse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.rows * p.k) { return; }
  let c = idx[i];
  if (c < p.cols && vals[i] > 0.0) { atomicAdd(&counts[c], 1u); }
}

@compute @workgroup_size(WG_X, 1)
fn scatter_dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  for (var j = 0u; j < p.k; j++) {
    let c = idx[r * p.k + j];
    if (c < p.cols) { dense[r * p.cols + c] += vals[r * p.k + j]; }
  }
}

@compute @workgroup_size(WG_X, 1)
fn count_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  var n = 0u;
  for (var c = 0u; c < p.cols; c++) { if (vals[r * p.cols + c] > 0.0) { n += 1u; } }
  atomicAdd(&counts[r], n);
}
