"""tools/analysis_tools/benchmark_uniloss.py on a tiny batch."""
import runpy

import torch

from ..conftest import repo_path


def test_table_counts_comparisons_and_anchor_memory(capsys):
    bench = runpy.run_path(
        repo_path('tools', 'analysis_tools', 'benchmark_uniloss.py'))
    bench['main']([
        '--device', 'cpu', '--shape', '2', '3', '20', '20', '--repeats', '1',
        '--anchors', '4', '20'
    ])
    out = capsys.readouterr().out
    # the same heatmaps and positives as the script: radius 3, sigma 2
    _, target = bench['make_heatmaps']((2, 3, 20, 20), 2.0, 'cpu', 0)
    per_map = (target >= torch.exp(torch.tensor(-9 / 8)) *
               (1 - 1e-4)).flatten(2).sum(-1)
    num = int((per_map * (400 - per_map)).sum())
    assert f'l = {num / 1e6:.1f} M comparisons' in out
    rows = [line.split('|')[1:-1] for line in out.splitlines()
            if line.startswith('| UniLoss')]
    assert [int(r[1]) for r in rows] == [14, 62]
    for row in rows:
        assert float(row[2]) > 0
        dense = int(row[1]) * num * 4 / 2**20
        assert row[5].strip() == f'{dense:.0f}'
    assert 'One sigmoid over the l comparisons' in out
