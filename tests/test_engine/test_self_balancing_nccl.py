"""SelfBalancingHook under 2 NCCL processes (runs where 2 GPUs are present).

The worker of the gloo test runs unchanged with ``init_process_group``
switched to the NCCL backend, one GPU per rank: the hook's ``all_reduce``
then goes through NCCL (mmengine moves the sums to the rank's GPU).
"""
from unittest import mock

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from .test_self_balancing_hook import _free_port, _gloo_worker


def _nccl_worker(rank: int, port: int, out_dir: str) -> None:
    torch.cuda.set_device(rank)
    init = torch_dist.init_process_group

    def init_nccl(backend: str, **kwargs) -> None:
        init('nccl', **kwargs)

    with mock.patch.object(torch_dist, 'init_process_group', init_nccl):
        _gloo_worker(rank, port, out_dir)


@pytest.mark.skipif(torch.cuda.device_count() < 2
                    or not torch_dist.is_nccl_available(),
                    reason='needs 2 CUDA GPUs and NCCL (found '
                    f'{torch.cuda.device_count()} GPUs)')
def test_two_nccl_processes_agree_cuda(tmp_path):
    mp.spawn(_nccl_worker, args=(_free_port(), str(tmp_path)), nprocs=2)
    weights = [float((tmp_path / f'{r}.txt').read_text()) for r in (0, 1)]
    # The sums of the gloo test: L_cls 1.8, L_loc 0.15 over both ranks.
    assert weights[0] == weights[1] == pytest.approx((1.8 + 0.15) / 0.15)
