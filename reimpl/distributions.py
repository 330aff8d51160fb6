"""Output distributions with one interface: pred, loss, logp, prob, entropy, kl, sample.

The formulas follow `embodied/jax/outs.py`. Every class is a pytree, so heads can return them
from jitted functions. Values are computed in float32 whatever the compute dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.tree_util import register_pytree_node_class

from .nets import symexp

stop_gradient = jax.lax.stop_gradient


def _float32(x: jax.Array) -> jax.Array:
    return jnp.asarray(x).astype(jnp.float32)


def _rebuild(cls, **fields):
    """A pytree's unflatten: set the fields without running __init__ again (which would, for
    example, apply unimix a second time)."""
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


class Output:
    def pred(self) -> jax.Array:
        raise NotImplementedError(type(self).__name__)

    def loss(self, target: jax.Array) -> jax.Array:
        return -self.logp(stop_gradient(target))

    def logp(self, event: jax.Array) -> jax.Array:
        raise NotImplementedError(type(self).__name__)

    def prob(self, event: jax.Array) -> jax.Array:
        return jnp.exp(self.logp(event))

    def entropy(self) -> jax.Array:
        raise NotImplementedError(type(self).__name__)

    def kl(self, other: Output) -> jax.Array:
        raise NotImplementedError(type(self).__name__)

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        raise NotImplementedError(type(self).__name__)


@register_pytree_node_class
class Categorical(Output):
    """Class indices; with `unimix` the probabilities mix in a uniform share."""

    def __init__(self, logits: jax.Array, unimix: float = 0.0):
        logits = _float32(logits)  # [..., K]
        if unimix:
            probs = jax.nn.softmax(logits, -1)
            uniform = jnp.ones_like(probs) / probs.shape[-1]
            probs = (1 - unimix) * probs + unimix * uniform
            logits = jnp.log(probs)
        self.logits = logits

    def tree_flatten(self):
        return (self.logits,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return _rebuild(cls, logits=children[0])

    def pred(self) -> jax.Array:  # [...]
        return jnp.argmax(self.logits, -1)

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        return jax.random.categorical(key, self.logits, -1, shape + self.logits.shape[:-1])

    def logp(self, event: jax.Array) -> jax.Array:
        onehot = jax.nn.one_hot(event, self.logits.shape[-1])
        return (jax.nn.log_softmax(self.logits, -1) * onehot).sum(-1)

    def entropy(self) -> jax.Array:
        logprob = jax.nn.log_softmax(self.logits, -1)
        return -(jax.nn.softmax(self.logits, -1) * logprob).sum(-1)

    def kl(self, other: Categorical) -> jax.Array:
        logprob = jax.nn.log_softmax(self.logits, -1)
        logother = jax.nn.log_softmax(other.logits, -1)
        return (jax.nn.softmax(self.logits, -1) * (logprob - logother)).sum(-1)


@register_pytree_node_class
class OneHot(Output):
    """One-hot vectors with straight-through gradients to the (unimixed) probabilities."""

    def __init__(self, logits: jax.Array, unimix: float = 0.0):
        self.dist = Categorical(logits, unimix)

    def tree_flatten(self):
        return (self.dist,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return _rebuild(cls, dist=children[0])

    def pred(self) -> jax.Array:  # [..., K]
        return self._onehot_with_grad(self.dist.pred())

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        return self._onehot_with_grad(self.dist.sample(key, shape))

    def logp(self, event: jax.Array) -> jax.Array:
        return (jax.nn.log_softmax(self.dist.logits, -1) * event).sum(-1)

    def entropy(self) -> jax.Array:
        return self.dist.entropy()

    def kl(self, other: OneHot) -> jax.Array:
        return self.dist.kl(other.dist)

    def _onehot_with_grad(self, index: jax.Array) -> jax.Array:
        value = jax.nn.one_hot(index, self.dist.logits.shape[-1], dtype=jnp.float32)
        probs = jax.nn.softmax(self.dist.logits, -1)
        return stop_gradient(value) + (probs - stop_gradient(probs))


@register_pytree_node_class
class Agg(Output):
    """Treats the last `dims` axes of `output` as one event: losses, log-probabilities,
    entropies and KLs are summed over them."""

    def __init__(self, output: Output, dims: int):
        self.output = output
        self.dims = dims

    def tree_flatten(self):
        return (self.output,), self.dims

    @classmethod
    def tree_unflatten(cls, dims, children):
        return _rebuild(cls, output=children[0], dims=dims)

    @property
    def axes(self) -> tuple[int, ...]:
        return tuple(-i for i in range(1, self.dims + 1))

    def pred(self) -> jax.Array:
        return self.output.pred()

    def loss(self, target: jax.Array) -> jax.Array:
        return self.output.loss(target).sum(self.axes)

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        return self.output.sample(key, shape)

    def logp(self, event: jax.Array) -> jax.Array:
        return self.output.logp(event).sum(self.axes)

    def prob(self, event: jax.Array) -> jax.Array:
        return self.output.prob(event).sum(self.axes)

    def entropy(self) -> jax.Array:
        return self.output.entropy().sum(self.axes)

    def kl(self, other: Agg) -> jax.Array:
        if not isinstance(other, Agg):
            raise TypeError(f"Agg.kl needs another Agg, got {type(other).__name__}")
        return self.output.kl(other.output).sum(self.axes)


@register_pytree_node_class
class TwoHot(Output):
    """A categorical over fixed scalar bins, trained on two-hot targets."""

    def __init__(self, logits: jax.Array, bins: jax.Array):
        logits = _float32(logits)  # [..., N]
        if logits.shape[-1] != bins.shape[-1]:
            raise ValueError(f"TwoHot: {logits.shape[-1]} logits for {bins.shape[-1]} bins")
        self.logits = logits
        self.bins = _float32(bins)  # [N]

    def tree_flatten(self):
        return (self.logits, self.bins), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return _rebuild(cls, logits=children[0], bins=children[1])

    def pred(self) -> jax.Array:  # [...]
        # Summing left to right accumulates rounding error, so symmetric bins under uniform
        # probabilities would not give exactly 0. Pairing each bin with its mirror image first
        # (the order of outs.py TwoHot.pred) makes the prediction exactly 0 at initialisation,
        # op by op. Under jit XLA may reassociate the sum (-0.168 for 255 bins on CPU), in the
        # official code too: both give bitwise the same value in the same mode.
        probs = jax.nn.softmax(self.logits, -1)
        count = self.logits.shape[-1]
        half = count // 2
        low = (probs[..., :half] * self.bins[:half])[..., ::-1]
        high = probs[..., count - half :] * self.bins[count - half :]
        paired = (low + high).sum(-1)
        if count % 2 == 0:
            return paired
        middle = probs[..., half : half + 1] * self.bins[half : half + 1]
        return middle.sum(-1) + paired

    def loss(self, target: jax.Array) -> jax.Array:  # [...] -> [...]
        if target.dtype != jnp.float32:
            raise TypeError(f"TwoHot.loss needs a float32 target, got {target.dtype}")
        target = stop_gradient(target)
        count = self.bins.shape[-1]
        below = (self.bins <= target[..., None]).astype(jnp.int32).sum(-1) - 1
        above = count - (self.bins > target[..., None]).astype(jnp.int32).sum(-1)
        below = jnp.clip(below, 0, count - 1)
        above = jnp.clip(above, 0, count - 1)
        equal = below == above
        distance_below = jnp.where(equal, 1, jnp.abs(self.bins[below] - target))
        distance_above = jnp.where(equal, 1, jnp.abs(self.bins[above] - target))
        total = distance_below + distance_above
        weights = (
            jax.nn.one_hot(below, count) * (distance_above / total)[..., None]
            + jax.nn.one_hot(above, count) * (distance_below / total)[..., None]
        )  # [..., N]
        log_pred = self.logits - jax.scipy.special.logsumexp(self.logits, -1, keepdims=True)
        return -(weights * log_pred).sum(-1)


@register_pytree_node_class
class Binary(Output):
    """A Bernoulli variable given by its logit."""

    def __init__(self, logit: jax.Array):
        self.logit = _float32(logit)

    def tree_flatten(self):
        return (self.logit,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return _rebuild(cls, logit=children[0])

    def pred(self) -> jax.Array:
        return self.logit > 0

    def logp(self, event: jax.Array) -> jax.Array:
        event = _float32(event)
        logp = jax.nn.log_sigmoid(self.logit)
        lognotp = jax.nn.log_sigmoid(-self.logit)
        return event * logp + (1 - event) * lognotp

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        prob = jax.nn.sigmoid(self.logit)
        return jax.random.bernoulli(key, prob, shape + self.logit.shape)


@register_pytree_node_class
class MSE(Output):
    """Squared error to `squash(target)` (symlog for vector observations)."""

    def __init__(self, mean: jax.Array, squash: Callable[[jax.Array], jax.Array] | None = None):
        self.mean = _float32(mean)
        self.squash = squash

    def tree_flatten(self):
        return (self.mean,), self.squash

    @classmethod
    def tree_unflatten(cls, squash, children):
        return _rebuild(cls, mean=children[0], squash=squash)

    def pred(self) -> jax.Array:
        return self.mean

    def loss(self, target: jax.Array) -> jax.Array:
        if not jnp.issubdtype(target.dtype, jnp.floating):
            raise TypeError(f"MSE.loss needs a floating target, got {target.dtype}")
        if target.shape != self.mean.shape:
            raise ValueError(f"MSE.loss: target shape {target.shape} != {self.mean.shape}")
        target = _float32(target)
        if self.squash is not None:
            target = self.squash(target)
        return jnp.square(self.mean - stop_gradient(target))


@register_pytree_node_class
class Normal(Output):
    def __init__(self, mean: jax.Array, stddev: jax.Array | float = 1.0):
        self.mean = _float32(mean)
        self.stddev = jnp.broadcast_to(_float32(stddev), self.mean.shape)

    def tree_flatten(self):
        return (self.mean, self.stddev), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return _rebuild(cls, mean=children[0], stddev=children[1])

    def pred(self) -> jax.Array:
        return self.mean

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        noise = jax.random.normal(key, shape + self.mean.shape, jnp.float32)
        return noise * self.stddev + self.mean

    def logp(self, event: jax.Array) -> jax.Array:
        return jax.scipy.stats.norm.logpdf(_float32(event), self.mean, self.stddev)

    def entropy(self) -> jax.Array:
        return 0.5 * jnp.log(2 * jnp.pi * jnp.square(self.stddev)) + 0.5

    def kl(self, other: Normal) -> jax.Array:
        return 0.5 * (
            jnp.square(self.stddev / other.stddev)
            + jnp.square(other.mean - self.mean) / jnp.square(other.stddev)
            + 2 * jnp.log(other.stddev)
            - 2 * jnp.log(self.stddev)
            - 1
        )


def bounded_normal(mean: jax.Array, stddev: jax.Array, minstd: float, maxstd: float) -> Normal:
    """The official policy's continuous output: tanh mean, stddev squashed into
    [minstd, maxstd] with the raw value shifted by 2 (heads.py Head.bounded_normal)."""
    stddev = (maxstd - minstd) * jax.nn.sigmoid(stddev + 2.0) + minstd
    return Normal(jnp.tanh(mean), stddev)


def symexp_bins(count: int) -> jax.Array:
    """Two-hot bins: symexp of points evenly spaced over [-20, 20], built from the negative
    half and mirrored so the middle bin is exactly 0 and the bins exactly symmetric. Stored in
    raw space (heads.py Head.symexp_twohot)."""
    if count % 2 == 1:
        half = symexp(jnp.linspace(-20, 0, (count - 1) // 2 + 1, dtype=jnp.float32))
        return jnp.concatenate([half, -half[:-1][::-1]], 0)
    half = symexp(jnp.linspace(-20, 0, count // 2, dtype=jnp.float32))
    return jnp.concatenate([half, -half[::-1]], 0)
