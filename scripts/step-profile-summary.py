#!/usr/bin/env python3
"""Summarizes a PyTorch profiler trace (Chrome JSON, as StepProfile's `trace FILE` writes it).

Prints where a training step's time goes: forward ops by their outermost aten op, backward by
autograd function, and self time by aten op. Usage: step-profile-summary.py TRACE [TOP]
"""
import collections
import json
import sys


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict):  # Kineto's format; the legacy profiler writes a bare list
        data = data["traceEvents"]
    events = [e for e in data if e.get("ph") == "X" and "dur" in e]
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e.get("tid")].append(e)
    fwd = collections.Counter()
    fwd_n = collections.Counter()
    bwd = collections.Counter()
    bwd_n = collections.Counter()
    self_t = collections.Counter()
    self_n = collections.Counter()
    total = 0.0
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [event, child time]
        for e in evs:
            while stack and e["ts"] >= stack[-1][0]["ts"] + stack[-1][0]["dur"]:
                close(stack, self_t, self_n)
            if not stack:
                if e["name"].startswith("autograd::engine"):
                    name = e["name"].split(": ")[-1]
                    bwd[name] += e["dur"]
                    bwd_n[name] += 1
                else:
                    fwd[e["name"]] += e["dur"]
                    fwd_n[e["name"]] += 1
                total += e["dur"]
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0.0])
        while stack:
            close(stack, self_t, self_n)
    f_sum = sum(fwd.values())
    b_sum = sum(bwd.values())
    print(f"top-level time {total / 1e3:.1f} ms: forward ops {f_sum / 1e3:.1f} ms, backward functions {b_sum / 1e3:.1f} ms")
    table("forward, by outermost op", fwd, fwd_n, total, top)
    table("backward, by autograd function", bwd, bwd_n, total, top)
    table("self time, by op", self_t, self_n, total, top)
    table("self time, by what it is for", groups, groups_n, total, top)


def close(stack, self_t, self_n):
    e, children = stack.pop()
    t = max(0.0, e["dur"] - children)
    self_t[e["name"]] += t
    self_n[e["name"]] += 1
    g = group(e, [s[0]["name"] for s in stack])
    groups[g] += t
    groups_n[g] += 1


groups = collections.Counter()
groups_n = collections.Counter()


def group(e, ancestors):
    """What an op's self time is spent on, from its name, shapes and enclosing ops."""
    name = e["name"]
    shapes = e.get("shape") or (e.get("args") or {}).get("Input Dims") or []
    dims = [d for sh in shapes if isinstance(sh, list) for d in sh]
    backward = any(a.startswith("autograd::engine") for a in ancestors)
    where = "backward" if backward else "forward"
    if name in ("aten::mm", "aten::addmm"):
        if 8 in dims:
            return f"LoRA rank-8 GEMMs, {where}"
        return f"base linear GEMMs, {where}"
    if name == "aten::bmm":
        return f"attention batched GEMMs, {where}"
    if any(a == "aten::dropout" for a in ancestors) or name == "aten::bernoulli_":
        return "dropout masks and products, forward"
    if name in ("aten::mul", "aten::mul_"):
        return f"element-wise products (dropout, scalings), {where}"
    if name in ("aten::add_", "aten::add"):
        if backward:
            return "gradient sums (an activation read by several ops)"
        if len(shapes) > 1 and isinstance(shapes[1], list) and len(shapes[1]) == 1:
            return "bias additions, forward"
        return "residual and LoRA additions, forward"
    if name == "aten::copy_":
        return f"copies (head transposes), {where}"
    for key, label in (("layer_norm", "LayerNorm"), ("gelu", "GELU"), ("softmax", "softmax")):
        if key in name:
            return f"{label}, {where}"
    if name == "aten::div_" or name == "aten::div":
        return f"divisions, {where}"
    return f"other ({where})"


def table(title, times, counts, total, top):
    print(f"\n{title}\n| op | calls | ms | % of step |\n| --- | --- | --- | --- |")
    for name, t in times.most_common(top):
        print(f"| `{name}` | {counts[name]} | {t / 1e3:.1f} | {100 * t / total:.1f} |")


if __name__ == "__main__":
    main()
