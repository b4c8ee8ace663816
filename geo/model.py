"""A trained classifier as a record, and its files: ``model.joblib`` plus a JSON sidecar."""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from core.errors import InvalidInputError
from core.io import atomic_path, atomic_write_json

__all__ = ["TrainedClassifier", "save_model", "load_model"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedClassifier:
    """A fitted classifier with what is needed to apply and judge it."""

    model: Any
    """The fitted scikit-learn estimator; ``model.classes_`` are legend codes."""
    classes: np.ndarray
    """Legend codes the model can predict, ascending (``core.legend``)."""
    class_names: tuple[str, ...]
    """Legend names of ``classes``, same order."""
    feature_names: tuple[str, ...]
    """Names of the features the model was trained on, in order."""
    confusion: pd.DataFrame
    """Held-out pixel counts: index = map (predicted) class name, columns = reference class name."""
    holdout_accuracy: float
    """Overall accuracy on held-out plots' pixels (NaN when no plot could be held out)."""
    n_train_plots: int
    """Plots whose pixels trained the model."""
    n_holdout_plots: int
    """Plots kept out of training and used for ``confusion``."""
    train_plot_ids: tuple[str, ...] = field(default=())
    """Plot ids used for training (as strings)."""
    holdout_plot_ids: tuple[str, ...] = field(default=())
    """Plot ids held out for validation (as strings); disjoint from ``train_plot_ids``."""
    params: dict[str, Any] = field(default_factory=dict)
    """Training parameters (estimator, seed, holdout fraction, pixel cap, pixel counts)."""


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def save_model(trained: TrainedClassifier, path: str | Path) -> Path:
    """Persist a trained classifier with joblib plus a JSON sidecar describing it.

    Parameters
    ----------
    trained : TrainedClassifier
        The classifier to keep with the run.
    path : str or Path
        Target, conventionally ``<run_dir>/model.joblib``; the sidecar is the same
        name with ``.json`` (feature names, classes, accuracy, library versions).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> save_model(trained, run_dir / "model.joblib")  # doctest: +SKIP
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        joblib.dump(trained, tmp, compress=3)
    atomic_write_json(
        _sidecar(path),
        {
            "feature_names": list(trained.feature_names),
            "classes": [int(c) for c in trained.classes],
            "class_names": list(trained.class_names),
            "holdout_accuracy": trained.holdout_accuracy,
            "n_train_plots": trained.n_train_plots,
            "n_holdout_plots": trained.n_holdout_plots,
            "params": trained.params,
            "confusion": trained.confusion.to_dict(orient="index"),
            "versions": _versions(),
        },
    )
    return path


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def load_model(path: str | Path) -> TrainedClassifier:
    """Load a classifier written by :func:`save_model`.

    joblib files are pickles: load only models from runs you trust.

    Parameters
    ----------
    path : str or Path
        The ``.joblib`` file.

    Returns
    -------
    TrainedClassifier

    Raises
    ------
    InvalidInputError
        The file does not hold a ``TrainedClassifier`` or disagrees with its sidecar.

    Examples
    --------
    >>> trained = load_model(run_dir / "model.joblib")  # doctest: +SKIP
    >>> classify(build_features(next_season), trained, next_run_dir)  # doctest: +SKIP
    """
    path = Path(path)
    trained = joblib.load(path)
    if not isinstance(trained, TrainedClassifier):
        raise InvalidInputError(
            f"{path} holds a {type(trained).__name__}, not a TrainedClassifier; "
            "write models with geo.model.save_model"
        )
    sidecar = _sidecar(path)
    if sidecar.exists():
        described = json.loads(sidecar.read_text(encoding="utf-8"))
        if described.get("feature_names") != list(trained.feature_names):
            raise InvalidInputError(
                f"{sidecar}: feature_names do not match the model in {path}; "
                "the two files come from different runs"
            )
        saved_with = described.get("versions", {}).get("scikit-learn")
        if saved_with and saved_with != sklearn.__version__:
            logger.warning(
                "%s was saved with scikit-learn %s, running %s: predictions may differ",
                path,
                saved_with,
                sklearn.__version__,
            )
    return trained
