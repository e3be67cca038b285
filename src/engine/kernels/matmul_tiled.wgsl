// matmul for GPUs (and CPU adapters without subgroups): C[m, n] = op(A)[m, k] · op(B)[k, n]
// (+ bias[n]) (+ C). Classic workgroup-memory tiling: a 16×16 workgroup computes a 64×64 block
// of C, each invocation a 4×4 register block, stepping through k in tiles of 16 that the
// workgroup stages in workgroup memory. Backward of matmul is matmul with transposes.

override WG_X: u32 = 16;          // must be 16
override WG_Y: u32 = 16;          // must be 16
override TRANS_A: bool = false;   // A is stored [k, lda] instead of [m, lda]
override TRANS_B: bool = false;   // B is stored [n, ldb] instead of [k, ldb]
override HAS_BIAS: bool = false;  // add bias[n] to every row
override ACCUMULATE: bool = false; // C += op(A)·op(B)

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
@group(0) @binding(1) var<storage, read> A: array<f32>;        // [m, lda] or [k, lda]
@group(0) @binding(2) var<storage, read> B: array<f32>;        // [k, ldb] or [n, ldb]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [n] (a dummy when !HAS_BIAS)
@group(0) @binding(4) var<uniform> p: Params;

const TILE: u32 = 64u;
const KT: u32 = 16u;
var<workgroup> As: array<array<f32, 65>, 16>;  // [KT, TILE] (+1 column against bank conflicts)
var<workgroup> Bs: array<array<f32, 65>, 16>;  // [KT, TILE]

fn a_at(i: u32, kk: u32) -> f32 {
  if (i >= p.m || kk >= p.k) { return 0.0; }
  if (TRANS_A) { return A[p.a_base + kk * p.lda + i]; }
  return A[p.a_base + i * p.lda + kk];
}

fn b_at(kk: u32, j: u32) -> f32 {
  if (j >= p.n || kk >= p.k) { return 0.0; }
  if (TRANS_B) { return B[p.b_base + j * p.ldb + kk]; }
  return B[p.b_base + kk * p.ldb + j];
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = wid.y * TILE;
  let j0 = wid.x * TILE;
  let t = lid.y * 16u + lid.x;             // 0..255
  var acc: array<vec4<f32>, 4>;            // acc[r] = C[i0 + lid.y*4 + r, j0 + lid.x*4 .. +3]
  for (var k0 = 0u; k0 < p.k; k0 += KT) {
    // 256 invocations stage 16×64 values of each operand: 4 each.
    for (var q = 0u; q < 4u; q++) {
      let e = t * 4u + q;                  // 0..1023
      let kk = e / TILE;
      let x = e % TILE;
      As[kk][x] = a_at(i0 + x, k0 + kk);
      Bs[kk][x] = b_at(k0 + kk, j0 + x);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let b = vec4<f32>(Bs[kk][lid.x * 4u], Bs[kk][lid.x * 4u + 1u], Bs[kk][lid.x * 4u + 2u], Bs[kk][lid.x * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r] = fma(vec4(As[kk][lid.y * 4u + r]), b, acc[r]);
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + lid.y * 4u + r;
    if (i >= p.m) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + lid.x * 4u + c;
      if (j >= p.n) { continue; }
      var v = acc[r][c];
      if (HAS_BIAS) { v += bias[j]; }
      let at = i * p.n + j;
      if (ACCUMULATE) { C[at] += v; } else { C[at] = v; }
    }
  }
}
