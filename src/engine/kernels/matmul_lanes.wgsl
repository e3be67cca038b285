// matmul for CPU adapters (Mesa lavapipe/llvmpipe): C[m, n] = op(A)[m, k] · op(B)[k, n] (+ bias[n]) (+ C).
//
// Why this shape: llvmpipe runs a subgroup of 8 invocations as the 8 lanes of one AVX2 register
// and turns every storage load whose address is not a compile-time constant into 8 scalar loads
// with bounds checks, about ten instructions per lane. Loads, not FMAs, bound the speed, so each
// value is loaded by exactly one lane: a workgroup is one subgroup (8 invocations) computing a
// 32×32 block of C; lane l loads rows l, l+8, l+16, l+24 of the A panel and its own 4 columns of
// B, and the A values reach the other lanes through subgroupBroadcast (a register shuffle).
// Per k: 8 lane-loads for 128 FMAs per lane. Workgroup memory and barriers are slower on
// llvmpipe (DESIGN.md, install notes). Backward of matmul is matmul with transposes: no
// separate entry point.
//
// Two entry points (a WGSL entry point may use only one view of a binding): `matmul` takes any
// shape with scalar loads; `matmul_b4` (B not transposed, n % 4 == 0) loads the lane's 4 columns
// of B as one vec4, which llvmpipe fetches in one per-lane loop instead of four (about 1.4x
// faster). matmul.ts transposes a transposed B first so that it can use matmul_b4. Measured and
// rejected: unrolling k to load A as vec4 along k (spills far more: 1.7x slower), and loading
// 4 rows of a transposed A as one vec4 (slower than 4 scalar loads).
enable subgroups;

override WG_X: u32 = 8;          // must be 8: one workgroup is one subgroup of 8 lanes
override WG_Y: u32 = 1;
override TRANS_A: bool = false;  // A is stored [k, lda] (op(A) = Aᵀ) instead of [m, lda]
override TRANS_B: bool = false;  // B is stored [n, ldb] (op(B) = Bᵀ) instead of [k, ldb]
override HAS_BIAS: bool = false; // add bias[n] to every row
override ACCUMULATE: bool = false; // C += op(A)·op(B) instead of C = …

struct Params {
  m: u32,   // rows of C in this dispatch
  k: u32,   // reduction length
  n: u32,   // columns of C
  lda: u32, // row stride of A as stored
  ldb: u32, // row stride of B as stored
  a_base: u32, // element offset of op(A)[0, 0] in the bound range of A
  b_base: u32, // element offset of op(B)[0, 0] in the bound range of B
}

@group(0) @binding(0) var<storage, read_write> C: array<f32>;  // [m, n]
@group(0) @binding(1) var<storage, read> A: array<f32>;        // [m, lda] or, transposed, [k, lda]
@group(0) @binding(2) var<storage, read> B: array<f32>;        // [k, ldb] or, transposed, [n, ldb]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [n] (a dummy when !HAS_BIAS)
@group(0) @binding(4) var<uniform> p: Params;
// B seen as vec4 (used only by matmul_b4; its offsets and strides are multiples of 4).
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>;

fn a_at(i: u32, kk: u32) -> f32 {
  if (TRANS_A) { return A[p.a_base + kk * p.lda + i]; }
  return A[p.a_base + i * p.lda + kk];
}

fn b_at(kk: u32, j: u32) -> f32 {
  if (TRANS_B) { return B[p.b_base + j * p.ldb + kk]; }
  return B[p.b_base + kk * p.ldb + j];
}

@compute @workgroup_size(WG_X, 1)
fn matmul(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = wid.y * 32u;                    // first row of this block
  let j = wid.x * 32u + lane * 4u;         // this lane's first column
  // Rows this lane loads (clamped: out-of-range rows compute garbage that is never stored).
  let r0 = min(i0 + lane, p.m - 1u);
  let r1 = min(i0 + lane + 8u, p.m - 1u);
  let r2 = min(i0 + lane + 16u, p.m - 1u);
  let r3 = min(i0 + lane + 24u, p.m - 1u);
  let jc = vec4<u32>(min(j, p.n - 1u), min(j + 1u, p.n - 1u), min(j + 2u, p.n - 1u), min(j + 3u, p.n - 1u));
  var acc: array<vec4<f32>, 32>;           // acc[r] = C[i0 + r, j .. j+3]
  for (var kk = 0u; kk < p.k; kk++) {
    let b = vec4<f32>(b_at(kk, jc.x), b_at(kk, jc.y), b_at(kk, jc.z), b_at(kk, jc.w));
    let a0 = a_at(r0, kk);
    let a1 = a_at(r1, kk);
    let a2 = a_at(r2, kk);
    let a3 = a_at(r3, kk);
    acc[0] = fma(vec4(subgroupBroadcast(a0, 0u)), b, acc[0]);
    acc[1] = fma(vec4(subgroupBroadcast(a0, 1u)), b, acc[1]);
    acc[2] = fma(vec4(subgroupBroadcast(a0, 2u)), b, acc[2]);
    acc[3] = fma(vec4(subgroupBroadcast(a0, 3u)), b, acc[3]);
    acc[4] = fma(vec4(subgroupBroadcast(a0, 4u)), b, acc[4]);
    acc[5] = fma(vec4(subgroupBroadcast(a0, 5u)), b, acc[5]);
    acc[6] = fma(vec4(subgroupBroadcast(a0, 6u)), b, acc[6]);
    acc[7] = fma(vec4(subgroupBroadcast(a0, 7u)), b, acc[7]);
    acc[8] = fma(vec4(subgroupBroadcast(a1, 0u)), b, acc[8]);
    acc[9] = fma(vec4(subgroupBroadcast(a1, 1u)), b, acc[9]);
    acc[10] = fma(vec4(subgroupBroadcast(a1, 2u)), b, acc[10]);
    acc[11] = fma(vec4(subgroupBroadcast(a1, 3u)), b, acc[11]);
    acc[12] = fma(vec4(subgroupBroadcast(a1, 4u)), b, acc[12]);
    acc[13] = fma(vec4(subgroupBroadcast(a1, 5u)), b, acc[13]);
    acc[14] = fma(vec4(subgroupBroadcast(a1, 6u)), b, acc[14]);
    acc[15] = fma(vec4(subgroupBroadcast(a1, 7u)), b, acc[15]);
    acc[16] = fma(vec4(subgroupBroadcast(a2, 0u)), b, acc[16]);
    acc[17] = fma(vec4(subgroupBroadcast(a2, 1u)), b, acc[17]);
    acc[18] = fma(vec4(subgroupBroadcast(a2, 2u)), b, acc[18]);
    acc[19] = fma(vec4(subgroupBroadcast(a2, 3u)), b, acc[19]);
    acc[20] = fma(vec4(subgroupBroadcast(a2, 4u)), b, acc[20]);
    acc[21] = fma(vec4(subgroupBroadcast(a2, 5u)), b, acc[21]);
    acc[22] = fma(vec4(subgroupBroadcast(a2, 6u)), b, acc[22]);
    acc[23] = fma(vec4(subgroupBroadcast(a2, 7u)), b, acc[23]);
    acc[24] = fma(vec4(subgroupBroadcast(a3, 0u)), b, acc[24]);
    acc[25] = fma(vec4(subgroupBroadcast(a3, 1u)), b, acc[25]);
    acc[26] = fma(vec4(subgroupBroadcast(a3, 2u)), b, acc[26]);
    acc[27] = fma(vec4(subgroupBroadcast(a3, 3u)), b, acc[27]);
    acc[28] = fma(vec4(subgroupBroadcast(a3, 4u)), b, acc[28]);
    acc[29] = fma(vec4(subgroupBroadcast(a3, 5u)), b, acc[29]);
    acc[30] = fma(vec4(subgroupBroadcast(a3, 6u)), b, acc[30]);
    acc[31] = fma(vec4(subgroupBroadcast(a3, 7u)), b, acc[31]);
  }
  var add = vec4<f32>(0.0);
  if (HAS_BIAS) { add = vec4<f32>(bias[jc.x], bias[jc.y], bias[jc.z], bias[jc.w]); }
  for (var r = 0u; r < 32u; r++) {
    let i = i0 + r;
    if (i >= p.m) { break; }
    var v = acc[r] + add;
    for (var c = 0u; c < 4u; c++) {
      if (j + c < p.n) {
        let at = i * p.n + j + c;
        if (ACCUMULATE) { C[at] += v[c]; } else { C[at] = v[c]; }
      }
    }
  }
}

// acc[8q + l] += broadcast(x_q from lane l) · b, for q = 0..3 and l = 0..7: one rank-1 update
// of the 32×4 block each lane holds.
fn rank1(acc: ptr<function, array<vec4<f32>, 32>>, x0: f32, x1: f32, x2: f32, x3: f32, b: vec4<f32>) {
  (*acc)[0] = fma(vec4(subgroupBroadcast(x0, 0u)), b, (*acc)[0]);
  (*acc)[1] = fma(vec4(subgroupBroadcast(x0, 1u)), b, (*acc)[1]);
  (*acc)[2] = fma(vec4(subgroupBroadcast(x0, 2u)), b, (*acc)[2]);
  (*acc)[3] = fma(vec4(subgroupBroadcast(x0, 3u)), b, (*acc)[3]);
  (*acc)[4] = fma(vec4(subgroupBroadcast(x0, 4u)), b, (*acc)[4]);
  (*acc)[5] = fma(vec4(subgroupBroadcast(x0, 5u)), b, (*acc)[5]);
  (*acc)[6] = fma(vec4(subgroupBroadcast(x0, 6u)), b, (*acc)[6]);
  (*acc)[7] = fma(vec4(subgroupBroadcast(x0, 7u)), b, (*acc)[7]);
  (*acc)[8] = fma(vec4(subgroupBroadcast(x1, 0u)), b, (*acc)[8]);
  (*acc)[9] = fma(vec4(subgroupBroadcast(x1, 1u)), b, (*acc)[9]);
  (*acc)[10] = fma(vec4(subgroupBroadcast(x1, 2u)), b, (*acc)[10]);
  (*acc)[11] = fma(vec4(subgroupBroadcast(x1, 3u)), b, (*acc)[11]);
  (*acc)[12] = fma(vec4(subgroupBroadcast(x1, 4u)), b, (*acc)[12]);
  (*acc)[13] = fma(vec4(subgroupBroadcast(x1, 5u)), b, (*acc)[13]);
  (*acc)[14] = fma(vec4(subgroupBroadcast(x1, 6u)), b, (*acc)[14]);
  (*acc)[15] = fma(vec4(subgroupBroadcast(x1, 7u)), b, (*acc)[15]);
  (*acc)[16] = fma(vec4(subgroupBroadcast(x2, 0u)), b, (*acc)[16]);
  (*acc)[17] = fma(vec4(subgroupBroadcast(x2, 1u)), b, (*acc)[17]);
  (*acc)[18] = fma(vec4(subgroupBroadcast(x2, 2u)), b, (*acc)[18]);
  (*acc)[19] = fma(vec4(subgroupBroadcast(x2, 3u)), b, (*acc)[19]);
  (*acc)[20] = fma(vec4(subgroupBroadcast(x2, 4u)), b, (*acc)[20]);
  (*acc)[21] = fma(vec4(subgroupBroadcast(x2, 5u)), b, (*acc)[21]);
  (*acc)[22] = fma(vec4(subgroupBroadcast(x2, 6u)), b, (*acc)[22]);
  (*acc)[23] = fma(vec4(subgroupBroadcast(x2, 7u)), b, (*acc)[23]);
  (*acc)[24] = fma(vec4(subgroupBroadcast(x3, 0u)), b, (*acc)[24]);
  (*acc)[25] = fma(vec4(subgroupBroadcast(x3, 1u)), b, (*acc)[25]);
  (*acc)[26] = fma(vec4(subgroupBroadcast(x3, 2u)), b, (*acc)[26]);
  (*acc)[27] = fma(vec4(subgroupBroadcast(x3, 3u)), b, (*acc)[27]);
  (*acc)[28] = fma(vec4(subgroupBroadcast(x3, 4u)), b, (*acc)[28]);
  (*acc)[29] = fma(vec4(subgroupBroadcast(x3, 5u)), b, (*acc)[29]);
  (*acc)[30] = fma(vec4(subgroupBroadcast(x3, 6u)), b, (*acc)[30]);
  (*acc)[31] = fma(vec4(subgroupBroadcast(x3, 7u)), b, (*acc)[31]);
}

// Writes acc (+ bias) to C: acc[8q + l] is row i0 + 8q + l. Lanes whose columns start past n
// store nothing.
fn store_block(acc: ptr<function, array<vec4<f32>, 32>>, i0: u32, j: u32) {
  if (j >= p.n) { return; }
  var add = vec4<f32>(0.0);
  if (HAS_BIAS) { add = vec4<f32>(bias[j], bias[j + 1u], bias[j + 2u], bias[j + 3u]); }
  for (var q = 0u; q < 4u; q++) {
    for (var l = 0u; l < 8u; l++) {
      let i = i0 + 8u * q + l;
      if (i >= p.m) { continue; }
      let v = (*acc)[8u * q + l] + add;
      let at = i * p.n + j;
      if (ACCUMULATE) {
        C[at] += v.x; C[at + 1u] += v.y; C[at + 2u] += v.z; C[at + 3u] += v.w;
      } else {
        C[at] = v.x; C[at + 1u] = v.y; C[at + 2u] = v.z; C[at + 3u] = v.w;
      }
    }
  }
}

// B not transposed, n % 4 == 0, ldb and b_base multiples of 4. Lane l holds rows 8q + l.
@compute @workgroup_size(WG_X, 1)
fn matmul_b4(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = wid.y * 32u;
  let j = wid.x * 32u + lane * 4u;
  let jb = (p.b_base + min(j, p.n - 4u)) / 4u;        // clamped vec4 column of B
  let ldb4 = p.ldb / 4u;
  let r0 = min(i0 + lane, p.m - 1u);
  let r1 = min(i0 + lane + 8u, p.m - 1u);
  let r2 = min(i0 + lane + 16u, p.m - 1u);
  let r3 = min(i0 + lane + 24u, p.m - 1u);
  var acc: array<vec4<f32>, 32>;
  for (var kk = 0u; kk < p.k; kk++) {
    let b = B4[kk * ldb4 + jb];
    rank1(&acc, a_at(r0, kk), a_at(r1, kk), a_at(r2, kk), a_at(r3, kk), b);
  }
  store_block(&acc, i0, j);
}
