"""Every error the project raises about its input derives from one class."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import lcvade
import models
import service
import training
from models.errors import CheckpointError, LCVaDEError

# Errors about the program's own state or a signal, not about what a user gave it.
NOT_INPUT_ERRORS = {
    "service.batcher.BatcherClosed",
    "service.errors.ServiceError",
    "service.model_workers.ModelWorkerError",
    "service.model_workers.ModelWorkerLost",
    "training.job.TrainingInterrupted",
}


def project_exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for package in (models, lcvade, training, service):
        prefix = package.__name__ + "."
        for info in pkgutil.walk_packages(package.__path__, prefix):
            if info.name.endswith(".__main__"):  # runs the command line when imported
                continue
            module = importlib.import_module(info.name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__ == info.name:
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_input_error_is_an_lcvade_error_and_a_value_error():
    found = project_exceptions()
    assert len(found) > 15  # the walk reached the packages' modules
    assert set(found) >= NOT_INPUT_ERRORS
    outside = sorted(
        name
        for name, cls in found.items()
        if name not in NOT_INPUT_ERRORS and not issubclass(cls, LCVaDEError)
    )
    assert outside == []
    assert issubclass(LCVaDEError, ValueError)


def test_both_checkpoint_formats_raise_the_one_checkpoint_error():
    import lcvade.checkpoint
    import models.gi_checkpoint

    assert lcvade.checkpoint.CheckpointError is CheckpointError
    assert models.gi_checkpoint.CheckpointError is CheckpointError
    assert lcvade.CheckpointError is CheckpointError
