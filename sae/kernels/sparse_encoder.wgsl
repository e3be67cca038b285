// Encoder gradient of a sparse (TopK / BatchTopK) SAE step, written straight into SAELens'
// W_enc layout, without forming a [batch, d_sae] gradient:
//   dW_enc[c, r] += Σ_{(b, j): idx[b, j] = r} dvals[b, j] · xc[b, c]      (dW_enc [d_in, d_sae])
//   db_enc[r]    += Σ_{(b, j): idx[b, j] = r} dvals[b, j]                 (db_enc [d_sae])
// It is the backward of pre = xc W_enc + b_enc restricted to the selected (b, r) pairs.
// The engine's gatherDecodeBackward could produce dW_encᵀ too, but it also computes a dvals
// pass that is useless here (B·k·d multiply-adds) and its [d_sae, d_in] result needs a transpose.
// Same bucketing as gather_decode.wgsl (count, scan, fill, sort by position so sums have a fixed
// order), then one invocation per (r, c): the lanes of a row share one bucket (uniform loops on
// CPU adapters), reading xc rows contiguously. Entries with idx ≥ d_sae are ignored.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  batch: u32,
  k: u32,       // entries per row of dvals / idx
  d_sae: u32,
  d_in: u32,
}

@group(0) @binding(0) var<storage, read_write> dW: array<f32>;             // [d_in, d_sae] (accumulated into)
@group(0) @binding(1) var<storage, read_write> db: array<f32>;             // [d_sae] (accumulated into)
@group(0) @binding(2) var<storage, read_write> buckets: array<atomic<u32>>; // [3·d_sae + 1 + batch·k]
@group(0) @binding(3) var<storage, read> dvals: array<f32>;                // [batch, k]
@group(0) @binding(4) var<storage, read> idx: array<u32>;                  // [batch, k]
@group(0) @binding(5) var<storage, read> xc: array<f32>;                   // [batch, d_in]
@group(0) @binding(6) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

// Bucketing (layout of `buckets`, count_rows, scan_counts, fill_rows, sort_bucket): src/engine/kernels/buckets.wgsl.

// One invocation per latent: its bucket in position order, then db_enc.
@compute @workgroup_size(WG_X, 1)
fn sort_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.d_sae) { return; }
  sort_bucket(r);
  let lo = atomicLoad(&buckets[offset_at(r)]);
  let hi = atomicLoad(&buckets[offset_at(r + 1u)]);
  var sum = 0.0;
  for (var q = lo; q < hi; q++) { sum += dvals[atomicLoad(&buckets[entry_at(q)])]; }
  db[r] += sum;
}

// One invocation per (latent r, input dimension c), r-major: lanes of one latent share a bucket.
@compute @workgroup_size(WG_X, 1)
fn scatter_encoder(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
    s += dvals[e] * xc[(e / p.k) * p.d_in + c];
  }
  dW[c * p.d_sae + r] += s;
}
