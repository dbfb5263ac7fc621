#!/usr/bin/python3
"""bfc's PyTorch reference of its deep learner (stages/learner), for `make bench`.

The network, loss and optimiser step of stages/learner, written with PyTorch's
autograd instead of hand-written gradients (docs/science.md#learner):

    S_0 = x, S_1 = sigma1(x) = (x^2 - 1)/sqrt(2) (or x^2 without centring)
    h_l = concat over j in J_l of psi_j,  psi_0 = x, psi_1 = S_1,
          psi_j = clip(R_j S_j, -c, c)^2 for j >= 2 (no clipping when c = 0)
    S_l = K_l h_l                        K_l is k x P_l, W_l is m x P_l, R_j is p x k (fixed)
    G(x) = b + sum_{l=2..L} alpha_l ||W_l h_l||^2
    loss = mean_i rho(G(x_i) - y_i) + lambda_KW sum_l ||K_l^T K_l - W_l^T W_l||_F^2
           + wd sum_l (||K_l||_F^2 + ||W_l||_F^2)

with rho(r) = r^2, or the Huber function (2c|r| - c^2 beyond |r| = c) when residual
clipping is on, J_l the source sets of stages/target (skip0: {l-1, 0}), every layer
active and trained (joint training at its last stage, as BenchmarkStep in
stages/learner runs it). One step: loss and gradients, global gradient-norm clipping
(every gradient scaled by clip/||g|| when ||g|| > clip, as stages/optim does), then
Adam (beta1 0.9, beta2 0.999, eps 1e-8). It computes ||W_l h||^2 directly, as a
PyTorch user would write it (B x P by P x m products), not in the Gram form
h^T (W^T W) h of the Go code.

Modes:

  speed (default): random initial weights as stages/learner draws them (R_j entries
  N(0, 1/k), K_l N(0, init_k^2/(k P_l)), W_l N(0, init_w^2/(m P_l)), b = 0), a pool of
  8192 Gaussian inputs with labels 2 N(0, 1) as BenchmarkStep uses, minibatches taken
  in order from one permutation of the pool; 5 untimed warm-up steps, one untimed step
  under torch.profiler to count the matrix-product flops of a step, then the timed
  steps. Prints one line, which cmd/bfcbench parses:

    torch samples_per_s=<float> steps=<int> seconds=<float> loss=<float> dtype=<str> threads=<int> flops_per_step=<int>

  flops_per_step sums torch.profiler's count (2 per multiply-add) over the aten::mm,
  aten::addmm and aten::bmm calls of one step, forward and backward; cmd/bfcbench's
  torchStepFlops must give the same number.

  --check FILE: reads a JSON case written by cmd/bfcbench's tests (shape, loss
  settings, weights, data, minibatches, optimiser settings), and prints as JSON the
  loss, squared error and gradients at the given weights, then the loss of every
  step and the weights after the steps. The tests compare them with the Go learner's.

Run it with Debian's interpreter (/usr/bin/python3; `make bench-deps` installs
python3-torch). Thread counts come from OMP_NUM_THREADS, which cmd/bfcbench sets.
"""
import argparse
import json
import math
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

GEMMS = ("aten::mm", "aten::addmm", "aten::bmm")


def sources(connections, l):
    """J_l of stages/target: the layers feeding layer l >= 2, l-1 first."""
    if connections == "chain":
        return [l - 1]
    if connections == "skip0":
        return [l - 1, 0]
    if connections == "dense":
        return list(range(l - 1, -1, -1))
    raise ValueError(f"unknown connections {connections!r} (want chain, skip0 or dense)")


class Learner:
    """The parameters and the loss of stages/learner, every layer active."""

    def __init__(self, cfg, K, W, R, b):
        self.cfg = cfg
        self.K, self.W, self.R, self.b = K, W, R, b  # dicts by layer, and a 1-element tensor

    def params(self):
        """The trainable blocks in stages/learner's order: K2, W2, ..., b."""
        out = []
        for l in range(2, self.cfg["L"] + 1):
            out += [self.K[l], self.W[l]]
        return out + [self.b]

    def loss(self, x, y):
        c = self.cfg
        L, fc, rc = c["L"], c["feature_clip"], c["residual_clip"]
        s1 = x * x
        if c["center1"]:
            s1 = (s1 - 1.0) / math.sqrt(2.0)
        psi = {0: x, 1: s1}
        g = self.b.expand(x.shape[0])
        for l in range(2, L + 1):
            hs = [psi[j] for j in sources(c["connections"], l)]
            h = hs[0] if len(hs) == 1 else torch.cat(hs, 1)
            f = h @ self.W[l].T
            g = g + c["alpha"][l] * (f * f).sum(1)
            if l < L:  # S_L feeds nothing: the top layer's K_L only enters the regulariser
                u = (h @ self.K[l].T) @ self.R[l].T
                if fc > 0:
                    u = u.clamp(-fc, fc)
                psi[l] = u * u
        r = g - y
        if rc > 0:
            a = r.abs()
            rho = torch.where(a <= rc, r * r, 2 * rc * a - rc * rc)
        else:
            rho = r * r
        mse = (r * r).mean()
        loss = rho.mean()
        for l in range(2, L + 1):
            K, W = self.K[l], self.W[l]
            loss = loss + c["lambda_kw"] * ((K.T @ K - W.T @ W) ** 2).sum()
            if c["weight_decay"] > 0:
                loss = loss + c["weight_decay"] * ((K * K).sum() + (W * W).sum())
        return loss, mse


def clip_(params, clip):
    """stages/optim's global clipping: scale every gradient by clip/||g|| if ||g|| > clip."""
    norm = torch.sqrt(sum((p.grad * p.grad).sum() for p in params))
    if clip > 0 and norm > clip:
        for p in params:
            p.grad.mul_(clip / norm)
    return norm


def step(net, opt, clip, x, y):
    """One training step; returns the loss before it."""
    opt.zero_grad()
    loss, _ = net.loss(x, y)
    loss.backward()
    clip_(net.params(), clip)
    opt.step()
    return loss


def adam(net, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return torch.optim.Adam(net.params(), lr=lr, betas=(beta1, beta2), eps=eps)


def random_learner(a, dt):
    """Initial weights drawn as stages/learner.New draws them (not the same numbers)."""
    d, k, L, m, p = a.d, a.k, a.L, a.m, a.p
    dim = lambda j: d if j <= 1 else p
    alpha = [0.0, 0.0] + [a.gap ** (l - 2) for l in range(2, L + 1)]
    cfg = dict(L=L, connections=a.connections, center1=not a.no_center1, alpha=alpha,
               lambda_kw=a.lambda_kw, weight_decay=a.weight_decay, feature_clip=a.feature_clip,
               residual_clip=a.residual_clip)
    R = {j: torch.randn(p, k, dtype=dt) / math.sqrt(k) for j in range(2, L)}
    K, W = {}, {}
    for l in range(2, L + 1):
        P = sum(dim(j) for j in sources(a.connections, l))
        K[l] = (torch.randn(k, P, dtype=dt) * (a.init_k / math.sqrt(k * P))).requires_grad_()
        W[l] = (torch.randn(m, P, dtype=dt) * (a.init_w / math.sqrt(m * P))).requires_grad_()
    b = torch.zeros(1, dtype=dt, requires_grad=True)
    return Learner(cfg, K, W, R, b)


def count_flops(net, opt, clip, x, y):
    """Matrix-product flops of one step (forward and backward), from torch.profiler."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step(net, opt, clip, x, y)
    return sum(e.flops for e in prof.events() if e.name in GEMMS)


def speed(a):
    dt = getattr(torch, a.dtype)
    torch.manual_seed(a.seed)
    net = random_learner(a, dt)
    opt = adam(net, a.lr)
    pool = 8192
    if a.batch >= pool:
        sys.exit(f"torch_learner.py: --batch {a.batch} must be below the pool of {pool} samples")
    x = torch.randn(pool, a.d, dtype=dt)
    y = 2 * torch.randn(pool, dtype=dt)
    perm = torch.randperm(pool)

    def batch(i):
        s = (i * a.batch) % (pool - a.batch)
        idx = perm[s:s + a.batch]
        return x[idx], y[idx]

    for i in range(5):  # warm-up
        step(net, opt, a.clip, *batch(i))
    flops = count_flops(net, opt, a.clip, *batch(5))
    batches = [batch(i) for i in range(a.steps)]  # gathered before the clock starts
    t0 = time.perf_counter()
    for xb, yb in batches:
        loss = step(net, opt, a.clip, xb, yb)
    sec = time.perf_counter() - t0
    print(f"torch samples_per_s={a.steps * a.batch / sec:.1f} steps={a.steps} seconds={sec:.3f} "
          f"loss={loss.item():.4g} dtype={a.dtype} threads={torch.get_num_threads()} flops_per_step={flops}")


def check(path):
    """Loss, gradients and a few steps at weights and data given in a JSON case."""
    with open(path) as f:
        c = json.load(f)
    dt = torch.float64
    d, k, L, m, p = c["d"], c["k"], c["L"], c["m"], c["p"]
    dim = lambda j: d if j <= 1 else p
    t = lambda v, *shape: torch.tensor(v, dtype=dt).reshape(*shape)
    K, W, R = {}, {}, {}
    for l in range(2, L + 1):
        P = sum(dim(j) for j in sources(c["connections"], l))
        K[l] = t(c["K"][str(l)], k, P).requires_grad_()
        W[l] = t(c["W"][str(l)], m, P).requires_grad_()
    for j in range(2, L):
        R[j] = t(c["R"][str(j)], p, k)
    b = t(c["b"], 1).requires_grad_()
    net = Learner(c, K, W, R, b)
    x, y = t(c["x"], -1, d), t(c["y"], -1)
    names = [n for l in range(2, L + 1) for n in (f"K{l}", f"W{l}")] + ["b"]

    first = torch.tensor(c["batches"][0])
    loss, mse = net.loss(x[first], y[first])
    loss.backward()
    out = {"loss": loss.item(), "mse": mse.item(),
           "grad": {n: q.grad.reshape(-1).tolist() for n, q in zip(names, net.params())}}
    opt = adam(net, c["lr"], c["beta1"], c["beta2"], c["eps"])
    out["losses"] = []
    for rows in c["batches"]:
        idx = torch.tensor(rows)
        out["losses"].append(step(net, opt, c["clip"], x[idx], y[idx]).item())
    out["weights"] = {n: q.detach().reshape(-1).tolist() for n, q in zip(names, net.params())}
    json.dump(out, sys.stdout)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", metavar="FILE", help="compute the JSON case FILE (see the module doc) and exit")
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--L", type=int, default=3)
    ap.add_argument("--m", type=int, default=64, help="width of every output head W_l")
    ap.add_argument("--p", type=int, default=0, help="rows of every R_j (0: k(k+1)/2 + 2)")
    ap.add_argument("--connections", choices=["chain", "skip0", "dense"], default="skip0")
    ap.add_argument("--no-center1", action="store_true", help="layer 1 is x^2, not (x^2-1)/sqrt(2)")
    ap.add_argument("--gap", type=float, default=0.3, help="alpha_l = gap^(l-2)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300, help="timed steps")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=10.0, help="global gradient-norm clipping (0: off)")
    ap.add_argument("--lambda-kw", type=float, default=0.1, help="weight of ||K^T K - W^T W||_F^2")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="weight of ||K||^2 + ||W||^2")
    ap.add_argument("--feature-clip", type=float, default=0.0)
    ap.add_argument("--residual-clip", type=float, default=0.0)
    ap.add_argument("--init-k", type=float, default=0.1)
    ap.add_argument("--init-w", type=float, default=1.0)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.check:
        check(a.check)
        return
    if a.p == 0:
        a.p = a.k * (a.k + 1) // 2 + 2
    if a.L < 2 or a.p < a.k * (a.k + 1) // 2:
        sys.exit(f"torch_learner.py: need L >= 2 and p >= k(k+1)/2, have L={a.L} p={a.p}")
    speed(a)


if __name__ == "__main__":
    main()
