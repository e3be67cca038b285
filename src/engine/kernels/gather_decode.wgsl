// Sparse (gather) decode, the TopK SAE decoder, and its backward.
//   forward:  y[b, c] = Σ_j vals[b, j] · W[idx[b, j], c]        (vals, idx: [batch, k]; W: [d_sae, d_in])
//   backward: dvals[b, j] = Σ_c dy[b, c] · W[idx[b, j], c]
//             dW[r, :] += Σ_{(b, j): idx[b, j] = r} vals[b, j] · dy[b, :]  — only the selected rows
// dW is a scatter-add without float atomics: the (b, j) pairs are bucketed by row (counting sort:
// count_rows, scan_counts, fill_rows), each bucket sorted by position so the sum order is fixed
// (sort_rows), and scatter_rows sums each selected row's bucket. Entries with idx ≥ d_sae are
// ignored. Forward saves nothing new: backward reads vals and idx again.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  batch: u32,
  k: u32,
  d_sae: u32,
  d_in: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;       // y [batch, d_in], dvals [batch, k] or dW [d_sae, d_in]
@group(0) @binding(1) var<storage, read_write> buckets: array<atomic<u32>>; // [3·d_sae + 1 + batch·k]: counts, cursors, offsets, entries
@group(0) @binding(2) var<storage, read> vals: array<f32>;            // [batch, k]
@group(0) @binding(3) var<storage, read> idx: array<u32>;             // [batch, k]
@group(0) @binding(4) var<storage, read> W: array<f32>;               // [d_sae, d_in]
@group(0) @binding(5) var<storage, read> dy: array<f32>;              // [batch, d_in] (backward; a dummy in forward)
@group(0) @binding(6) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

// Bucketing (layout of `buckets`, count_rows, scan_counts, fill_rows, sort_bucket): buckets.wgsl.

@compute @workgroup_size(WG_X, 1)
fn decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.batch * p.d_in) { return; }
  let b = i / p.d_in;
  let c = i % p.d_in;
  var s = 0.0;
  for (var j = 0u; j < p.k; j++) {
    let r = idx[b * p.k + j];
    if (r < p.d_sae) { s += vals[b * p.k + j] * W[r * p.d_in + c]; }
  }
  out[i] = s;
}

@compute @workgroup_size(WG_X, 1)
fn decode_backward_values(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.batch * p.k) { return; }
  let b = i / p.k;
  let r = idx[i];
  var s = 0.0;
  if (r < p.d_sae) {
    for (var c = 0u; c < p.d_in; c++) { s += dy[b * p.d_in + c] * W[r * p.d_in + c]; }
  }
  out[i] = s;
}

// One invocation per row: its bucket in position order (deterministic sums).
@compute @workgroup_size(WG_X, 1)
fn sort_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.d_sae) { return; }
  sort_bucket(r);
}

// One invocation per (row, column) of dW; rows nobody selected are left untouched.
@compute @workgroup_size(WG_X, 1)
fn scatter_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.d_sae * p.d_in) { return; }
  let r = i / p.d_in;
  let c = i % p.d_in;
  let lo = atomicLoad(&buckets[offset_at(r)]);
  let hi = atomicLoad(&buckets[offset_at(r + 1u)]);
  if (lo == hi) { return; }
  var s = 0.0;
  for (var q = lo; q < hi; q++) {
    let e = atomicLoad(&buckets[entry_at(q)]);
    s += vals[e] * dy[(e / p.k) * p.d_in + c];
  }
  out[i] += s;
}
