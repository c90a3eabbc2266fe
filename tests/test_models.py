"""Weight initialisation choices ([model] init)."""

import math

import pytest
import torch
from torch import nn

from engine import ConfigError, apply_overrides, load_preset
from engine.models import build_models


def _layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


def _build(preset, init, shape):
    cfg = apply_overrides(load_preset(preset), [f'model.init="{init}"'])
    torch.manual_seed(0)
    return build_models(cfg, shape)


@pytest.mark.parametrize("preset, shape", [("toy-wgan-gp", (2,)), ("digits-wgan-gp", (1, 32, 32))])
def test_mixed_init_is_normal_but_for_the_critics_deeper_layers(preset, shape):
    g_n, f_n = _build(preset, "normal", shape)
    g_m, f_m = _build(preset, "mixed", shape)
    # the generator and the critic's input layer: DCGAN's N(0, 0.02) with zero biases, as 'normal'
    for a, b in zip(g_n.state_dict().values(), g_m.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    first_n, first_m = _layers(f_n)[0], _layers(f_m)[0]
    assert torch.equal(first_n.weight, first_m.weight)
    assert first_m.bias is None or not first_m.bias.any()
    # deeper critic layers: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases included
    for layer in _layers(f_m)[1:]:
        fan_in = layer.weight[0].numel()
        bound = 1 / math.sqrt(fan_in)
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound, "spread over the whole interval, not N(0, 0.02)"
        if layer.bias is not None:
            assert layer.bias.abs().max() <= bound and layer.bias.any()


def test_an_unknown_init_names_the_choices():
    with pytest.raises(ConfigError) as e:
        apply_overrides(load_preset("toy-wgan-gp"), ['model.init="xavier"'])
    assert "[model] init" in str(e.value) and "xavier" in str(e.value) and "'mixed'" in str(e.value)
