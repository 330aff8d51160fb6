"""The bridge between the suite and a target written in another framework (docs/TARGETS.md,
"PyTorch targets"). A target declares `framework = "torch"` (JAX is the default); `bridged`
then wraps each of its pieces once, here, so that every check calls it as it calls a JAX
target's and no check knows the framework:

- inputs: numpy arrays become CPU tensors (float64 as float32; uint8, bool and integer arrays
  keep their dtype), JAX random keys become integer seeds (a key array [N]: a list of N),
  dicts, lists and tuples keep their form, everything else passes as it is;
- results: tensors come back as numpy; an `nn.Module` as {name: array} of its
  `named_parameters()` (what `own_params` returns is the suite's parameter tree);
- gradients: where the suite differentiates a piece (`jax.grad`, `jax.jacrev`, `jax.vmap` of
  `twohot_loss`, `latent_kl_losses`, `latent_sample`, `own_losses`, the stage arithmetic), the
  piece runs as a JAX function whose forward and backward passes are the target's own torch
  code and `torch.autograd` (`jax.pure_callback` inside `jax.custom_vjp`), so the gradient is
  the target's, not a re-derivation;
- `own_losses` and `own_updates` get the target's own module (the one `own_params` built) with
  the suite's parameter values loaded into it, and `own_param_group` gets the parameter's
  `named_parameters()` name instead of a JAX path;
- `imagination_loss`, `replay_loss` and `world_model_terms` that return no `grads` get them
  from `torch.autograd`: d sum(loss) / d output for each loss term and differentiable output.
"""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

FRAMEWORKS = ("jax", "torch")
INSTALL = "pip install 'dreamer-parity[torch]' (or any torch >= 2.2 into this environment)"

# The argument holding the parameters, for the pieces that take the target's own parameters.
MODULE_ARG = {"own_losses": 3, "own_updates": 3}

# The output-level pieces whose gradients the bridge takes when the target returns none:
# piece -> (its inputs' position, the differentiable outputs, the loss terms).
OUTPUT_GRADS = {
    "imagination_loss": (1, ("policy_logits", "reward", "con", "value_logits",
                             "slowvalue_logits"), ("policy", "value")),
    "replay_loss": (1, ("reward", "boot", "value_logits", "slowvalue_logits"), ("repval",)),
    "world_model_terms": (1, ("image_logits", "reward_logits", "con_logit", "post_logits",
                              "prior_logits"), ("image", "rew", "con", "dyn", "rep")),
}
_JAX_PATH = re.compile(r"^\['(.*)'\]$")


def framework(target) -> str:
    """The framework the target's pieces are written in (`framework`, default "jax")."""
    name = getattr(target, "framework", None) or "jax"
    if name not in FRAMEWORKS:
        raise ValueError(f"target.framework is {name!r}: one of {', '.join(map(repr, FRAMEWORKS))}"
                         " (JAX when not declared)")
    return name


def bridged(target, piece_names):
    """The target as the suite calls it: a JAX target as it is; a torch target as a namespace
    of its attributes with each piece of `piece_names` wrapped for the suite."""
    if framework(target) == "jax":
        return target
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ValueError(f"the target declares framework 'torch' but torch is not installed: "
                         f"{INSTALL}") from None
    modules = _Modules()
    attributes = {name: getattr(target, name) for name in dir(target)
                  if not name.startswith("_")}
    for name in piece_names:
        if callable(attributes.get(name)):
            attributes[name] = _bridge(name, attributes[name], modules)
    return SimpleNamespace(**attributes)


class _Modules:
    """The target's own modules by the names and shapes of their parameters: `own_params`
    builds one, `own_losses` and `own_updates` get it back with the suite's values loaded."""

    def __init__(self):
        self._by_layout = {}

    @staticmethod
    def _layout(named):
        return tuple((name, tuple(np.shape(value))) for name, value in sorted(named.items()))

    def keep(self, module):
        self._by_layout[self._layout(dict(module.named_parameters()))] = module

    def loaded(self, values: dict):
        """The kept module with these parameter values (tensors), in place."""
        module = self._by_layout.get(self._layout(values))
        if module is None:
            raise ValueError("own_losses/own_updates got parameters of a layout no own_params "
                             "call built (the names and shapes of named_parameters())")
        parameters = dict(module.named_parameters())
        for name, value in values.items():
            parameters[name].data = value.to(parameters[name].dtype)
        return module


def _bridge(name, fn, modules):
    if name == "own_param_group":
        return lambda path: fn(_param_name(path))
    run = functools.partial(_call_torch, name, fn, modules)

    def piece(*args, **kwargs):
        leaves, tree = jax.tree_util.tree_flatten((args, kwargs))
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return _traced(run, leaves, tree)
        result = run(*args, **kwargs)
        if name == "own_params" and _is_module(result):
            modules.keep(result)
        return _to_numpy(result)

    return functools.wraps(fn)(piece)


def _param_name(path: str) -> str:
    match = _JAX_PATH.match(path)
    return match.group(1) if match else path


# ------------------------------------------------------------------ eager calls


def _call_torch(name, fn, modules, *args, grads_of=None, **kwargs):
    """fn on the suite's inputs converted to tensors; `grads_of`, if given, is a list of
    (position in the flattened inputs) whose leaves are made differentiable, and the call
    returns (result, those input tensors) for the caller's torch.autograd."""
    import torch

    leaves, tree = jax.tree_util.tree_flatten((args, kwargs))
    tensors = [_to_torch(leaf) for leaf in leaves]
    args, kwargs = jax.tree_util.tree_unflatten(tree, tensors)
    wrt = {i: tensors[i] for i in grads_of or ()}
    if name in MODULE_ARG:
        args = list(args)
        values = args[MODULE_ARG[name]]
        args[MODULE_ARG[name]] = module = modules.loaded(values)
        # the gradient with respect to a parameter value is that of the module's parameter
        parameters = dict(module.named_parameters())
        by_tensor = {id(value): parameters[k] for k, value in values.items()}
        wrt = {i: by_tensor.get(id(tensor), tensor) for i, tensor in wrt.items()}
    with torch.enable_grad():
        result = fn(*args, **kwargs)
        if name in OUTPUT_GRADS and isinstance(result, dict) and "grads" not in result:
            result = {**result, "grads": _output_grads(name, args, result)}
    if grads_of is None:
        return result
    return result, [wrt[i] for i in grads_of]


def _output_grads(name, args, result):
    """{loss: {output: d sum(loss) / d output}} by torch.autograd, for the losses present."""
    import torch

    position, outputs, losses = OUTPUT_GRADS[name]
    inputs = args[position]
    outputs = [k for k in outputs if k in inputs]
    grads = {}
    for loss in losses:
        if loss not in result or not torch.is_tensor(result[loss]):
            continue
        total = result[loss].sum()
        found = (torch.autograd.grad(total, [inputs[k] for k in outputs], retain_graph=True,
                                     allow_unused=True) if total.requires_grad
                 else [None] * len(outputs))
        grads[loss] = {k: (torch.zeros_like(inputs[k]) if g is None else g)
                       for k, g in zip(outputs, found, strict=True)}
    return grads


def _to_torch(leaf):
    import torch

    if _is_key(leaf):
        data = np.asarray(jax.random.key_data(leaf), np.uint64)
        seeds = (data[..., 0] << np.uint64(32) | data[..., -1]) % np.uint64(2**63)
        return int(seeds) if seeds.ndim == 0 else [int(s) for s in seeds]
    if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
        array = np.array(leaf)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        tensor = torch.from_numpy(array)
        if array.dtype.kind == "f":  # differentiable inputs ask for gradients; the rest not
            tensor.requires_grad_(True)
        return tensor
    return leaf


def _is_key(leaf) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _is_module(value) -> bool:
    import torch

    return isinstance(value, torch.nn.Module)


def _to_numpy(tree):
    import torch

    if torch.is_tensor(tree):
        return tree.detach().cpu().numpy()
    if isinstance(tree, torch.nn.Module):
        return {n: p.detach().cpu().numpy().copy() for n, p in tree.named_parameters()}
    if isinstance(tree, dict):
        return {k: _to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_numpy(v) for v in tree)
    return tree


# ------------------------------------------------------------------ traced calls


def _traced(run, leaves, tree):
    """The piece as a JAX function of its array leaves: forward and backward in torch."""
    arrays = [i for i, leaf in enumerate(leaves) if _is_array(leaf)]
    static = {i: leaf for i, leaf in enumerate(leaves) if i not in arrays}
    keys = {i for i in arrays if _is_key(leaves[i])}
    values = [jax.random.key_data(leaves[i]) if i in keys else jnp.asarray(leaves[i])
              for i in arrays]
    differentiable = [j for j, i in enumerate(arrays)
                      if i not in keys and jnp.issubdtype(values[j].dtype, jnp.floating)]

    def inputs(*concrete):
        full = dict(static)
        for j, i in enumerate(arrays):
            full[i] = (jax.random.wrap_key_data(jnp.asarray(concrete[j])) if i in keys
                       else np.asarray(concrete[j]))
        return jax.tree_util.tree_unflatten(tree, [full[i] for i in range(len(leaves))])

    def forward(*concrete):
        args, kwargs = inputs(*concrete)
        return _canonical(_to_numpy(run(*args, **kwargs)))

    shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                          forward(*[np.zeros(v.shape, v.dtype) for v in values]))
    out_leaves, out_tree = jax.tree_util.tree_flatten(shapes)
    floating = [k for k, s in enumerate(out_leaves) if jnp.issubdtype(s.dtype, jnp.floating)]

    def backward(*concrete):
        import torch

        primal, cotangents = concrete[:len(values)], concrete[len(values):]
        args, kwargs = inputs(*primal)
        positions = [arrays[j] for j in differentiable]
        result, wrt = run(*args, grads_of=positions, **kwargs)
        outs = _tensor_leaves(result)
        pairs = [(outs[k], torch.from_numpy(np.array(c))) for k, c in
                 zip(floating, cotangents, strict=True)
                 if torch.is_tensor(outs[k]) and outs[k].requires_grad]
        found = (torch.autograd.grad([o for o, _ in pairs], wrt, [c for _, c in pairs],
                                     allow_unused=True) if pairs else [None] * len(wrt))
        return tuple(np.zeros(values[j].shape, values[j].dtype) if g is None
                     else g.detach().numpy().astype(values[j].dtype)
                     for j, g in zip(differentiable, found, strict=True))

    @jax.custom_vjp
    def call(*concrete):
        return jax.tree_util.tree_unflatten(out_tree, jax.pure_callback(
            lambda *c: jax.tree_util.tree_leaves(forward(*c)), out_leaves, *concrete,
            vmap_method="sequential"))

    def call_fwd(*concrete):
        return call(*concrete), concrete

    def call_bwd(concrete, cotangent):
        cot_leaves = jax.tree_util.tree_leaves(cotangent)
        found = jax.pure_callback(backward, [jax.ShapeDtypeStruct(values[j].shape,
                                                                  values[j].dtype)
                                             for j in differentiable],
                                  *concrete, *[cot_leaves[k] for k in floating],
                                  vmap_method="sequential")
        by_input = dict(zip(differentiable, found, strict=True))
        return tuple(by_input.get(j) for j in range(len(values)))

    call.defvjp(call_fwd, call_bwd)
    return call(*values)


def _is_array(leaf) -> bool:
    return isinstance(leaf, (np.ndarray, np.generic, jax.Array))


# What JAX holds without x64: a torch result of 64 bits comes back in 32.
_CANONICAL = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32,
              np.dtype(np.uint64): np.uint32}


def _canonical(tree):
    def leaf(x):
        x = np.asarray(x)
        return x.astype(_CANONICAL.get(x.dtype, x.dtype))

    return jax.tree.map(leaf, tree)


def _tensor_leaves(tree):
    """The result's leaves in jax.tree_util order, as the forward pass flattened them."""
    import torch

    if torch.is_tensor(tree):
        return [tree]
    if tree is None:
        return []
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _tensor_leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in _tensor_leaves(v)]
    return [tree]
