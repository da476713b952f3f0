"""Print the table of ``bench_limits.py``: each width's epoch against the limit.

    pytest benchmarks/bench_limits.py --benchmark-json=limits.json
    python benchmarks/limits_table.py limits.json

The limit of a row is its matrix products' floating-point operations at the
best one-core rate any library reached on a large product (the ``peak``
rows).  "x limit" is how many times longer the epoch took than that; "time
per work" is seconds per operation relative to the narrowest row of the same
dtype, so 1.0 all the way down means time grows exactly with the work.
"""
import json
import sys


def main(path):
    with open(path) as f:
        data = json.load(f)
    peaks, widths = {}, []
    for b in data["benchmarks"]:
        info = b["extra_info"]
        if info.get("kind") == "peak":
            peaks.setdefault(info["dtype"], []).append((info["flops_per_second"], info["library"]))
        elif info.get("kind") == "width":
            widths.append(info)
    print("One core's peak on a {0} x {0} product:".format(
        next((b["extra_info"]["n"] for b in data["benchmarks"] if "n" in b["extra_info"]), "?")))
    for dtype, rates in sorted(peaks.items()):
        print("  {}: ".format(dtype) + ", ".join("{} {:.1f} GFLOP/s".format(lib, r / 1e9)
                                                  for r, lib in sorted(rates, reverse=True)))
    print()
    print("| H | dtype | s per epoch | GFLOP/s | x limit | time per work (vs H = 30) |")
    print("|---|---|---|---|---|---|")
    base = {}
    for info in sorted(widths, key=lambda i: (i["dtype"], i["hidden"])):
        seconds, flops = info["seconds_per_epoch"], info["flops_per_epoch"]
        peak = max(peaks.get(info["dtype"], [(0, "")]))[0]
        per_work = seconds / flops
        base.setdefault(info["dtype"], per_work)
        print("| {} | {} | {:.3f} | {:.1f} | {} | {:.2f} |".format(
            info["hidden"], info["dtype"], seconds, flops / seconds / 1e9,
            "{:.2f}".format(seconds / (flops / peak)) if peak else "-",
            per_work / base[info["dtype"]]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "limits.json")
