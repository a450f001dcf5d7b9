#!/usr/bin/env python3
"""The PyTorch variant of td_dispatch.py: the value is a small network,
V(cell, time) = MLP(embedding(cell), time of the horizon), learnt by
semi-gradient TD(0) with Adam from the same transitions, and used as the same
edge scores through ridesim's exact matcher. Needs python3-torch (Debian);
without it the script says so and exits 0.

    python3 td_dispatch_torch.py [--trips DB] [--episodes N] ...
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch
except ImportError:
    print("td_dispatch_torch: PyTorch is not installed (apt-get install python3-torch): "
          "skipped")
    sys.exit(0)

import argparse  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

import td_dispatch as td  # noqa: E402
from td_dispatch import GAMMA, IDLE_EVERY_S, SLOT_S, ridesim  # noqa: E402

SCALE = 10.0  # money units per unit of the network's output


class NetValue(torch.nn.Module):
    """V(cell, t): a cell embedding and the time of the horizon into a
    two-layer MLP; row n_cells of the embedding is "off the grid"."""

    def __init__(self, n_cells, t_from, t_to, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.t0, self.span = t_from, float(t_to - t_from)
        self.emb = torch.nn.Embedding(n_cells + 1, 16)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(18, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 1))
        torch.nn.init.zeros_(self.mlp[2].weight)
        torch.nn.init.zeros_(self.mlp[2].bias)
        self.opt = torch.optim.Adam(self.parameters(), lr=3e-3)
        self.n_cells = n_cells

    def forward(self, cells, t):
        c = torch.as_tensor(np.where(cells < 0, self.n_cells, cells), dtype=torch.long)
        x = torch.as_tensor((np.asarray(t, dtype=np.float64) - self.t0) / self.span,
                            dtype=torch.float32).reshape(-1, 1).expand(len(c), 1)
        f = torch.cat([self.emb(c), x, torch.ones_like(x)], dim=1)
        return self.mlp(f).squeeze(1) * SCALE

    @torch.no_grad()
    def value(self, cells, t):
        return self(np.asarray(cells), t).numpy().astype(np.float64)

    def scores(self, obs):
        now, er = obs["now"], obs["edge_row"]
        T = obs["row_duration_s"][er] + obs["edge_eta"]
        v_to = self.value(obs["row_dcell"][er], now + T)
        v_from = self.value(obs["edge_driver_cell"], np.full(len(er), now))
        return obs["row_fare"][er] + GAMMA ** (T / SLOT_S) * v_to - v_from

    def _fit(self, cells, t, target):
        self.opt.zero_grad()
        loss = torch.mean((self(cells, t) - torch.as_tensor(target, dtype=torch.float32)) ** 2)
        loss.backward()
        self.opt.step()

    def learn_matches(self, now, cells, fare, dcell, T):
        target = fare + GAMMA ** (T / SLOT_S) * self.value(dcell, now + T)
        self._fit(cells, np.full(len(cells), now), target)

    def learn_idle(self, now, cells):
        if len(cells) == 0:
            return
        t = np.full(len(cells), now)
        target = GAMMA ** (IDLE_EVERY_S / SLOT_S) * self.value(cells, t + IDLE_EVERY_S)
        self._fit(cells, t, target)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trips")
    ap.add_argument("--drivers", type=int, default=1500)
    ap.add_argument("--from", dest="t_from", default="08:00")
    ap.add_argument("--to", dest="t_to", default="09:00")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as work:
        trips = a.trips or td.shared_morning(work)
        env = ridesim.DispatchEnv({"trips": trips, "drivers": a.drivers, "from": a.t_from,
                                   "to": a.t_to, "dispatch": "batch-distance"})
        env.reset(seed=a.seed)
        st = env.engine.state
        value = NetValue(len(env.cells["lat"]), st.from_, st.to, a.seed)
        print(f"{a.t_from}-{a.t_to}, {a.drivers} drivers, {st.n_orders} orders; "
              f"TD(0) on an MLP V(cell, time) with PyTorch {torch.__version__}")
        print(f"{'episode':>8} {'J':>12} {'answered':>9} {'pickup m':>9} {'wall s':>7}")
        js = []
        for ep in range(a.episodes):
            t = time.perf_counter()
            k = td.episode(env, value.scores, a.seed, value)
            js.append(k["income"])
            print(f"{ep + 1:>8} {k['income']:>12.2f} {k['answer_rate']:>9.2%} "
                  f"{k['pickup_m_mean']:>9.1f} {time.perf_counter() - t:>7.1f}")
        print(f"J from episode 1 to {a.episodes}: {js[0]:.2f} -> {js[-1]:.2f} "
              f"({(js[-1] - js[0]) / js[0]:+.1%})")
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
