"""Print the results of ``bench_session.py``.

    pytest benchmarks/bench_session.py --benchmark-json=session.json
    python benchmarks/session_table.py session.json
"""
import json
import sys


def main(path):
    with open(path) as f:
        data = json.load(f)
    session = {}
    for b in data["benchmarks"]:
        info = b["extra_info"]
        if info.get("kind") == "session":
            seconds = info.get("scaled_seconds", b["stats"]["median"])
            session[info["implementation"]] = (seconds, info)
        elif info.get("kind") == "overhead":
            print("Drop-in SGD call ([784, 30, 10], {} training pairs): one epoch {:.3f} s, "
                  "overhead per call {:.1f} ms = {:.0%} of an epoch (median one-epoch call "
                  "{:.3f} s, five-epoch call {:.3f} s)".format(
                      info["train"], info["epoch"],
                      info["overhead"] * 1e3, info["overhead_fraction"],
                      info["one_epoch_call"], info["five_epoch_call"]))
    if "drop-in" in session:
        fast, info = session["drop-in"]
        print("Chapter 1 session ({} epochs, {} training and {} test pairs): drop-in {:.2f} s"
              .format(info["epochs"], info["train"], info["test"], fast), end="")
        if "flop_limit" in info:
            print(" ({:.2f}x its FLOP limit of {:.2f} s at {:.1f} GFLOP/s)".format(
                fast / info["flop_limit"], info["flop_limit"], info["gemm_rate"] / 1e9), end="")
        if "per-example (scaled)" in session:
            slow = session["per-example (scaled)"][0]
            print(", per-example book loop {:.1f} s (scaled): {:.1f}x".format(slow, slow / fast))
        else:
            print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "session.json")
