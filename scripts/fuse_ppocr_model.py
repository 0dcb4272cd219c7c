#!/usr/bin/env python3
"""Rewrite a PP-OCRv4 ONNX model (as exported by paddle2onnx) so ONNX Runtime runs it with fewer
passes over its activations; the arithmetic is the same up to float rounding.

Usage: fuse_ppocr_model.py MODEL_IN MODEL_OUT   (run by scripts/install-deps.sh, which checks the
output's digest: the same input and the pinned `onnx` give the same bytes)

Why: PP-LCNetV3, the backbone of both models, follows every convolution with a learnable scalar
affine (`Mul` by s, `Add` b) and a hard-swish written out as four operators
(`x * Clip(x + 3, 0, 6) / 6`). ONNX Runtime fuses none of them — the scalars are `Constant` nodes
and come first in the `Mul` — so each is a pass of its own over the tensor, about a third of a
run in its profile. Two rewrites, both exact in real arithmetic:
- `Conv -> Mul(s) -> Add(b)` becomes one `Conv` with weights W*s and bias bias*s + b;
- `x * Clip(x + 3, 0, 6) / 6` becomes `HardSwish(x)` (opset 14, so the model is converted to it).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter


def scalar_operand(node, x, constants):
    """The other operand of the binary `node` when it is a one-element constant, else None."""
    other = node.input[1] if node.input[0] == x else node.input[0]
    value = constants.get(other)
    return float(value.reshape(())) if value is not None and value.size == 1 else None


def only_consumer(name, consumers, op_type):
    nodes = consumers.get(name, [])
    return nodes[0] if len(nodes) == 1 and nodes[0].op_type == op_type else None


def fuse(model):
    graph = model.graph
    constants = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"}
    constants.update({t.name: numpy_helper.to_array(t) for t in graph.initializer})
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    removed, added, new_nodes = set(), [], []
    folded = swishes = 0

    for conv in [n for n in graph.node if n.op_type == "Conv"]:
        mul = only_consumer(conv.output[0], consumers, "Mul")
        scale = mul and scalar_operand(mul, conv.output[0], constants)
        add = mul and scale is not None and only_consumer(mul.output[0], consumers, "Add")
        shift = add and scalar_operand(add, mul.output[0], constants)
        if shift is None or not add:
            continue
        weights = constants[conv.input[1]]
        bias = constants[conv.input[2]] if len(conv.input) > 2 else np.zeros(weights.shape[0], np.float32)
        names = (f"{conv.output[0]}.fused_w", f"{conv.output[0]}.fused_b")
        added += [
            numpy_helper.from_array((weights * np.float32(scale)).astype(np.float32), names[0]),
            numpy_helper.from_array((bias * np.float32(scale) + np.float32(shift)).astype(np.float32), names[1]),
        ]
        conv.input[:] = [conv.input[0], *names]
        conv.output[0] = add.output[0]
        removed.update((id(mul), id(add)))
        folded += 1

    for add in [n for n in graph.node if n.op_type == "Add" and id(n) not in removed]:
        x = next((add.input[i] for i in (0, 1) if scalar_operand(add, add.input[i], constants) == 3.0), None)
        clip = x is not None and only_consumer(add.output[0], consumers, "Clip")
        bounds = clip and [constants.get(name) for name in clip.input[1:]]
        if not clip or len(bounds) != 2 or any(b is None for b in bounds):
            continue
        if (float(bounds[0].reshape(())), float(bounds[1].reshape(()))) != (0.0, 6.0):
            continue
        mul = only_consumer(clip.output[0], consumers, "Mul")
        div = mul and x in mul.input and only_consumer(mul.output[0], consumers, "Div")
        if not div or div.input[0] != mul.output[0] or scalar_operand(div, mul.output[0], constants) != 6.0:
            continue
        new_nodes.append(helper.make_node("HardSwish", [x], [div.output[0]], name=f"{div.output[0]}.hardswish"))
        removed.update((id(add), id(clip), id(mul), id(div)))
        swishes += 1

    kept = [n for n in graph.node if id(n) not in removed] + new_nodes
    graph.initializer.extend(added)
    # Back into an order where every input is made before it is used.
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    ordered = []
    while kept:
        runnable = [n for n in kept if all(name in ready for name in n.input)]
        if not runnable:
            sys.exit("the rewritten graph has an input nothing produces")
        for node in runnable:
            ready.update(node.output)
        ordered += runnable
        kept = [n for n in kept if n not in runnable]
    graph.ClearField("node")
    graph.node.extend(ordered)
    # Constants only the removed operators read.
    used = {name for node in graph.node for name in node.input}
    live = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    graph.ClearField("node")
    graph.node.extend(live)
    return folded, swishes


def main():
    source, target = sys.argv[1], sys.argv[2]
    model = version_converter.convert_version(onnx.load(source), 14)
    folded, swishes = fuse(model)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(f"{target}: {folded} scale-and-shift folded into convolutions, {swishes} hard-swishes fused")


if __name__ == "__main__":
    main()
