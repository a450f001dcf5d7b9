"""Runs the Python package's tests (unittest) for meson: exit 77 (skipped)
when this interpreter lacks numpy or cffi or the library cannot be loaded
(a sanitizer build), so the reason shows; 0 when every test passed.

    run.py [MODULE ...]      e.g. run.py test_dispatch_env
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    why = os.environ.get("RIDESIM_PYTHON_SKIP")
    if why:
        print(f"skip: {why}")
        return 77
    try:
        import numpy  # noqa: F401
        import cffi  # noqa: F401
    except ImportError as exc:
        print(f"skip: {sys.executable} lacks {exc.name} (apt-get install python3-numpy "
              "python3-cffi)")
        return 77
    sys.path.insert(0, HERE)
    names = sys.argv[1:] or ["test_dispatch_env", "test_reposition_env", "test_equivalence",
                             "test_examples"]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun - len(result.skipped) <= 0:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
