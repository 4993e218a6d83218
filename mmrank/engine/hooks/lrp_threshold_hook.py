"""Test a detector at its class-wise LRP-optimal score thresholds."""
from contextlib import ExitStack

from mmengine.hooks import Hook

from mmrank.evaluation.lrp_thresholds import (ThresholdSource,
                                              read_lrp_thresholds,
                                              thresholded_predictions,
                                              thresholds_by_label)
from mmrank.registry import register


@register('mmdet', 'HOOKS')
class LRPThresholdHook(Hook):
    """Keep, at test time, the detections above their class's threshold.

    During ``runner.test()`` the model's predictions keep a detection of
    class c only when its score >= ``thresholds[c]`` (a forward hook, see
    :mod:`mmrank.evaluation.lrp_thresholds`), so the test evaluator, the dumped
    results and the visualisation hook all see the deployed detections.
    mmdet's ``DetVisualizationHook`` draws every kept detection meanwhile
    (its own ``score_thr``, 0.3 by default, would hide the many correct
    detections of ranking-loss detectors, whose optimal thresholds are often
    below 0.1). ``tools/test.py --lrp-thresholds FILE`` adds this hook.

    Args:
        thresholds: Path of a ``bbox_lrp_thresholds.json`` written by
            ``LRPMetric`` or ``eval_lrp.py``, or its content (class name ->
            ``{"threshold": score or None}``); read when the hook is built.
    """

    def __init__(self, thresholds: ThresholdSource) -> None:
        read_lrp_thresholds(thresholds)  # a malformed file fails here
        self.thresholds = thresholds
        self._active = ExitStack()

    def before_test(self, runner) -> None:
        """Filter the predictions with the thresholds of the test set's
        classes; the visualiser draws every kept detection."""
        from mmdet.engine.hooks import DetVisualizationHook
        classes = runner.test_loop.dataloader.dataset.metainfo['classes']
        self._active.enter_context(
            thresholded_predictions(
                runner.model, thresholds_by_label(self.thresholds, classes)))
        for hook in runner.hooks:
            if isinstance(hook, DetVisualizationHook):
                self._active.callback(setattr, hook, 'score_thr',
                                      hook.score_thr)
                hook.score_thr = 0.0

    def after_test(self, runner) -> None:
        """Remove the filter and restore the visualiser's ``score_thr``."""
        self._active.close()
