import pytest
import torch

from yomitori.models import count_flops, count_parameters, create_model, list_models, register_model

CLASSIFIERS = [e.name for e in list_models() if e.tiny and e.family in ("cnn", "vgg", "googlenet", "resnet")]


def test_registry_has_four_families_with_tiny_variants():
    fams = {e.family for e in list_models()}
    assert {"cnn", "vgg", "googlenet", "resnet"} <= fams
    assert len(CLASSIFIERS) >= 4


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):

        @register_model("cnn")
        def cnn():  # noqa: F811 - the point of the test
            return None


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("size, classes", [(28, 10), (48, 37), (64, 300)])
def test_forward_backward_tiny(name, size, classes):
    m = create_model(name, num_classes=classes, input_size=size)
    x = torch.randn(3, 1, size, size)
    out = m(x)
    assert out.shape == (3, classes)
    out.sum().backward()
    grads = [p.grad for p in m.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert count_parameters(m) > 0 and count_flops(m, x[:1]) > 0


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_overfit_one_batch(name):
    torch.manual_seed(0)
    m = create_model(name, num_classes=4, input_size=28)
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 4
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    m.eval()
    assert (m(x).argmax(1) == y).all(), f"{name} did not overfit one batch (loss {loss.item():.3f})"


def test_weights_round_trip(tmp_path):
    from yomitori.models.io import load_weights, save_weights

    m = create_model("cnn_tiny", num_classes=10, input_size=28)
    save_weights(m, tmp_path / "w.safetensors", {"task": "mnist"})
    m2, meta = load_weights(tmp_path / "w.safetensors")
    assert meta["model"] == "cnn_tiny" and meta["task"] == "mnist"
    x = torch.randn(2, 1, 28, 28)
    m.eval()
    assert torch.equal(m(x), m2(x))
