"""Generate the MNIST digits detection set (COCO json + PNG images).

Example:
    python tools/dataset_converters/digits_detection.py --out-dir data/digits_det
"""
import argparse

from mmrank.datasets.digits_detection import generate_digits_detection


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='data/digits_det')
    parser.add_argument('--num-train', type=int, default=1600)
    parser.add_argument('--num-val', type=int, default=400)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    written = generate_digits_detection(
        args.out_dir, num_train=args.num_train, num_val=args.num_val,
        seed=args.seed)
    for split, path in written.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
