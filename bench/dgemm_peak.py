#!/usr/bin/python3
"""The machine's practical float64 peak for `make bench`: OpenBLAS dgemm through numpy.

Times C = A B for n x n float64 matrices (2 n^3 flops) a few times and prints the best:

    dgemm n=<int> gflops=<float> seconds=<float> openblas_threads=<str>

Run with Debian's /usr/bin/python3; numpy calls OpenBLAS through libblas.so.3, whose
thread count OPENBLAS_NUM_THREADS sets.
"""
import argparse
import os
import time

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((a.n, a.n))
    y = rng.standard_normal((a.n, a.n))
    x @ y  # warm-up: threads started, pages touched
    best = float("inf")
    for _ in range(a.reps):
        t0 = time.perf_counter()
        x @ y
        best = min(best, time.perf_counter() - t0)
    print(f"dgemm n={a.n} gflops={2 * a.n ** 3 / best / 1e9:.2f} seconds={best:.4f} "
          f"openblas_threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")


if __name__ == "__main__":
    main()
