#!/usr/bin/env bash
# The main job: install what is missing, generate the digits detection set
# when absent, train the demo detector on CPU, evaluate it (COCO AP and oLRP),
# say where the log, checkpoint and plots are, and whether the result falls
# inside the range measured for the README.
#   bash tools/run_demo.sh [CONFIG] [train.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py}
WORK_DIR=${WORK_DIR:-work_dirs/$(basename "${CONFIG%.py}")}

bash tools/install_deps.sh
if [ ! -f data/digits_det/annotations/val.json ]; then
  python3 tools/dataset_converters/digits_detection.py --out-dir data/digits_det
fi

start=$(date +%s)
python3 tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "${@:2}"
trained=$(date +%s)
CKPT=$(cat "$WORK_DIR/last_checkpoint")
python3 tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test" \
  --out "$WORK_DIR/test/results.pkl"
end=$(date +%s)
python3 tools/analysis_tools/plot_training.py "$WORK_DIR" >/dev/null

cat <<MSG

== mmrank demo finished: training $((trained - start)) s, testing $((end - trained)) s
   config      $CONFIG
   log         $(ls -t "$WORK_DIR"/*/*.log | head -n 1)
   checkpoint  $CKPT
   predictions $WORK_DIR/test/results.pkl
   threads     $(python3 -c 'import torch; print(torch.get_num_threads())') (OMP_NUM_THREADS; another count gives other numbers, see README)
   plots       $WORK_DIR/loss_curves.png (losses, self-balancing weight, validation AP/oLRP per epoch)
               $(ls -d "$WORK_DIR"/test/*/bbox_lrp_plots | tail -n 1) (LRP against the score threshold, per class)
   thresholds  $(ls "$WORK_DIR"/test/*/bbox_lrp_thresholds.json | tail -n 1) (LRP-optimal score per class)
MSG

# Is the result what the demo gives? Compared with the runs measured for the
# README (seeds x thread counts); other configs or train.py arguments change
# what to expect, so they are not compared.
if [ $# -le 1 ]; then
  python3 tools/analysis_tools/demo_range.py check "$WORK_DIR/test" --config "$CONFIG"
else
  echo "No expected range: train.py arguments (${*:2}) change the run."
fi
