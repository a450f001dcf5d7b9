"""The examples run, and the numpy one learns: J rises from the first
episode to the last on a short shared morning (the script exits 1 when it
does not). The PyTorch variant runs when torch is installed, and says it
skipped when it is not."""
import os
import re
import subprocess
import sys
import unittest

from util import ROOT, morning_db

EX = os.path.join(ROOT, "python", "examples")
SHORT = ["--drivers", "1500", "--from", "08:00", "--to", "08:30"]


class Examples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = morning_db()

    def run_example(self, name, *args):
        p = subprocess.run([sys.executable, os.path.join(EX, name), "--trips", self.db, *args],
                           capture_output=True, text=True, timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_td_numpy_learns(self):
        out = self.run_example("td_dispatch.py", *SHORT, "--episodes", "3")
        js = [float(m) for m in re.findall(r"^\s+\d+\s+([0-9.]+)", out, re.M)]
        self.assertEqual(len(js), 3, out)
        self.assertGreater(js[-1], js[0] * 1.02, out)
        self.assertIn("batch-distance", out)

    def test_td_torch_runs(self):
        out = self.run_example("td_dispatch_torch.py", *SHORT, "--episodes", "2")
        try:
            import torch  # noqa: F401
        except ImportError:
            self.assertIn("skipped", out)
            return
        js = [float(m) for m in re.findall(r"^\s+\d+\s+([0-9.]+)", out, re.M)]
        self.assertEqual(len(js), 2, out)
        self.assertGreater(min(js), 0)


if __name__ == "__main__":
    unittest.main()
