"""scikit-learn reference for interp's logistic probes (test/probes/sklearn.test.ts, test/bench/probes.ts).

Reads DIR/meta.json {"n_train", "n_test", "d", "classes", "c", "tol", "max_iter"} and raw
little-endian float32 DIR/train.f32 [n_train, d], DIR/test.f32 [n_test, d], int32 DIR/y_train.i32,
DIR/y_test.i32 (class indices). Fits LogisticRegression(C, solver="lbfgs") for two classes, and
OneVsRestClassifier of it for more (interp's one-vs-rest: K independent binary problems). Prints
one JSON line: accuracies, weight [K, d], bias [K], iterations and the fit time in seconds.
"""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier


def main(folder: str) -> None:
    meta = json.load(open(f"{folder}/meta.json"))
    d = meta["d"]
    x_train = np.fromfile(f"{folder}/train.f32", dtype="<f4").reshape(meta["n_train"], d)
    x_test = np.fromfile(f"{folder}/test.f32", dtype="<f4").reshape(meta["n_test"], d)
    y_train = np.fromfile(f"{folder}/y_train.i32", dtype="<i4")
    y_test = np.fromfile(f"{folder}/y_test.i32", dtype="<i4")
    base = LogisticRegression(C=meta["c"], solver="lbfgs", tol=meta["tol"], max_iter=meta["max_iter"])
    model = base if meta["classes"] == 2 else OneVsRestClassifier(base)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    estimators = [model] if meta["classes"] == 2 else model.estimators_
    weight = np.concatenate([e.coef_ for e in estimators], axis=0)
    bias = np.concatenate([e.intercept_ for e in estimators])
    print(json.dumps({
        "train_acc": float(model.score(x_train, y_train)),
        "test_acc": float(model.score(x_test, y_test)) if len(y_test) else None,
        "weight": weight.tolist(),
        "bias": bias.tolist(),
        "n_iter": [int(np.max(e.n_iter_)) for e in estimators],
        "seconds": seconds,
        "sklearn": __import__("sklearn").__version__,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
