"""Shared Flax building blocks."""

from jaxgen.nn.conv import ConvDecoder, ConvEncoder, depth_to_space
from jaxgen.nn.layers import Conv
from jaxgen.nn.mlp import MLP

__all__ = ["MLP", "Conv", "ConvDecoder", "ConvEncoder", "depth_to_space"]
