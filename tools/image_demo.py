"""Detect objects in images with a trained mmdet detector and draw them.

::

    python tools/image_demo.py IMG CONFIG CKPT [--lrp-thresholds FILE] \
        [--out-dir DIR] [--device cpu] [--score-thr 0.3] [--cfg-options K=V]

``IMG`` is an image file or a folder of images. The drawings go to
``DIR/vis/<image name>``, the kept detections to ``DIR/preds/<image>.json``
(mmdet's ``DetInferencer``). With ``--lrp-thresholds`` (a
``bbox_lrp_thresholds.json`` of ``LRPMetric`` or ``eval_lrp.py``) a detection
of class c is kept, and drawn, when its score >= the class's LRP-optimal
threshold, whatever ``--score-thr``; without it, the detections with a score
above ``--score-thr`` are drawn. The model's own ``test_cfg.score_thr``
(0.05 in stock RetinaNet configs) still drops detections before either.
"""
import argparse
import os
import os.path as osp
from contextlib import ExitStack
from typing import List, Optional

import torch
from mmdet.apis import DetInferencer
from mmdet.apis.det_inferencer import IMG_EXTENSIONS
from mmengine.config import DictAction

import mmrank  # noqa: F401  (registration, weights-only checkpoints)
from mmrank.apis import thresholded_predictions, thresholds_by_label
from mmrank.utils import add_trust_checkpoint_argument, apply_trust_checkpoint
from mmrank.utils.package_configs import read_config
from mmrank.utils.tool_errors import explain_tool_errors


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Detect and draw objects')
    parser.add_argument('img', help='image file or folder of images')
    parser.add_argument('config', help='mmdet config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--lrp-thresholds', metavar='FILE',
        help="keep and draw the detections reaching their class's "
        'threshold in FILE (bbox_lrp_thresholds.json)')
    parser.add_argument(
        '--out-dir', default='outputs', help='where vis/ and preds/ go')
    parser.add_argument(
        '--device', default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device of the model, e.g. cpu or cuda:0')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='without --lrp-thresholds: lowest score drawn')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    add_trust_checkpoint_argument(parser)
    return parser.parse_args(argv)


def detect(args: argparse.Namespace) -> dict:
    """Run the detector on ``args.img``; returns DetInferencer's results."""
    images = image_files(args.img)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    inferencer = DetInferencer(
        model=cfg, weights=args.checkpoint, device=args.device)
    score_thr = args.score_thr
    with ExitStack() as stack:
        if args.lrp_thresholds:
            classes = inferencer.model.dataset_meta['classes']
            stack.enter_context(
                thresholded_predictions(
                    inferencer.model,
                    thresholds_by_label(args.lrp_thresholds, classes)))
            score_thr = 0.0  # the thresholds decided; draw what they kept
        results = inferencer(
            images, out_dir=args.out_dir, pred_score_thr=score_thr,
            no_save_pred=False)
    results.update(images=images, score_thr=score_thr,
                   classes=inferencer.model.dataset_meta['classes'])
    return results


def report(args: argparse.Namespace, results: dict) -> None:
    """Print, per image, where it was drawn and which detections."""
    for image, pred in zip(results['images'], results['predictions']):
        drawn = [(label, score, box) for label, score, box in zip(
            pred['labels'], pred['scores'], pred['bboxes'])
                 if score > results['score_thr']]
        print(f'{image}: drew {len(drawn)} detections -> '
              f"{osp.join(args.out_dir, 'vis', osp.basename(image))}")
        for label, score, box in drawn:
            print(f"  {results['classes'][label]}  score {score:.3f}  "
                  f"box {', '.join(f'{v:.1f}' for v in box)}")


def image_files(img: str) -> List[str]:
    """``img``, or the images of the folder ``img`` in name order."""
    if not osp.isdir(img):
        if not osp.isfile(img):
            raise FileNotFoundError(f'IMG {img} does not exist')
        return [img]
    files = sorted(name for name in os.listdir(img)
                   if name.lower().endswith(IMG_EXTENSIONS))
    if not files:
        raise FileNotFoundError(f'IMG folder {img} holds no image '
                                f'({", ".join(IMG_EXTENSIONS)})')
    return [osp.join(img, name) for name in files]


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    apply_trust_checkpoint(args)
    with explain_tool_errors():
        report(args, detect(args))


if __name__ == '__main__':
    main()
