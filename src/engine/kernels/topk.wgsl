// Row-wise top-k: for each row of x [rows, cols], the k largest values and their column
// indices, sorted descending; ties go to the lower index; NaN ranks below every number. One
// invocation per row keeps a min-heap of its best k in the output row itself
// (O(cols · log k)), then heap-sorts it. The gradient of top-k is a scatter of dvalues to the
// indices, which gatherDecode's backward performs for the SAE use: no backward entry here.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
  k: u32,      // kept per row
}

@group(0) @binding(0) var<storage, read_write> values: array<f32>;   // [rows, k]
@group(0) @binding(1) var<storage, read_write> indices: array<u32>;  // [rows, k]
@group(0) @binding(2) var<storage, read> x: array<f32>;              // [rows, cols]
@group(0) @binding(3) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

// Order-preserving key: a larger float gives a larger u32; NaN gives 0 (lowest).
fn key(v: f32) -> u32 {
  if (v != v) { return 0u; }
  let u = bitcast<u32>(v);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

// a ranks below b: smaller key, or equal key and larger index.
fn worse(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka < kb || (ka == kb && ia > ib);
}

fn sift_down(base: u32, start: u32, size: u32) {
  var i = start;
  loop {
    let l = 2u * i + 1u;
    if (l >= size) { break; }
    var w = l;
    let r = l + 1u;
    if (r < size && worse(key(values[base + r]), indices[base + r], key(values[base + l]), indices[base + l])) { w = r; }
    if (!worse(key(values[base + w]), indices[base + w], key(values[base + i]), indices[base + i])) { break; }
    let tv = values[base + i]; values[base + i] = values[base + w]; values[base + w] = tv;
    let ti = indices[base + i]; indices[base + i] = indices[base + w]; indices[base + w] = ti;
    i = w;
  }
}

@compute @workgroup_size(WG_X, 1)
fn topk_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.k;
  let row = r * p.cols;
  // Fill the heap with the first k columns, then heapify (root = worst kept).
  for (var j = 0u; j < p.k; j++) { values[base + j] = x[row + j]; indices[base + j] = j; }
  for (var s = p.k / 2u; s > 0u; s--) { sift_down(base, s - 1u, p.k); }
  for (var j = p.k; j < p.cols; j++) {
    let v = x[row + j];
    if (worse(key(values[base]), indices[base], key(v), j)) {
      values[base] = v;
      indices[base] = j;
      sift_down(base, 0u, p.k);
    }
  }
  // Heap sort: repeatedly move the worst to the end, giving descending order.
  for (var end = p.k; end > 1u; end--) {
    let last = end - 1u;
    let tv = values[base]; values[base] = values[base + last]; values[base + last] = tv;
    let ti = indices[base]; indices[base] = indices[base + last]; indices[base + last] = ti;
    sift_down(base, 0u, last);
  }
}

