"""Read what mmengine writes into a work_dir: scalars and test metrics.

mmengine's ``LoggerHook`` writes one ``<work_dir>/<timestamp>/vis_data/
scalars.json`` per start of ``tools/train.py``: a run resumed with
``--resume`` gets a new timestamped folder holding only what it logged after
the resume. :func:`read_scalars` joins every folder of a work_dir in time
order, so curves cover the whole run. ``tools/test.py`` writes its metrics to
``<test_dir>/<timestamp>/<timestamp>.json``, read by :func:`read_test_metrics`.
"""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

Curve = List[Tuple[int, float]]

# Keys of a logged record that are bookkeeping, not a quantity to plot.
BOOKKEEPING_KEYS = frozenset(('step', 'iter', 'epoch', 'time', 'data_time',
                              'memory', 'lr', 'base_lr'))


class Scalars(NamedTuple):
    """The scalars of one training run, joined over its resumes.

    Attributes:
        train: Training records (those with an ``iter``), key -> points
            (iteration, value); includes ``epoch`` in epoch-based runs.
        val: Validation metrics, key -> points (step, value), where the step
            is the epoch in epoch-based runs and the iteration in
            iteration-based ones (those whose training records have no
            ``epoch``).
        val_iters: For epoch-based runs, epoch -> the last training
            iteration logged in that epoch (where a validation point lies on
            an iteration axis); empty for iteration-based runs.
    """
    train: Dict[str, Curve]
    val: Dict[str, Curve]
    val_iters: Dict[int, int]


def scalars_files(work_dir: str) -> List[str]:
    """``<work_dir>/<timestamp>/vis_data/scalars.json`` files, oldest first.

    mmengine names the folders ``%Y%m%d_%H%M%S``, so their names sort in time
    order.
    """
    paths = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json under {work_dir!r}: pass '
            'the --work-dir of a tools/train.py run')
    return paths


def _read_records(path: str) -> Tuple[List[dict], List[dict]]:
    """(training records, validation records) of one scalars.json.

    A validation record's ``step`` is made the step it is plotted at (see
    :class:`Scalars`): mmengine logs the epoch there, which is 0 for every
    validation of an iteration-based run (``IterBasedTrainLoop`` with the
    default ``log_metric_by_epoch=True``). There the step becomes the
    iteration of the training record logged before the validation, which
    is the validation's iteration when the logger interval divides
    ``val_interval`` (else the last logged one before it), or the logged
    step when that is larger (``log_metric_by_epoch=False`` logs the
    iteration itself).
    """
    train, val = [], []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if 'iter' in record:
                train.append(record)
            else:
                if train and 'epoch' not in train[-1]:
                    record = dict(record, step=max(record.get('step', 0),
                                                   train[-1]['iter']))
                val.append(record)
    return train, val


def _add(curves: Dict[str, Dict[int, float]], step: int, record: dict,
         keep: Sequence[str] = ()) -> None:
    for key, value in record.items():
        if (key not in BOOKKEEPING_KEYS or key in keep) and isinstance(
                value, (int, float)) and not isinstance(value, bool):
            curves.setdefault(key, {})[step] = float(value)


def _truncate(curves: Dict[str, Dict[int, float]], first: int) -> None:
    """Drop the points at or after ``first``: a later run logged them anew."""
    for points in curves.values():
        for step in [s for s in points if s >= first]:
            del points[step]


def read_scalars(work_dir: str) -> Scalars:
    """Join every ``scalars.json`` of ``work_dir`` in time order.

    A later folder continues the run from its first logged iteration: what
    the earlier folders logged from there on (iterations a killed run
    logged after its last checkpoint, and their validations) is replaced.

    Args:
        work_dir: The ``--work-dir`` of a training run.

    Returns:
        The joined :class:`Scalars`.
    """
    train: Dict[str, Dict[int, float]] = {}
    val: Dict[str, Dict[int, float]] = {}
    for path in scalars_files(work_dir):
        train_records, val_records = _read_records(path)
        if train_records:
            first = train_records[0]
            _truncate(train, first['iter'])
            _truncate(val, first.get('epoch', first['iter']))
        for record in train_records:
            _add(train, record['iter'], record, keep=('epoch', ))
        for record in val_records:
            _add(val, record['step'], record)
    epochs = train.get('epoch', {})
    val_iters: Dict[int, int] = {}
    for step, epoch in epochs.items():
        val_iters[int(epoch)] = max(step, val_iters.get(int(epoch), step))
    return Scalars(
        train={k: sorted(v.items()) for k, v in train.items() if v},
        val={k: sorted(v.items()) for k, v in val.items() if v},
        val_iters=val_iters)


def mean_iter_time(work_dir: str) -> Optional[float]:
    """Mean logged ``time`` (wall seconds per training iteration) of a run.

    Averages the ``time`` of every training record of every start of the
    run (a resumed run's repeated iterations count twice); None when none
    was logged.
    """
    times = [
        record['time'] for path in scalars_files(work_dir)
        for record in _read_records(path)[0] if 'time' in record
    ]
    return sum(times) / len(times) if times else None


def last_epoch_mean(scalars: Scalars, key: str) -> Optional[float]:
    """Mean of a training curve over the last epoch it was logged in.

    Used for statistics logged every few iterations, such as a
    ``RankingAnalysisHook``'s ``<head>.rank_corr``; None if the run did not
    log ``key``. Iteration-based runs (no ``epoch``) use the last value.
    """
    points = scalars.train.get(key)
    if not points:
        return None
    epochs = dict(scalars.train.get('epoch', []))
    if not epochs:
        return points[-1][1]
    last = max(epochs.get(step, -1) for step, _ in points)
    values = [v for step, v in points if epochs.get(step, -1) == last]
    return sum(values) / len(values)


def read_test_metrics(test_dir: str) -> Optional[Dict[str, float]]:
    """The numeric metrics of the newest ``tools/test.py`` run in a folder.

    Args:
        test_dir: The ``--work-dir`` given to ``tools/test.py``.

    Returns:
        key -> value from ``<test_dir>/<timestamp>/<timestamp>.json``, a list
        of numbers (a per-class metric) as ``key[0]``, ``key[1]``, ...; or
        None when no test finished there.
    """
    paths = sorted(
        p for p in glob.glob(osp.join(test_dir, '*', '*.json'))
        if osp.basename(p) == osp.basename(osp.dirname(p)) + '.json')
    if not paths:
        return None
    with open(paths[-1]) as f:
        record = json.load(f)
    metrics = {}
    for key, value in record.items():
        if key in BOOKKEEPING_KEYS:
            continue
        # per-class lists (e.g. mmpretrain's AP_classwise) become key[i]
        if isinstance(value, list):
            named = [(f'{key}[{i}]', item) for i, item in enumerate(value)]
        else:
            named = [(key, value)]
        for name, item in named:
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                metrics[name] = float(item)
    return metrics


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for a single value)."""
    if not values:
        raise ValueError('mean_std needs at least one value')
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)
