"""Peer for `npm run bench -- probes`: scikit-learn's LogisticRegression (lbfgs) on the same data.

Usage: python3 _probes_peer.py DIR RUNS. DIR holds meta.json {"n_train","n_test","d","c","tol",
"max_iter"} and raw little-endian float32 train.f32 [n_train, d], test.f32 [n_test, d], int32
y_train.i32, y_test.i32. Times `fit` (which includes sklearn's float64 conversion of X, part of
what a user waits for) RUNS times and prints one JSON line: the median seconds, accuracies,
iterations, the weight vector, and the BLAS numpy loaded.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression


def loaded_blas() -> str:
    with open("/proc/self/maps") as maps:
        names = {os.path.basename(line.split()[-1]) for line in maps if "openblas" in line or "libblas" in line}
    return ", ".join(sorted(names)) or "unknown BLAS"


def main(folder: str, runs: int) -> None:
    meta = json.load(open(f"{folder}/meta.json"))
    d = meta["d"]
    x_train = np.fromfile(f"{folder}/train.f32", dtype="<f4").reshape(meta["n_train"], d)
    x_test = np.fromfile(f"{folder}/test.f32", dtype="<f4").reshape(meta["n_test"], d)
    y_train = np.fromfile(f"{folder}/y_train.i32", dtype="<i4")
    y_test = np.fromfile(f"{folder}/y_test.i32", dtype="<i4")
    times = []
    for _ in range(runs):
        model = LogisticRegression(C=meta["c"], solver="lbfgs", tol=meta["tol"], max_iter=meta["max_iter"])
        start = time.perf_counter()
        model.fit(x_train, y_train)
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "peer": f"scikit-learn {sklearn.__version__} lbfgs (numpy {np.__version__}, {loaded_blas()})",
        "seconds": statistics.median(times),
        "train_acc": float(model.score(x_train, y_train)),
        "test_acc": float(model.score(x_test, y_test)),
        "n_iter": int(model.n_iter_[0]),
        "weight": model.coef_[0].tolist(),
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
