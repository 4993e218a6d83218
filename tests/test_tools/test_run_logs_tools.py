"""Run-log reading across resumes, and the plotting / seed-table tools.

Synthetic work dirs laid out as mmengine writes them: one
``<timestamp>/vis_data/scalars.json`` per start of ``tools/train.py`` and
``test/<timestamp>/<timestamp>.json`` per ``tools/test.py``.
"""
import importlib.util
import json
import os.path as osp

import pytest

pytest.importorskip('matplotlib')

from mmrank.utils.run_logs import (last_epoch_mean,  # noqa: E402
                                   mean_iter_time, mean_std, read_scalars,
                                   read_test_metrics)

TOOLS = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools')


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_scalars(work_dir, timestamp: str, records) -> None:
    folder = work_dir / timestamp / 'vis_data'
    folder.mkdir(parents=True)
    with open(folder / 'scalars.json', 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def train_record(it: int, epoch: int, loss: float, **extra) -> dict:
    return dict(lr=0.001, data_time=0.01, loss=loss, loss_cls=loss / 2,
                time=0.3, epoch=epoch, iter=it, memory=0, step=it, **extra)


def val_record(epoch: int, ap: float, olrp: float) -> dict:
    return {'coco/bbox_mAP': ap, 'coco/bbox_mAP_s': 0.0,
            'lrp/bbox_oLRP': olrp, 'data_time': 0.1, 'time': 0.2,
            'step': epoch}


def resumed_run(work_dir, seed: int = 0) -> None:
    """4 iterations an epoch; killed in epoch 3 after iteration 10, resumed
    from the epoch-2 checkpoint and finished (3 epochs)."""
    first = [train_record(i, (i - 1) // 4 + 1, 10.0 / i + seed,
                          **{'bbox_head.loc_weight': 50.0 + i,
                             'bbox_head.rank_corr': 0.1 * i})
             for i in (2, 4, 6, 8, 10)]
    first.insert(2, val_record(1, 0.1, 0.9))
    first.insert(5, val_record(2, 0.2, 0.8))
    write_scalars(work_dir, '20260101_000000', first)
    # the resumed run logs epoch 3 again, with other values
    second = [train_record(i, 3, 100.0 + i + seed,
                           **{'bbox_head.loc_weight': 70.0,
                              'bbox_head.rank_corr': 0.5 + 0.1 * (i - 10)})
              for i in (10, 12)]
    second.append(val_record(3, 0.3 + 0.01 * seed, 0.7 - 0.01 * seed))
    write_scalars(work_dir, '20260101_010000', second)


def test_read_scalars_joins_resumed_runs(tmp_path):
    resumed_run(tmp_path)
    scalars = read_scalars(str(tmp_path))
    # epochs 1-2 from the first folder; epoch 3 (iters 10, 12) from the
    # second one only: the killed run's iteration 10 is replaced
    assert scalars.train['loss'] == [(2, 5.0), (4, 2.5), (6, 10 / 6),
                                     (8, 1.25), (10, 110.0), (12, 112.0)]
    assert [s for s, _ in scalars.train['bbox_head.loc_weight']] == \
        [2, 4, 6, 8, 10, 12]
    assert scalars.val['coco/bbox_mAP'] == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert 'time' not in scalars.val and 'lr' not in scalars.train
    assert scalars.val_iters == {1: 4, 2: 8, 3: 12}
    # the final epoch's rank correlation: iterations 10 and 12 of epoch 3
    assert last_epoch_mean(scalars, 'bbox_head.rank_corr') == \
        pytest.approx((0.5 + 0.7) / 2)
    assert last_epoch_mean(scalars, 'roi_head.rank_corr') is None


def test_mean_iter_time(tmp_path):
    write_scalars(tmp_path, '20260101_000000',
                  [dict(train_record(2, 1, 1.0), time=0.2),
                   val_record(1, 0.1, 0.9),
                   dict(train_record(4, 1, 1.0), time=0.6)])
    write_scalars(tmp_path, '20260101_010000',
                  [dict(train_record(6, 2, 1.0), time=0.4)])
    assert mean_iter_time(str(tmp_path)) == pytest.approx(0.4)


def test_read_scalars_errors_and_test_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match='work-dir'):
        read_scalars(str(tmp_path))
    assert read_test_metrics(str(tmp_path)) is None
    for stamp, ap in (('20260101_000000', 0.1), ('20260102_000000', 0.4)):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / f'{stamp}.json').write_text(
            json.dumps({'coco/bbox_mAP': ap, 'time': 1.0, 'name': 'x'}))
    assert read_test_metrics(str(tmp_path)) == {'coco/bbox_mAP': 0.4}
    # a per-class list, as mmpretrain's AveragePrecision(average=None) logs
    (tmp_path / '20260103_000000').mkdir()
    (tmp_path / '20260103_000000' / '20260103_000000.json').write_text(
        json.dumps({'multi-label/AP_classwise': [99.9, 99.5],
                    'accuracy/top1': 99, 'flags': [True, 'a']}))
    assert read_test_metrics(str(tmp_path)) == {
        'multi-label/AP_classwise[0]': 99.9,
        'multi-label/AP_classwise[1]': 99.5, 'accuracy/top1': 99.0}
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0)
    with pytest.raises(ValueError, match='at least one'):
        mean_std([])


def iteration_run(work_dir, by_epoch_step: bool = True) -> None:
    """IterBasedTrainLoop: logged every 5 iterations, validated every 10.

    mmengine logs ``step: 0`` for each validation (the epoch) with the
    default ``log_metric_by_epoch=True``, the iteration otherwise.
    """
    records = []
    for it in range(5, 31, 5):
        record = train_record(it, 0, 1.0 / it,
                              **{'bbox_head.rank_corr': it / 100})
        del record['epoch']
        records.append(record)
        if it % 10 == 0:
            records.append(
                val_record(0 if by_epoch_step else it, it / 100, 1 - it / 100))
    write_scalars(work_dir, '20260101_000000', records)


@pytest.mark.parametrize('by_epoch_step', [True, False])
def test_iteration_based_validation_at_its_iteration(tmp_path,
                                                     by_epoch_step):
    iteration_run(tmp_path, by_epoch_step)
    scalars = read_scalars(str(tmp_path))
    assert scalars.val['coco/bbox_mAP'] == [(10, 0.1), (20, 0.2), (30, 0.3)]
    assert scalars.val_iters == {}
    tool = load_tool('plot_training')
    assert tool.val_curves(scalars, lower=True)['lrp/bbox_oLRP ↓'] == [
        (10, 0.9), (20, 0.8), (30, 0.7)]


def test_iteration_based_resume_replaces_later_validations(tmp_path):
    """Killed after the validation at 30, resumed from iteration 20."""
    iteration_run(tmp_path)
    records = [train_record(25, 0, 9.0), train_record(30, 0, 8.0),
               val_record(0, 0.5, 0.4)]
    for record in records:
        record.pop('epoch', None)
    write_scalars(tmp_path, '20260101_010000', records)
    scalars = read_scalars(str(tmp_path))
    assert scalars.val['coco/bbox_mAP'] == [(10, 0.1), (20, 0.2), (30, 0.5)]
    assert scalars.train['loss'][-2:] == [(25, 9.0), (30, 8.0)]


def test_plot_training_panels(tmp_path):
    tool = load_tool('plot_training')
    resumed_run(tmp_path)
    (tmp_path / 'alrp-loss_retinanet_r18_fpn_digits.py').write_text('')
    scalars = read_scalars(str(tmp_path))
    assert [p.title for p in tool.panels(scalars)] == [
        'losses', 'self-balancing weight',
        'training rank correlation of positives (score vs IoU)',
        'validation, higher is better ↑', 'validation, lower is better ↓'
    ]
    # validation points lie at each epoch's last iteration; area ranges out;
    # AP-type and LRP-type metrics apart, labelled with their direction
    assert tool.val_curves(scalars, lower=False) == {
        'coco/bbox_mAP ↑': [(4, 0.1), (8, 0.2), (12, 0.3)]}
    assert tool.val_curves(scalars, lower=True) == {
        'lrp/bbox_oLRP ↓': [(4, 0.9), (8, 0.8), (12, 0.7)]}
    assert list(tool.rank_corr_curves(scalars)) == ['bbox_head.rank_corr']
    assert tool.run_title(str(tmp_path), scalars) == (
        f'{tmp_path.name}: alrp-loss_retinanet_r18_fpn_digits.py, '
        '3 epochs, 12 iterations')
    out = tool.plot_training(str(tmp_path), str(tmp_path / 'curves.png'))
    assert osp.getsize(out) > 10000


def test_plot_legends_cover_no_data(tmp_path):
    tool = load_tool('plot_training')
    iteration_run(tmp_path)
    fig = tool.training_figure(str(tmp_path))
    renderer = fig.canvas.get_renderer()
    assert 'iteration-based, 30 iterations' in fig._suptitle.get_text()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        # entirely below the panel's x axis label: over no plotted point
        assert legend.y1 < ax.get_window_extent(renderer).y0


def test_metric_direction_and_non_finite_values(tmp_path):
    tool = load_tool('plot_training')
    assert tool.lower_is_better('lrp/bbox_oLRP_FP')
    assert tool.lower_is_better('PCKh/EPE')
    assert not tool.lower_is_better('coco/bbox_mAP_50')
    assert not tool.lower_is_better('accuracy/top1')
    records = [train_record(4, 1, 1.0),
               {'lrp/bbox_oLRP_loc': float('nan'), 'lrp/bbox_oLRP': 1.0,
                'step': 1}]
    write_scalars(tmp_path, '20260101_000000', records)
    curves = tool.val_curves(read_scalars(str(tmp_path)), lower=True)
    assert curves == {'lrp/bbox_oLRP ↓': [(4, 1.0)]}


def make_seed_runs(root, name: str, aps, olrps) -> None:
    """Finished seed runs laid out as seed_table.py writes them."""
    for seed, (ap, olrp) in enumerate(zip(aps, olrps)):
        run = root / name / f'seed{seed}'
        resumed_run(run, seed)
        test = run / 'test' / '20260102_000000'
        test.mkdir(parents=True)
        (test / '20260102_000000.json').write_text(json.dumps(
            {'coco/bbox_mAP': ap, 'lrp/bbox_oLRP': olrp}))


def test_seed_table_and_spread(tmp_path):
    tool = load_tool('seed_table')
    make_seed_runs(tmp_path, 'base', [0.30, 0.31, 0.32], [0.70, 0.70, 0.70])
    make_seed_runs(tmp_path, 'better', [0.40, 0.41, 0.42], [0.69, 0.71, 0.70])
    make_seed_runs(tmp_path, 'partial', [0.5], [0.6])
    (tmp_path / 'partial' / 'seed1').mkdir()  # started, never tested
    metrics = (('AP', 'coco/bbox_mAP'), ('oLRP', 'lrp/bbox_oLRP'))
    rows = tool.collect(['a/base.py', 'a/better.py', 'a/partial.py'],
                        [0, 1, 2], str(tmp_path))
    table = tool.markdown_table(rows, metrics, 3).splitlines()
    assert table[0] == ('| config | AP | oLRP | ρ (rank corr.) | s/iter | '
                        'seeds |')
    # s/iter: the mean logged time of every training record (0.3 each)
    assert table[2] == ('| `a/base.py` | 0.310 ± 0.010 | 0.700 ± 0.000 | '
                        '0.600 ± 0.000 | 0.300 ± 0.000 | 3/3 |')
    assert table[4] == ('| `a/partial.py` | 0.500 | 0.600 | 0.600 | 0.300 | '
                        '1/3 **pending** |')
    spread = tool.spread_report(rows, metrics)
    # AP +0.1 >> 0.01 + 0.01; oLRP 0 within the spread
    assert '- `a/better.py`: AP +0.100*, oLRP +0.000, ρ +0.000' in spread
    assert '- `a/partial.py`: needs 2+ seeds in both rows' in spread
    assert tool.parse_metrics(['top1=accuracy/top1']) == (
        ('top1', 'accuracy/top1'), )
    with pytest.raises(SystemExit, match='LABEL=KEY'):
        tool.parse_metrics(['accuracy/top1'])


def test_compare_runs_png(tmp_path):
    tool = load_tool('compare_runs')
    make_seed_runs(tmp_path, 'focal', [0.30, 0.31, 0.32], [0.7, 0.71, 0.69])
    make_seed_runs(tmp_path, 'alrp', [0.33, 0.35, 0.34], [0.66, 0.68, 0.67])
    label, dirs = tool.parse_group(f'focal={tmp_path}/focal/seed*')
    assert label == 'focal' and len(dirs) == 3
    with pytest.raises(ValueError, match='LABEL=DIR'):
        tool.parse_group(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="group 'x'"):
        tool.parse_group(f'x={tmp_path}/missing')
    runs = [read_scalars(d) for d in dirs]
    steps, mean, std = tool.band([r.val['coco/bbox_mAP'] for r in runs])
    assert list(steps) == [1, 2, 3]
    assert mean[2] == pytest.approx(0.31) and std[2] == pytest.approx(0.01)
    assert tool.final_metrics(dirs[1], runs[1], ['coco/bbox_mAP']) == {
        'coco/bbox_mAP': 0.31}
    out = tool.compare_runs(
        [(label, dirs), tool.parse_group(f'aLRP={tmp_path}/alrp/seed*')],
        str(tmp_path / 'compare.png'))
    assert osp.getsize(out) > 10000
