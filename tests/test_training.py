import math

import pytest
import torch

from specbias._validation import DivergenceError, ParameterError
from specbias.nn import MLP, ShallowNet
from specbias.training import LossRecorder, ParamNormRecorder, train


def _data():
    X = torch.linspace(0, 1, 64)[:, None]
    return X, torch.sin(2 * math.pi * X[:, 0])


def test_training_reduces_loss_and_records():
    torch.manual_seed(0)
    rec, norms = LossRecorder(every=10), ParamNormRecorder(every=50)
    res = train(MLP(1, 32, 2), _data(), steps=200, lr=1e-2, callbacks=[rec, norms], progress=False)
    assert not res.diverged and res.steps_done == 200
    loss = res.records["loss"]["loss"]
    assert res.records["loss"]["step"] == list(range(0, 201, 10))
    assert loss[-1] < 0.5 * loss[0]
    assert len(res.records["param_norms"]["step"]) == 5
    assert all(v > 0 for v in res.records["param_norms"]["layers.0.weight"])


def test_divergence_is_detected_and_records_kept():
    torch.manual_seed(0)
    model = ShallowNet(1, 16, "relu", scale=5.0)
    rec = LossRecorder(every=1)
    res = train(model, _data(), steps=500, optimizer="sgd", lr=1e3, callbacks=[rec],
                progress=False)
    assert res.diverged and "non-finite" in res.message
    assert res.steps_done < 500 and len(rec.record["loss"]) == res.steps_done + 1
    with pytest.raises(DivergenceError):
        train(ShallowNet(1, 16, "relu", scale=5.0), _data(), steps=500, optimizer="sgd", lr=1e3,
              progress=False, raise_on_divergence=True)


def test_minibatches_are_reproducible():
    def run():
        torch.manual_seed(1)
        g = torch.Generator().manual_seed(3)
        m = MLP(1, 8, 1)
        return train(m, _data(), steps=30, batch_size=16, generator=g, progress=False).final_loss

    assert run() == run()


def test_bad_inputs():
    with pytest.raises(ParameterError, match="steps"):
        train(MLP(1, 4, 1), _data(), steps=-1)
    with pytest.raises(ParameterError, match="pair"):
        train(MLP(1, 4, 1), torch.zeros(3), steps=1)
    with pytest.raises(ParameterError, match="loss"):
        train(MLP(1, 4, 1), _data(), steps=1, loss="hinge")
    with pytest.raises(ParameterError, match="shape"):
        MLP(2, 4, 1)(torch.zeros(3, 3))
