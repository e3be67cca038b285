#!/usr/bin/python3
"""Peer of `npm run bench -- sae`: one TopK SAE training step in PyTorch on the CPU, SAELens math.

Dense, as SAELens' TopK SAE trains by default: pre = (x - b_dec) W_enc + b_enc, top-k of each
row (values through ReLU) scattered into a dense [B, d_sae] activation matrix, x_hat = f W_dec +
b_dec, loss = ||x - x_hat||^2 summed over d and averaged over tokens; backward by autograd; the
decoder gradient's component along each (unit) row removed; torch.optim.Adam (lr 3e-4); decoder
rows renormalised. Synthetic data (unit-variance Gaussian), uploaded once, as interp's side.

Usage: _sae_peer.py B D_IN D_SAE K STEPS THREADS
Prints {"peer", "blas", "threads"} then {"tokens_per_s", "tokens_per_cpu_s", "median_s", "times"}
(tokens per CPU-second of this process: less sensitive to other load on a shared machine).
Run with Debian's /usr/bin/python3 (python3-torch on OpenBLAS, libopenblas0-pthread).
INTERP_BENCH_TORCH_DEVICE=cuda runs the same step on a CUDA GPU instead (for a GPU-to-GPU figure
on a machine that has one; each timed step then ends with torch.cuda.synchronize()).
"""
import json
import os
import sys
import time

import torch


def loaded_blas() -> str:
    with open("/proc/self/maps") as maps:
        names = {line.split()[-1] for line in maps if "blas" in line or "lapack" in line}
    return ", ".join(sorted(os.path.basename(n) for n in names)) or "unknown"


def main() -> None:
    b, d, m, k, steps, threads = (int(v) for v in sys.argv[1:7])
    device = torch.device(os.environ.get("INTERP_BENCH_TORCH_DEVICE", "cpu"))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch.ones(2, 2) @ torch.ones(2, 2)
    blas = loaded_blas()
    backend = "CUDA" if device.type == "cuda" else "OpenBLAS" if "openblas" in blas.lower() else "MKL" if "mkl" in blas.lower() else "reference BLAS"
    name = f"torch {torch.__version__.split('+')[0]} + {backend} (dense TopK step)"
    print(json.dumps({"peer": name, "blas": blas, "threads": torch.get_num_threads()}), flush=True)

    w_dec = torch.randn(m, d, device=device)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    W_dec = torch.nn.Parameter(w_dec)
    W_enc = torch.nn.Parameter(w_dec.t().clone())
    b_enc = torch.nn.Parameter(torch.zeros(m, device=device))
    b_dec = torch.nn.Parameter(torch.zeros(d, device=device))
    opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=3e-4)
    x = torch.randn(b, d, device=device)

    def step() -> None:
        pre = (x - b_dec) @ W_enc + b_enc
        top = pre.topk(k, dim=-1)
        f = torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        x_hat = f @ W_dec + b_dec
        loss = (x_hat - x).pow(2).sum(-1).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        with torch.no_grad():
            g = W_dec.grad
            g.sub_((g * W_dec).sum(-1, keepdim=True) * W_dec)  # remove the parallel component (unit rows)
        opt.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=-1, keepdim=True))

    step()
    sync()
    times = []
    cpu_start = time.process_time()
    for _ in range(steps):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"tokens_per_s": b / median, "tokens_per_cpu_s": b * steps / cpu, "median_s": median, "times": times}), flush=True)


if __name__ == "__main__":
    main()
