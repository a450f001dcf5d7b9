"""A greedy nearest-driver agent in the KDD Cup 2020 starter kit's layout.

dispatch: candidates sorted by order_driver_distance (ties by order_id, then
driver_id, so the answer never depends on the input's order); each order and
each driver is used at most once.
reposition: everybody stays (an empty list).
"""


class Agent(object):
    def __init__(self):
        pass

    def dispatch(self, dispatch_observ):
        cands = sorted(dispatch_observ,
                       key=lambda c: (c["order_driver_distance"], c["order_id"], c["driver_id"]))
        used_orders, used_drivers, result = set(), set(), []
        for c in cands:
            o, d = c["order_id"], c["driver_id"]
            if o in used_orders or d in used_drivers:
                continue
            used_orders.add(o)
            used_drivers.add(d)
            result.append({"order_id": o, "driver_id": d})
        return result

    def reposition(self, repo_observ):
        return []
