// Reductions of a [rows, cols] matrix: along each row (out [rows]) or down each column
// (out [cols]). One invocation per output, summing sequentially in f32. No backward entry
// points: d(sum)/dx = 1, d(mean)/dx = 1/n, d(norm)/dx = x/norm are elementwise.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
override OP: u32 = 0;  // 0 sum, 1 mean, 2 max, 3 L2 norm
// Column reductions of matrices larger than one storage binding run block of rows by block:
override ACCUMULATE: bool = false;  // start from out (the raw sum / max / sum of squares so far)
override FINISH: bool = true;       // turn the raw value into the result (mean, norm) at the end

struct Params {
  rows: u32,   // rows in this block
  cols: u32,
  total: u32,  // length reduced over in all blocks (the mean's divisor)
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // [rows] or [cols]
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [rows, cols]
@group(0) @binding(2) var<uniform> p: Params;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG_X + lid.x;
}

fn finish(acc: f32) -> f32 {
  if (!FINISH) { return acc; }
  if (OP == 1u) { return acc / f32(p.total); }
  if (OP == 3u) { return sqrt(acc); }
  return acc;
}

fn combine(acc: f32, v: f32) -> f32 {
  if (OP == 2u) { return max(acc, v); }
  if (OP == 3u) { return acc + v * v; }
  return acc + v;
}

fn start() -> f32 {
  if (OP == 2u) { return -0x1.fffffep+127f; }  // lowest f32 (a -inf literal is not representable)
  return 0.0;
}

@compute @workgroup_size(WG_X, 1)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  var acc = start();
  for (var c = 0u; c < p.cols; c++) { acc = combine(acc, x[r * p.cols + c]); }
  out[r] = finish(acc);
}

@compute @workgroup_size(WG_X, 1)
fn reduce_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = index(wid, nwg, lid);
  if (c >= p.cols) { return; }
  var acc = start();
  if (ACCUMULATE) { acc = out[c]; }
  for (var r = 0u; r < p.rows; r++) { acc = combine(acc, x[r * p.cols + c]); }
  out[c] = finish(acc);
}
