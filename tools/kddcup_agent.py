#!/usr/bin/env python3
"""Serve a KDD Cup 2020 RL-track submission to `ridesim evaluate`.

Usage: python3 tools/kddcup_agent.py SUBMISSION_DIR
       (ridesim evaluate --agent 'python3 tools/kddcup_agent.py SUBMISSION_DIR')

SUBMISSION_DIR is the starter kit's layout (a folder holding model/agent.py)
or the model folder itself. The agent is loaded exactly as the official local
test loaded it: the model folder goes first on sys.path, then
`from agent import Agent` and `Agent()` with no arguments; the working
directory is left as it is. So submissions import their sibling modules by
bare name and open data files relative to their own __file__.

The protocol (docs/agent-protocol.md) is JSON lines on stdin/stdout, one
request and one reply at a time:
  {"type": "init", "tick": 0}                  -> {"ok": true, "tick": 0}
  {"type": "dispatch", "tick": N, "observ": [...]}
  {"type": "reposition", "tick": N, "observ": {...}}
                                              -> {"ok": true, "tick": N, "result": [...]}
An exception becomes {"ok": false, "tick": N, "error": "DispatchAgentError",
"message": "..."} (InitAgentError, RepositionAgentError likewise). Whatever the
agent prints goes to stderr: sys.stdout is the agent's only while it runs,
and it is pointed at stderr; protocol lines go to the real stdout.

Python 3 standard library only.
"""

import json
import os
import sys
import traceback

ERRORS = {
    "init": "InitAgentError",
    "dispatch": "DispatchAgentError",
    "reposition": "RepositionAgentError",
}


def model_dir(path):
    """The folder that holds agent.py: SUBMISSION/model or the folder itself."""
    path = os.path.abspath(path)
    if os.path.isfile(os.path.join(path, "model", "agent.py")):
        return os.path.join(path, "model")
    if os.path.isfile(os.path.join(path, "agent.py")):
        return path
    raise FileNotFoundError(
        "%s: no model/agent.py (nor agent.py) in this folder" % path)


def to_json(o):
    """numpy scalars and the like: ints stay ints, floats floats."""
    if hasattr(o, "__index__"):
        return int(o)
    if hasattr(o, "__float__"):
        return float(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError("%r is not JSON serializable" % (o,))


class Server:
    def __init__(self, folder, out, err):
        self.folder = folder
        self.out = out          # the real stdout: protocol lines only
        self.err = err
        self.agent = None

    def send(self, obj):
        self.out.write(json.dumps(obj, separators=(",", ":"), default=to_json))
        self.out.write("\n")
        self.out.flush()

    def call(self, fn, *args):
        """Runs agent code with its prints sent to stderr."""
        saved = sys.stdout
        sys.stdout = self.err
        try:
            return fn(*args)
        finally:
            sys.stdout = saved

    def load(self):
        mdir = model_dir(self.folder)
        if mdir not in sys.path:
            sys.path.insert(0, mdir)

        def make():
            from agent import Agent  # noqa: E402  (the submission's module)
            return Agent()

        self.agent = self.call(make)

    def handle(self, req):
        kind = req.get("type")
        if kind == "init":
            self.load()
            return None
        if kind == "dispatch":
            return self.call(self.agent.dispatch, req["observ"])
        if kind == "reposition":
            return self.call(self.agent.reposition, req["observ"])
        raise ValueError("unknown request type %r" % (kind,))

    def serve(self, lines):
        for line in lines:
            line = line.strip()
            if not line:
                continue
            tick = None
            kind = "dispatch"
            try:
                req = json.loads(line)
                tick = req.get("tick")
                kind = req.get("type", "dispatch")
                if kind != "init" and self.agent is None:
                    raise RuntimeError("the agent was not initialised")
                result = self.handle(req)
                reply = {"ok": True, "tick": tick}
                if kind != "init":
                    reply["result"] = [] if result is None else result
                try:
                    self.send(reply)
                except (TypeError, ValueError) as ex:
                    raise TypeError("the agent returned something JSON cannot hold: %s" % ex)
            except Exception as ex:  # the agent's exception, reported by name
                traceback.print_exc(file=self.err)
                self.send({"ok": False, "tick": tick,
                           "error": ERRORS.get(kind, "DispatchAgentError"),
                           "message": "%s: %s" % (type(ex).__name__, ex)})


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: kddcup_agent.py SUBMISSION_DIR\n")
        return 2
    out = sys.stdout
    server = Server(argv[1], out, sys.stderr)
    # Nothing but protocol lines may reach the real stdout.
    sys.stdout = sys.stderr
    try:
        server.serve(sys.stdin)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
