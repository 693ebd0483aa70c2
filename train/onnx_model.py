"""The cross-encoder as the runtime reads it: one ONNX graph with float16 weights, cast to float32 on load.

ONNX Runtime runs the pair pass in about half torch's time for the few short pairs of one question
(docs/SELECTOR.md). The weights are stored as float16 (half the bytes) and each is followed by a Cast to float32,
which ONNX Runtime folds away when it opens the graph, so the arithmetic is float32 as in training. The weights
keep the transformer's own parameter names, so training can go on from a saved graph (`load_weights`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

ONNX_FILE = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
HALF = "/float16"  # suffix of a stored float16 weight; the Cast to float32 gives back the parameter's own name
OPSET = 17


def export(model, path: Path) -> None:
    """Write the transformer (last hidden state out) as a float16-weight ONNX graph with dynamic batch and length."""
    import onnx

    wrapped = _HiddenStates(model).eval()
    example = torch.ones((2, 8), dtype=torch.long)  # padded pairs: the graph must keep the attention mask's path
    example_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    axes = {name: {0: "pairs", 1: "tokens"} for name in (*INPUTS, "hidden")}
    tmp = path.with_suffix(".float32.onnx")
    # The tracer warns that the mask checks become constants: they hold for every batch qa sends (a mask always
    # given, no cache), and tests/test_rerank.py checks the graph against torch on pairs of other lengths.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (example, example_mask, torch.zeros_like(example)),
            str(tmp),
            input_names=list(INPUTS),
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=False,  # keeps every parameter an initializer under its own name
            dynamo=False,
        )
    graph = onnx.load(str(tmp))
    tmp.unlink()
    _store_half(graph)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))


def load_weights(path: Path) -> dict:
    """The transformer's parameters (float32 tensors by name) from a graph `export` wrote."""
    import onnx
    from onnx import numpy_helper

    weights = {}
    for init in onnx.load(str(path)).graph.initializer:
        if init.name.endswith(HALF):
            name = init.name[: -len(HALF)].removeprefix("model.")
            weights[name] = torch.from_numpy(numpy_helper.to_array(init).astype(np.float32))
    return weights


def _store_half(graph) -> None:
    """Every float32 weight stored as float16, with a Cast back to float32 under the weight's own name."""
    from onnx import TensorProto, helper, numpy_helper

    inits, casts = [], []
    for init in graph.graph.initializer:
        value = numpy_helper.to_array(init)
        if value.dtype != np.float32:
            inits.append(init)
            continue
        inits.append(numpy_helper.from_array(value.astype(np.float16), init.name + HALF))
        casts.append(helper.make_node("Cast", [init.name + HALF], [init.name], to=TensorProto.FLOAT))
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(inits)
    nodes = list(graph.graph.node)
    del graph.graph.node[:]
    graph.graph.node.extend(casts + nodes)


class _HiddenStates(torch.nn.Module):
    """The transformer called by keyword (its positional order changes between transformers versions)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state
