"""Peer for `npm run bench -- engine`: PyTorch matmul GFLOPS on the CPU, one JSON object per line.

Usage: python3 _engine_peer.py M,K,N,VARIANT[,REPEATS] ...   (VARIANT: NN, TN = A transposed, NT = B transposed)
Prints {"peer": ..., "blas": ..., "threads": ...} first, then {"case": ..., "gflops": ...,
"gflop_per_cpu_s": ...} per case (median of REPEATS timed runs after one warm-up; work per
CPU-second of the process over those runs, which other load on the machine affects less). Debian's python3-torch must use OpenBLAS
(libopenblas0-pthread); the first line says which BLAS library the process actually loaded.
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
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    torch.ones(2, 2) @ torch.ones(2, 2)  # load the BLAS before reporting it
    blas = loaded_blas()
    name = f"torch {torch.__version__.split('+')[0]} + {'OpenBLAS' if 'openblas' in blas.lower() else 'reference BLAS'}"
    print(json.dumps({"peer": name, "blas": blas, "threads": torch.get_num_threads()}), flush=True)
    for spec in sys.argv[1:]:
        parts = spec.split(",")
        m, k, n = (int(v) for v in parts[:3])
        variant = parts[3]
        repeats = int(parts[4]) if len(parts) > 4 else 5
        a = torch.randn(k, m) if variant == "TN" else torch.randn(m, k)
        b = torch.randn(n, k) if variant == "NT" else torch.randn(k, n)
        out = torch.empty(m, n)

        def run() -> None:
            torch.matmul(a.t() if variant == "TN" else a, b.t() if variant == "NT" else b, out=out)

        run()
        times = []
        cpu_start = time.process_time()
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu_start
        times.sort()
        median = times[len(times) // 2]
        flop = 2 * m * k * n
        print(json.dumps({"case": spec, "gflops": flop / median / 1e9, "median_s": median, "gflop_per_cpu_s": flop * repeats / cpu / 1e9}), flush=True)


if __name__ == "__main__":
    main()
