"""Supervised land cover classification of a season's features, trained on survey plots.

The flow is::

    features = build_features(season)                 # geo.features
    trained = train_classifier(features, survey_plots)  # split by plot, held-out confusion
    outputs = classify(features, trained, run_dir)      # classes.tif, class_probability.tif
    save_model(trained, run_dir / "model.joblib")

Training pixels come from the plots: the interior pixels of each polygon (pixel
centre at least half a pixel inside the boundary, so mixed edge pixels are left
out, falling back to every pixel whose centre is inside for fields too small to
have an interior) and a small square of pixels centred on each point
(``point_window_px``), at most ``max_pixels_per_plot`` per plot so large
fields do not drown small ones. Plots, never pixels, are split between
training and held-out validation: pixels of one field are strongly correlated,
and a pixel split would report the accuracy of recognising fields already seen.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import joblib
import numpy as np
import pandas as pd
import xarray as xr
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from core.errors import InvalidInputError
from core.io import available_cores
from core.legend import name_of
from geo.class_maps import ClassificationOutputs, write_class_maps
from geo.features import build_features
from geo.model import TrainedClassifier, load_model, save_model
from geo.training import training_samples

__all__ = [
    "build_features",
    "train_classifier",
    "classify",
    "save_model",
    "load_model",
    "TrainedClassifier",
    "ClassificationOutputs",
    "training_samples",
    "split_plots",
    "confusion_table",
]

logger = logging.getLogger(__name__)

ESTIMATORS = ("random_forest", "hist_gradient_boosting")

FOREST_TREES = 100
"""Trees of the random forest. Fifty predict twice as fast, and their maps are as accurate
overall, but poppy F1 is 0.5-1.2 points lower and the demo found fewer of its built-in
programme decreases (10 of 16 against 14 of 16, over four seeds): benchmark README,
"Fifty trees instead of a hundred: measured, not adopted"."""

FOREST_MAX_SAMPLES = 15_000
"""Training pixels each tree grows on, at most: when the plots give more, each tree's
bootstrap sample has this many (otherwise as many as there are, scikit-learn's default).
Without it the trees grow with the survey (the forest's nodes, its fit, its prediction
per pixel and the model every worker holds); with it they stop growing. On the 16x demo
region (29,866 training pixels) the fit took 3.4 s instead of 5.2 and prediction 2.97 s
per Mpx instead of 3.30, with the same map accuracy against the truth (benchmark README,
"The forest, the reference sample and the scratch files"). The demo (about 7,500
training pixels) and the 4x region (14,635) stay below it: their forests are unchanged."""


def split_plots(
    plot_classes: pd.Series, *, holdout_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split plot ids into training and held-out sets, stratified by class.

    Each class with at least two plots keeps at least one plot on each side
    (``round(holdout_fraction * n)`` held out, between 1 and ``n - 1``); a class
    with a single plot trains only. Written out rather than with
    ``StratifiedGroupKFold`` because that splitter cannot promise every class on
    both sides when classes have few plots.

    Parameters
    ----------
    plot_classes : pandas.Series
        Class code per plot, indexed by plot id.
    holdout_fraction : float
        Share of each class's plots held out, in (0, 1).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Training plot ids and held-out plot ids, disjoint.
    """
    if not 0 < holdout_fraction < 1:
        raise InvalidInputError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    rng = np.random.default_rng(seed)
    train, holdout = [], []
    for code in sorted(plot_classes.unique()):
        ids = np.sort(plot_classes.index[plot_classes == code].to_numpy())
        ids = ids[rng.permutation(len(ids))]
        if len(ids) < 2:
            logger.warning(
                "class %s has a single training plot (%s): it trains the model but cannot be "
                "validated; survey more plots of it",
                name_of(code),
                ids[0],
            )
            train.extend(ids)
            continue
        n_holdout = min(max(1, round(holdout_fraction * len(ids))), len(ids) - 1)
        holdout.extend(ids[:n_holdout])
        train.extend(ids[n_holdout:])
    return np.array(train), np.array(holdout)


def _make_estimator(estimator: str, seed: int, n_train: int) -> Any:
    """The scikit-learn model that ``n_train`` training pixels will fit."""
    if estimator == "random_forest":
        # The trees grow in threads (scikit-learn asks joblib for threads), one per
        # core this process may use, inside a Dask worker too; the trees are the same
        # whatever the number of jobs (each tree's seed is drawn before they grow).
        # Prediction of the map sets one job and runs blocks side by side instead.
        return RandomForestClassifier(
            n_estimators=FOREST_TREES,
            n_jobs=available_cores(),
            random_state=seed,
            max_samples=FOREST_MAX_SAMPLES if n_train > FOREST_MAX_SAMPLES else None,
        )
    if estimator == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(random_state=seed, early_stopping=False)
    raise InvalidInputError(f"unknown estimator {estimator!r}; choose one of {ESTIMATORS}")


def confusion_table(
    predicted: np.ndarray, reference: np.ndarray, codes: np.ndarray
) -> pd.DataFrame:
    """Counts of (map class, reference class) pairs, rows = map, columns = reference, by name."""
    names = [name_of(c) for c in codes]
    table = pd.crosstab(
        pd.Categorical(predicted, categories=codes),
        pd.Categorical(reference, categories=codes),
        dropna=False,
    )
    table.index = pd.Index(names, name="map_class")
    table.columns = pd.Index(names, name="reference_class")
    return table.astype(np.int64)


def train_classifier(
    features: xr.DataArray,
    training: gpd.GeoDataFrame,
    *,
    label_column: str = "land_cover",
    plot_id_column: str = "plot_id",
    seed: int = 0,
    holdout_fraction: float = 0.3,
    max_pixels_per_plot: int = 200,
    point_window_px: int = 5,
    estimator: str = "random_forest",
) -> TrainedClassifier:
    """Train a pixel classifier on survey plots and measure it on held-out plots.

    Parameters
    ----------
    features : xarray.DataArray
        ``(feature, y, x)`` season features (:func:`geo.features.build_features`).
    training : geopandas.GeoDataFrame
        Survey plots and any extra labelled polygons (e.g. fields digitised on drone
        orthomosaics): polygons or points in any CRS, a class name per row in
        ``label_column`` and a plot id in ``plot_id_column``.
    label_column, plot_id_column : str
        Column names.
    seed : int, default 0
        Seeds the pixel cap, the plot split and the model: same inputs, same model.
    holdout_fraction : float, default 0.3
        Share of each class's plots held out for the confusion matrix.
    max_pixels_per_plot : int, default 200
        Cap on training pixels per plot.
    point_window_px : int, default 5
        Side of the pixel square a point plot labels (see
        :func:`geo.features.training_samples`).
    estimator : {"random_forest", "hist_gradient_boosting"}
        The scikit-learn model (``FOREST_TREES`` trees grown on every core this process may use,
        each on at most ``FOREST_MAX_SAMPLES`` pixels; or gradient boosting).

    Returns
    -------
    TrainedClassifier
        The model fitted on the training plots only, so ``confusion`` describes
        the very model that draws the map.

    Raises
    ------
    InvalidInputError
        No plot inside the raster, an unknown class, or a single class only.

    Examples
    --------
    >>> trained = train_classifier(features, plots, seed=0)  # doctest: +SKIP
    >>> trained.confusion.loc["opium_poppy", "opium_poppy"]  # doctest: +SKIP
    """
    samples = training_samples(
        features,
        training,
        label_column=label_column,
        plot_id_column=plot_id_column,
        max_pixels_per_plot=max_pixels_per_plot,
        point_window_px=point_window_px,
        seed=seed,
    )
    feature_names = tuple(str(f) for f in features["feature"].values)
    plot_classes = samples.groupby("plot_id")["code"].agg(lambda c: c.mode().iloc[0])
    if plot_classes.nunique() < 2:
        raise InvalidInputError(
            "training plots inside the raster cover a single class "
            f"({name_of(plot_classes.iloc[0])}); "
            "a classifier needs at least two"
        )
    train_ids, holdout_ids = split_plots(plot_classes, holdout_fraction=holdout_fraction, seed=seed)
    is_train = samples["plot_id"].isin(train_ids).to_numpy()
    model = _make_estimator(estimator, seed, int(is_train.sum()))
    # Threads, so that joblib does not drop to one job inside a (daemon) Dask worker.
    with joblib.parallel_config(backend="threading"):
        model.fit(samples.loc[is_train, list(feature_names)].to_numpy(), samples["code"][is_train])
    # The probability bands follow the model's classes; a code seen only in pixels of a
    # held-out plot still gets a row and a column in the confusion matrix.
    classes = np.asarray(model.classes_)
    table_codes = np.union1d(classes, samples["code"].unique())

    held = samples[~is_train]
    if len(held):
        with joblib.parallel_config(backend="threading"):
            predicted = model.predict(held[list(feature_names)].to_numpy())
        confusion = confusion_table(predicted, held["code"].to_numpy(), table_codes)
        accuracy = float(np.trace(confusion.to_numpy()) / confusion.to_numpy().sum())
    else:
        logger.warning("no class has two plots: nothing held out, accuracy unknown")
        confusion = confusion_table(np.empty(0, int), np.empty(0, int), table_codes)
        accuracy = float("nan")
    logger.info(
        "%s trained on %d plots (%d px), held-out accuracy %.3f on %d plots (%d px)",
        estimator,
        len(train_ids),
        int(is_train.sum()),
        accuracy,
        len(holdout_ids),
        len(held),
    )
    return TrainedClassifier(
        model=model,
        classes=classes,
        class_names=tuple(name_of(c) for c in classes),
        feature_names=feature_names,
        confusion=confusion,
        holdout_accuracy=accuracy,
        n_train_plots=len(train_ids),
        n_holdout_plots=len(holdout_ids),
        train_plot_ids=tuple(str(i) for i in train_ids),
        holdout_plot_ids=tuple(str(i) for i in holdout_ids),
        params={
            "estimator": estimator,
            "seed": seed,
            "holdout_fraction": holdout_fraction,
            "max_pixels_per_plot": max_pixels_per_plot,
            "point_window_px": point_window_px,
            "n_train_pixels": int(is_train.sum()),
            "n_holdout_pixels": len(held),
        },
    )


def classify(
    features: xr.DataArray, trained: TrainedClassifier, out_dir: str | Path, *, tile_px: int = 512
) -> ClassificationOutputs:
    """Map every pixel's class and class probabilities, block by block, as COGs.

    Parameters
    ----------
    features : xarray.DataArray
        ``(feature, y, x)`` with the same feature names as the training features.
    trained : TrainedClassifier
        From :func:`train_classifier` or :func:`load_model`.
    out_dir : str or Path
        Where ``classes.tif``, ``class_probability.tif`` and ``confusion_matrix.csv`` go.
    tile_px : int, default 512
        COG tile size, a multiple of 16 and at least 128 (GDAL's COG driver);
        overviews are built down to about one tile.

    Returns
    -------
    ClassificationOutputs
        Paths of the three files. ``classes.tif``: uint8 legend codes, 0 = no data
        (no valid date). ``class_probability.tif``: one uint8 band per class in
        ``trained.classes`` order, probability in percent (0-100), 255 = no data,
        band descriptions = class names.

    Raises
    ------
    InvalidInputError
        The feature names differ from those the model was trained on.
    """
    if tile_px < 128 or tile_px % 16:
        raise InvalidInputError(f"tile_px must be a multiple of 16 and at least 128, got {tile_px}")
    names = tuple(str(f) for f in features["feature"].values)
    if names != tuple(trained.feature_names):
        raise InvalidInputError(
            f"features {list(names)} differ from the model's {list(trained.feature_names)}; "
            "build the features from a season with the same months as the training season"
        )
    return write_class_maps(features, trained, Path(out_dir), tile_px=tile_px)
