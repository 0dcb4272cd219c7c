#!/usr/bin/env python3
"""Rewrite a PP-OCRv4 ONNX model (as exported by paddle2onnx) so ONNX Runtime runs it with fewer
passes over its activations; the arithmetic is the same up to float rounding.

Usage: fuse_ppocr_model.py MODEL_IN MODEL_OUT   (run by scripts/install-deps.sh, which checks the
output's digest: the same input and the pinned `onnx` give the same bytes)

Why: PP-LCNetV3, the backbone of both models, follows every convolution with a learnable scalar
affine (`Mul` by s, `Add` b), then a hard-swish written out as four operators
(`x * Clip(x + 3, 0, 6) / 6`), then another scalar affine. ONNX Runtime fuses none of them — the
scalars are `Constant` nodes and come first in the `Mul` — so each is a pass of its own over the
tensor, about a third of a run in its profile. Three rewrites, all exact in real arithmetic:
- `Conv -> Mul(s) -> Add(b)` becomes one `Conv` with weights W*s and bias bias*s + b;
- `Mul(s) -> Add(b) -> Conv` with a 1 x 1 kernel (no padding, so every output reads s*h + b) becomes
  one `Conv` with weights W*s and bias bias + b*sum(W);
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
    consumers, producers = {}, {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
        for name in node.output:
            producers[name] = node
    removed, added, new_nodes = set(), [], []

    def bias_of(conv, weights):
        return constants[conv.input[2]] if len(conv.input) > 2 else np.zeros(weights.shape[0], np.float32)

    def set_parameters(conv, data, suffix, weights, bias):
        """`conv` reads `data` with new weights and bias, added to the graph's initializers."""
        names = (f"{conv.output[0]}.{suffix}_w", f"{conv.output[0]}.{suffix}_b")
        constants[names[0]], constants[names[1]] = weights.astype(np.float32), bias.astype(np.float32)
        added.extend(numpy_helper.from_array(constants[name], name) for name in names)
        conv.input[:] = [data, *names]
    folded = inputs_folded = swishes = 0

    for conv in [n for n in graph.node if n.op_type == "Conv"]:
        mul = only_consumer(conv.output[0], consumers, "Mul")
        scale = mul and scalar_operand(mul, conv.output[0], constants)
        add = mul and scale is not None and only_consumer(mul.output[0], consumers, "Add")
        shift = add and scalar_operand(add, mul.output[0], constants)
        if shift is None or not add:
            continue
        weights = constants[conv.input[1]]
        bias = bias_of(conv, weights) * np.float32(scale) + np.float32(shift)
        set_parameters(conv, conv.input[0], "fused", weights * np.float32(scale), bias)
        conv.output[0] = add.output[0]
        removed.update((id(mul), id(add)))
        folded += 1

    # The scale and shift after an activation, into the 1 x 1 convolution that reads it: with no
    # padding every output sees s * h + b, so W' = W * s and bias' = bias + b * sum(W).
    for conv in [n for n in graph.node if n.op_type == "Conv"]:
        attributes = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        weights = constants.get(conv.input[1])
        if weights is None or weights.shape[2:] != (1, 1) or attributes.get("group", 1) != 1:
            continue
        if any(attributes.get("pads", [0])) or attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            continue
        add = producers.get(conv.input[0])
        if add is None or add.op_type != "Add" or id(add) in removed or len(consumers[add.output[0]]) != 1:
            continue
        muls = [producers[name] for name in add.input if name in producers and producers[name].op_type == "Mul"]
        mul = muls[0] if muls else None
        if mul is None or id(mul) in removed or len(consumers[mul.output[0]]) != 1:
            continue
        shift = scalar_operand(add, mul.output[0], constants)
        h = next((name for name in mul.input if constants.get(name) is None), None)
        scale = h and scalar_operand(mul, h, constants)
        if shift is None or scale is None:
            continue
        bias = bias_of(conv, weights) + np.float32(shift) * weights.sum(axis=(1, 2, 3), dtype=np.float32)
        set_parameters(conv, h, "fused_in", weights * np.float32(scale), bias)
        removed.update((id(mul), id(add)))
        inputs_folded += 1

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
    # Constants and weights only the removed operators, or the convolutions before a second fold,
    # read (ONNX Runtime would warn about each at every session it makes).
    used = {name for node in graph.node for name in node.input}
    live = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    graph.ClearField("node")
    graph.node.extend(live)
    weights = [t for t in graph.initializer if t.name in used]
    graph.ClearField("initializer")
    graph.initializer.extend(weights)
    return folded, inputs_folded, swishes


def main():
    source, target = sys.argv[1], sys.argv[2]
    model = version_converter.convert_version(onnx.load(source), 14)
    folded, inputs_folded, swishes = fuse(model)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(
        f"{target}: {folded} scale-and-shift folded into the convolution before them, {inputs_folded} into the"
        f" 1 x 1 convolution after them, {swishes} hard-swishes fused"
    )


if __name__ == "__main__":
    main()
