"""Convert the BCCD blood-cell set (Pascal VOC XML) to COCO json.

Each split of ``ImageSets/Main/{train,val,test}.txt`` becomes
``OUT/annotations/{split}.json``; degenerate boxes (``xmax <= xmin`` or
``ymax <= ymin``) are dropped and reported. ``OUT/JPEGImages`` is made a
symbolic link to the source images so that configs read
``data_root=OUT, data_prefix=dict(img='JPEGImages/')``.

Example:
    python tools/dataset_converters/bccd2coco.py ../shared/data/bccd/BCCD \
        --out-dir data/bccd
"""
import argparse
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

CLASSES = ('RBC', 'WBC', 'Platelets')
SPLITS = ('train', 'val', 'test')


def parse_voc_xml(path: str) -> Tuple[dict, List[Tuple[str, List[float]]]]:
    """Read one VOC annotation: image size and ``(class, [x1, y1, x2, y2])``.

    VOC coordinates are 1-based and inclusive; the returned box is 0-based
    with exclusive right/bottom edges, i.e. ``[xmin - 1, ymin - 1, xmax, ymax]``.
    """
    root = ET.parse(path).getroot()
    size = root.find('size')
    image = dict(file_name=root.findtext('filename').strip(),
                 width=int(size.findtext('width')),
                 height=int(size.findtext('height')))
    if not osp.splitext(image['file_name'])[1]:
        image['file_name'] += '.jpg'
    objects = []
    for obj in root.iter('object'):
        box = obj.find('bndbox')
        x1, y1, x2, y2 = (float(box.findtext(k))
                          for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        objects.append((obj.findtext('name').strip(), [x1 - 1, y1 - 1, x2, y2]))
    return image, objects


def convert_split(voc_root: str, split: str) -> Tuple[dict, int]:
    """Build the COCO dict of one split; returns it and the dropped-box count."""
    with open(osp.join(voc_root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        names = [line.strip() for line in f if line.strip()]
    coco: Dict[str, list] = dict(
        images=[], annotations=[],
        categories=[dict(id=i + 1, name=c) for i, c in enumerate(CLASSES)])
    dropped = 0
    for image_id, name in enumerate(names, start=1):
        image, objects = parse_voc_xml(
            osp.join(voc_root, 'Annotations', f'{name}.xml'))
        coco['images'].append(dict(id=image_id, **image))
        for cls, (x1, y1, x2, y2) in objects:
            if x2 <= x1 + 1 or y2 <= y1 + 1:
                dropped += 1
                continue
            w, h = x2 - x1, y2 - y1
            coco['annotations'].append(
                dict(id=len(coco['annotations']) + 1, image_id=image_id,
                     category_id=CLASSES.index(cls) + 1, bbox=[x1, y1, w, h],
                     area=w * h, iscrowd=0))
    return coco, dropped


def convert_bccd(voc_root: str, out_dir: str) -> Dict[str, dict]:
    """Convert every split and link the images; returns the COCO dicts."""
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    link = osp.join(out_dir, 'JPEGImages')
    if not osp.exists(link):
        os.symlink(osp.abspath(osp.join(voc_root, 'JPEGImages')), link)
    results = {}
    for split in SPLITS:
        coco, dropped = convert_split(voc_root, split)
        with open(osp.join(out_dir, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(coco, f)
        print(f"{split}: {len(coco['images'])} images, "
              f"{len(coco['annotations'])} boxes, {dropped} degenerate dropped")
        results[split] = coco
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('voc_root', help='folder holding Annotations/, '
                        'ImageSets/ and JPEGImages/')
    parser.add_argument('--out-dir', default='data/bccd')
    args = parser.parse_args()
    convert_bccd(args.voc_root, args.out_dir)


if __name__ == '__main__':
    main()
