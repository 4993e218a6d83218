"""The demo's expected range: recorded from seed runs, checked, quoted.

Synthetic runs laid out as ``seed_table.py`` writes them; the shipped range
file is checked against the README, which must quote exactly what the tool
derives from it.
"""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.join(osp.dirname(__file__), '..', '..')
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'demo_range.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('demo_range', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(root, config: str, seed: int, threads: int, ap: float,
              ap50: float, olrp: float):
    run = root / config / f'seed{seed}'
    test = run / 'test' / '20261203_000000'
    test.mkdir(parents=True)
    (test / '20261203_000000.json').write_text(json.dumps({
        'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': ap50,
        'lrp/bbox_oLRP': olrp, 'time': 0.5}))
    (run / 'seed_table.log').write_text(
        f'$ OMP_NUM_THREADS={threads} python tools/train.py {config}.py '
        f'--work-dir {run} --cfg-options randomness.seed={seed}\n')
    return run


def test_make_check_and_sentence(tool, tmp_path, capsys):
    runs = [write_run(tmp_path / 't1', 'demo', 0, 1, 0.70, 0.88, 0.37),
            write_run(tmp_path / 't1', 'demo', 1, 1, 0.72, 0.90, 0.36),
            write_run(tmp_path / 't2', 'demo', 0, 2, 0.69, 0.89, 0.40)]
    out = tmp_path / 'range.json'
    assert tool.main(['make', *map(str, runs), '--out', str(out),
                      '--measured-on', 'here, today']) == 0
    spec = json.loads(out.read_text())
    assert spec['config'] == 'demo'
    assert [(r['threads'], r['seed']) for r in spec['runs']] == [
        (1, 0), (1, 1), (2, 0)]
    assert tool.readme_sentence(spec) == (
        'AP ↑ 0.690-0.720, AP50 ↑ 0.880-0.900, oLRP ↓ 0.360-0.400 '
        '(3 runs: seeds 0, 1 × 1 and 2 threads, here, today)')
    # the bounds are inside; just past either bound is not
    assert tool.check({'coco/bbox_mAP': 0.69, 'coco/bbox_mAP_50': 0.9,
                       'lrp/bbox_oLRP': 0.40}, spec) == [
        'AP 0.690: inside the measured range 0.690-0.720',
        'AP50 0.900: inside the measured range 0.880-0.900',
        'oLRP 0.400: inside the measured range 0.360-0.400']
    lines = tool.check({'coco/bbox_mAP': 0.689, 'coco/bbox_mAP_50': 0.95,
                        'lrp/bbox_oLRP': 0.359}, spec)
    assert all(': OUTSIDE the measured range' in line for line in lines)
    assert tool.check({}, spec)[0] == 'AP: not in the result (no coco/bbox_mAP)'

    # the command line on a test folder, and on another config
    capsys.readouterr()
    assert tool.main(['check', str(runs[1] / 'test'), '--range', str(out),
                      '--config', 'configs/x/demo.py']) == 0
    printed = capsys.readouterr().out
    assert 'AP 0.720: inside' in printed and 'oLRP 0.360: inside' in printed
    assert tool.main(['check', str(runs[1] / 'test'), '--range', str(out),
                      '--config', 'configs/x/other.py']) == 0
    assert 'No expected range for configs/x/other.py' in capsys.readouterr().out
    assert tool.main(['check', str(tmp_path), '--range', str(out)]) == 1


def test_make_refuses_unusable_runs(tool, tmp_path):
    a = write_run(tmp_path, 'a', 0, 1, 0.7, 0.9, 0.4)
    b = write_run(tmp_path, 'b', 0, 1, 0.7, 0.9, 0.4)
    with pytest.raises(SystemExit, match='several configs'):
        tool.main(['make', str(a), str(b), '--out', str(tmp_path / 'r.json'),
                   '--measured-on', 'x'])
    (tmp_path / 'c' / 'seed0').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='finish the run first'):
        tool.run_record(str(tmp_path / 'c' / 'seed0'))
    (a / 'seed_table.log').write_text('$ python tools/train.py a.py\n')
    with pytest.raises(ValueError, match='no thread count'):
        tool.run_record(str(a))


def test_readme_quotes_the_shipped_range(tool):
    spec = tool.load_range(tool.DEFAULT_RANGE)
    assert {r['threads'] for r in spec['runs']} >= {1, 2}
    assert len({r['seed'] for r in spec['runs']}) >= 3
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = ' '.join(f.read().split())
    assert tool.readme_sentence(spec) in readme
