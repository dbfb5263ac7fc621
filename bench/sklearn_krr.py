#!/usr/bin/python3
"""scikit-learn's KernelRidge at the sizes of bfc's kernel baseline, for `make bench`.

Fits kernel ridge regression with the polynomial kernel (1 + <x,y>/d)^p (sklearn's
kernel="poly", gamma=1/d, coef0=1, degree=p; bfc's kernel.NewPoly(p, d)) on n Gaussian
inputs in R^d with a ridge of lam * mean(diag K), the relative ridge bfc uses, and prints
one line:

    sklearn n=<int> d=<int> degree=<int> fit_s=<float> gram_s=<float> openblas_threads=<str> sklearn=<ver> numpy=<ver>

fit_s times KernelRidge.fit (Gram matrix, then a Cholesky solve through scipy.linalg.solve
with assume_a="pos"); gram_s times the Gram matrix alone (pairwise_kernels), measured in a
separate call after the fit. Run with Debian's /usr/bin/python3 (python3-sklearn); numpy
and scipy then call OpenBLAS through libblas.so.3, whose thread count OPENBLAS_NUM_THREADS
sets (cmd/bfcbench sets it to the thread count it gives bfc).
"""
import argparse
import os
import time

import numpy as np
import sklearn
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import pairwise_kernels


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--d", type=int, default=16)
    p.add_argument("--degree", type=int, default=8)
    p.add_argument("--lam", type=float, default=1e-3, help="relative ridge: alpha = lam * mean(diag K)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    rng = np.random.default_rng(a.seed)
    x = rng.standard_normal((a.n, a.d))
    y = rng.standard_normal(a.n)
    diag = (1.0 + (x * x).sum(1) / a.d) ** a.degree
    kw = dict(kernel="poly", degree=a.degree, gamma=1.0 / a.d, coef0=1.0)
    model = KernelRidge(alpha=a.lam * diag.mean(), **kw)

    t0 = time.perf_counter()
    model.fit(x, y)
    fit = time.perf_counter() - t0
    if not np.all(np.isfinite(model.dual_coef_)):
        raise SystemExit("sklearn: the fit produced non-finite coefficients")

    t0 = time.perf_counter()
    k = pairwise_kernels(x, metric="poly", degree=a.degree, gamma=1.0 / a.d, coef0=1.0)
    gram = time.perf_counter() - t0
    del k

    print(f"sklearn n={a.n} d={a.d} degree={a.degree} fit_s={fit:.4f} gram_s={gram:.4f} "
          f"openblas_threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')} "
          f"sklearn={sklearn.__version__} numpy={np.__version__}")


if __name__ == "__main__":
    main()
