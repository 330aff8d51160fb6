"""The decoder's fused upsample-and-convolve against the official order of operations
(nearest 2x upsampling by repeat, then a SAME convolution), values and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reimpl.nets import Conv2D
from reimpl.upsample_conv import UpsampleConv2D, upsample_conv


def _repeat_then_conv(x, kernel):
    x = x.repeat(2, -2).repeat(2, -3)
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("height, width", [(4, 4), (3, 5)])
def test_upsample_conv_equals_repeat_then_conv(size, height, width):
    x = jax.random.normal(jax.random.key(0), (2, height, width, 3))
    kernel = jax.random.normal(jax.random.key(1), (size, size, 3, 4))
    expected = _repeat_then_conv(x, kernel)
    # float32 rounding of differently ordered sums of up to 25 * 3 products of O(1) terms.
    np.testing.assert_allclose(upsample_conv(x, kernel), expected, rtol=1e-5, atol=1e-5)

    def loss(f):
        return lambda x, kernel: (f(x, kernel) * jnp.cos(f(x, kernel))).sum()

    ours = jax.grad(loss(upsample_conv), (0, 1))(x, kernel)
    theirs = jax.grad(loss(_repeat_then_conv), (0, 1))(x, kernel)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.abs(b).max()))


def test_upsample_conv_2d_has_the_parameters_of_conv_2d():
    x = jnp.ones((1, 4, 4, 3))
    ours = UpsampleConv2D(8, 5, outscale=0.5).init(jax.random.key(0), x)
    theirs = Conv2D(8, 5, outscale=0.5).init(jax.random.key(0), x)
    shapes = lambda tree: jax.tree.map(jnp.shape, tree)  # noqa: E731
    assert shapes(ours) == shapes(theirs)
    np.testing.assert_array_equal(ours["params"]["kernel"], theirs["params"]["kernel"])
    out = UpsampleConv2D(8, 5).apply(ours, x)
    assert out.shape == (1, 8, 8, 8)
