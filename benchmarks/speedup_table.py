"""Print the speedup table the README quotes from a pytest-benchmark JSON file.

One row per configuration of ``bench_dense.py``: the plain network (the
README's rows, with JAX's whole-epoch version beside them when it ran), then
the engine's (ReLU + softmax, momentum, L1).

    pytest benchmarks/bench_dense.py --benchmark-json=bench.json
    python benchmarks/speedup_table.py bench.json
"""
import json
import platform
import sys
from collections import defaultdict


def main(path):
    with open(path) as f:
        data = json.load(f)
    groups = defaultdict(dict)
    for b in data["benchmarks"]:
        info = b["extra_info"]
        if "implementation" in info:
            key = (info["sizes"], info["dtype"], info.get("config", "plain"))
            groups[key][info["implementation"]] = b["stats"]["median"]
    machine = data.get("machine_info", {})
    print("Machine: {}, {} cores, Python {}; measured {}".format(
        machine.get("cpu", {}).get("brand_raw", platform.processor() or "?"),
        machine.get("cpu", {}).get("count", "?"), machine.get("python_version", "?"),
        data.get("datetime", "")[:10]))
    print()
    print("| sizes | dtype | network | per-example (book) s | numpy s | JAX s | compiled s "
          "| vs per-example | vs numpy | vs JAX |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    f64 = {}
    # the plain rows first (the README's table), then the engine's rows
    for (sizes, dtype, config), t in sorted(groups.items(), key=lambda kv: (kv[0][2] != "plain", kv[0])):
        pe, np_, jx, cy = t.get("per_example"), t.get("numpy"), t.get("jax"), t.get("cython")
        fmt = lambda v: "{:.3f}".format(v) if v else "-"
        ratio = lambda a, b: "{:.1f}x".format(a / b) if a and b else "-"
        print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            sizes, dtype, config, fmt(pe), fmt(np_), fmt(jx), fmt(cy), ratio(pe, cy),
            ratio(np_, cy), ratio(jx, cy)))
        if config == "plain":
            f64.setdefault(sizes, {})[dtype] = cy
    print()
    for sizes, t in sorted(f64.items()):
        if t.get("float64") and t.get("float32"):
            print("compiled float32 vs float64, {}: {:.2f}x".format(sizes, t["float64"] / t["float32"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench.json")
