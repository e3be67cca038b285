// Counting sort of the (b, j) pairs of idx [batch, k] into one bucket per row r < d_sae, shared by
// gather_decode.wgsl (decoder gradient) and sae/kernels/sparse_encoder.wgsl (encoder gradient);
// the kernel appends this file to its own. count_rows, scan_counts, fill_rows bucket the pairs,
// sort_bucket(r) puts a bucket in position order so every sum over it has a fixed order.
// The including file declares p (batch, k, d_sae), idx, buckets, index() and WG_X.

// Layout of `buckets`: counts at [0, d), cursors at [d, 2d), offsets at [2d, 3d + 1), entries after.
fn counts_at(r: u32) -> u32 { return r; }
fn cursor_at(r: u32) -> u32 { return p.d_sae + r; }
fn offset_at(r: u32) -> u32 { return 2u * p.d_sae + r; }
fn entry_at(s: u32) -> u32 { return 3u * p.d_sae + 1u + s; }

@compute @workgroup_size(WG_X, 1)
fn count_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.batch * p.k) { return; }
  let r = idx[i];
  if (r < p.d_sae) { atomicAdd(&buckets[counts_at(r)], 1u); }
}

// One invocation: exclusive prefix sum of the counts into offsets; cursors reset to 0.
@compute @workgroup_size(1, 1)
fn scan_counts() {
  var total = 0u;
  for (var r = 0u; r < p.d_sae; r++) {
    atomicStore(&buckets[offset_at(r)], total);
    total += atomicLoad(&buckets[counts_at(r)]);
    atomicStore(&buckets[cursor_at(r)], 0u);
  }
  atomicStore(&buckets[offset_at(p.d_sae)], total);
}

@compute @workgroup_size(WG_X, 1)
fn fill_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wid, nwg, lid);
  if (i >= p.batch * p.k) { return; }
  let r = idx[i];
  if (r >= p.d_sae) { return; }
  let slot = atomicLoad(&buckets[offset_at(r)]) + atomicAdd(&buckets[cursor_at(r)], 1u);
  atomicStore(&buckets[entry_at(slot)], i);
}

// Insertion sort of row r's bucket by position.
fn sort_bucket(r: u32) {
  let lo = atomicLoad(&buckets[offset_at(r)]);
  let hi = atomicLoad(&buckets[offset_at(r + 1u)]);
  for (var s = lo + 1u; s < hi; s++) {
    let e = atomicLoad(&buckets[entry_at(s)]);
    var t = s;
    loop {
      if (t <= lo) { break; }
      let prev = atomicLoad(&buckets[entry_at(t - 1u)]);
      if (prev <= e) { break; }
      atomicStore(&buckets[entry_at(t)], prev);
      t -= 1u;
    }
    atomicStore(&buckets[entry_at(t)], e);
  }
}
