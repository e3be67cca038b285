// Batch-wide top-k (BatchTopK SAEs, Bussmann et al. 2024): keep the k·B largest activations of
// a whole batch x [rows, cols] rather than k per row. Radix select finds the (k·B)-th largest
// value on order-preserving u32 keys, 8 bits per pass from the top (4 passes of
// batch_histogram + batch_select); batch_apply then keeps x where key(x) ≥ that key (ties at
// the threshold may keep a few more than k·B) and batch_threshold writes the threshold value.
// The gradient is dy masked by the kept set: relu_backward / jumprelu_backward_input cover it.

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
const PER_INVOCATION: u32 = 64u;  // elements each invocation of batch_histogram visits

struct Params {
  count: u32,  // rows · cols
  rank: u32,   // k·B, the rank wanted (1-based); set in state by the host
  shift: u32,  // bit position of this pass's digit (24, 16, 8, 0)
}

// state: [0] key prefix found so far, [1] mask of its known bits, [2] rank still wanted inside
// the prefix (1-based), [3] unused, [4 .. 260) the digit histogram of this pass.
@group(0) @binding(0) var<storage, read_write> out: array<f32>;         // [rows, cols] kept values, or [1] threshold
@group(0) @binding(1) var<storage, read_write> state: array<atomic<u32>>; // [260]
@group(0) @binding(2) var<storage, read> x: array<f32>;                 // [rows, cols]
@group(0) @binding(3) var<uniform> p: Params;

// Order-preserving key: a larger float gives a larger u32; NaN gives 0 (lowest).
fn key(v: f32) -> u32 {
  if (v != v) { return 0u; }
  let u = bitcast<u32>(v);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

fn unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

var<workgroup> local_hist: array<atomic<u32>, 256>;

@compute @workgroup_size(WG_X, 1)
fn batch_histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  for (var b = lid.x; b < 256u; b += WG_X) { atomicStore(&local_hist[b], 0u); }
  workgroupBarrier();
  let prefix = atomicLoad(&state[0]);
  let mask = atomicLoad(&state[1]);
  let start = (wid.y * nwg.x + wid.x) * WG_X * PER_INVOCATION;
  for (var q = 0u; q < PER_INVOCATION; q++) {
    let i = start + q * WG_X + lid.x;
    if (i < p.count) {
      let kk = key(x[i]);
      if ((kk & mask) == prefix) { atomicAdd(&local_hist[(kk >> p.shift) & 255u], 1u); }
    }
  }
  workgroupBarrier();
  for (var b = lid.x; b < 256u; b += WG_X) {
    let c = atomicLoad(&local_hist[b]);
    if (c != 0u) { atomicAdd(&state[4u + b], c); }
  }
}

// One invocation: picks the digit holding the wanted rank, extends the prefix, clears the histogram.
@compute @workgroup_size(1, 1)
fn batch_select() {
  var wanted = atomicLoad(&state[2]);
  var cum = 0u;
  var digit = 0u;
  for (var d = 256u; d > 0u; d--) {
    let c = atomicLoad(&state[4u + d - 1u]);
    if (cum + c >= wanted) { digit = d - 1u; break; }
    cum += c;
  }
  atomicStore(&state[0], atomicLoad(&state[0]) | (digit << p.shift));
  atomicStore(&state[1], atomicLoad(&state[1]) | (255u << p.shift));
  atomicStore(&state[2], wanted - cum);
  for (var b = 0u; b < 256u; b++) { atomicStore(&state[4u + b], 0u); }
}

@compute @workgroup_size(WG_X, 1)
fn batch_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG_X + lid.x;
  if (i >= p.count) { return; }
  let v = x[i];
  out[i] = select(0.0, v, key(v) >= atomicLoad(&state[0]));
}

@compute @workgroup_size(1, 1)
fn batch_threshold() {
  out[0] = unkey(atomicLoad(&state[0]));
}
