"""Fine-tuning the last blocks of EfficientNet-Lite0 (random weights, tiny patches)."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.errors import JobCancelled, ModelError  # noqa: E402
from ml.severity.efficientnet_lite import build_lite0  # noqa: E402
from ml.severity.finetune import (  # noqa: E402
    FineTuneConfig,
    Lite0Front,
    fine_tune,
    is_tail_key,
    load_tail,
    tail_state,
)

SIZE = 32  # the network runs on any size; 32 px keeps a step in milliseconds


@pytest.fixture(scope="module")
def front() -> Lite0Front:
    torch.manual_seed(0)
    return Lite0Front(FineTuneConfig(input_size=SIZE, epochs=2, batch_size=8), model=build_lite0())


def _crops(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(n)]


def test_a_step_changes_only_the_unfrozen_parameters(front: Lite0Front) -> None:
    maps = front.extract(_crops(16))
    assert maps.shape == (16, front.dim) and front.dim == int(np.prod(front.shape))
    model = copy.deepcopy(front.model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = FineTuneConfig(input_size=SIZE, epochs=1, batch_size=8)
    tuned = fine_tune(model, maps, front.shape, np.linspace(0, 1, 16, dtype=np.float32), config)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed, "the step changed nothing"
    assert all(is_tail_key(k, config.start) for k in changed)
    # Both tuned blocks and the head conv learned; the frozen front did not move.
    assert any(k.startswith("_blocks.14.") for k in changed)
    assert any(k.startswith("_blocks.15.") for k in changed)
    assert any(k.startswith("_conv_head.") for k in changed)
    assert not any(k.startswith(("_blocks.13.", "_conv_stem.", "_bn0.")) for k in changed)
    # Batch norm keeps its running statistics (eval mode) - only parameters move.
    assert not any(k.endswith(("running_mean", "running_var")) for k in changed)
    assert len(tuned.losses) == 1 and np.isfinite(tuned.losses[0])
    # The network the extractor holds is untouched (each fold tunes a copy).
    assert all(torch.equal(v, before[k]) for k, v in front.model.state_dict().items())


def test_one_block_tunes_only_the_last_block(front: Lite0Front) -> None:
    config = FineTuneConfig(blocks=1, input_size=SIZE, epochs=1, batch_size=8)
    one = Lite0Front(config, model=copy.deepcopy(front.model))
    model = copy.deepcopy(one.model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fine_tune(
        model, one.extract(_crops(8)), one.shape, np.linspace(0, 1, 8, dtype=np.float32), config
    )
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and not any(k.startswith("_blocks.14.") for k in changed)


def test_cancel_stops_fine_tuning_between_batches(front: Lite0Front) -> None:
    maps = front.extract(_crops(32))
    cancel = threading.Event()
    steps: list[int] = []

    def progress(done: int, total: int, message: str) -> None:
        steps.append(done)
        cancel.set()  # the user presses Cancel during the first batch

    config = FineTuneConfig(input_size=SIZE, epochs=5, batch_size=8)
    with pytest.raises(JobCancelled):
        fine_tune(
            copy.deepcopy(front.model),
            maps,
            front.shape,
            np.zeros(32, np.float32),
            config,
            progress=progress,
            cancel=cancel,
        )
    assert steps == [1]  # 20 batches asked for, one ran


def test_a_stored_tail_loads_back_and_a_wrong_one_is_refused(front: Lite0Front) -> None:
    config = FineTuneConfig(input_size=SIZE, epochs=1, batch_size=8)
    model = copy.deepcopy(front.model)
    fine_tune(model, front.extract(_crops(8)), front.shape, np.ones(8, np.float32), config)
    state = tail_state(model, config.start)
    fresh = copy.deepcopy(front.model)
    load_tail(fresh, state, config.start)
    x = torch.from_numpy(
        np.random.default_rng(2).normal(size=(2, 3, SIZE, SIZE)).astype(np.float32)
    )
    with torch.inference_mode():
        assert torch.allclose(fresh.features(x), model.features(x))
    state.pop(next(iter(state)))
    with pytest.raises(ModelError, match="1 missing"):
        load_tail(fresh, state, config.start)
    with pytest.raises(ModelError, match="1 to 4"):
        _ = FineTuneConfig(blocks=9).start
