"""Console scripts: mmrank's tools, runnable without a clone.

``pip install`` installs ``mmrank-train``, ``mmrank-test``,
``mmrank-image-demo``, ``mmrank-eval-lrp``, ``mmrank-seed-table`` and
``mmrank-plot-training``. Each runs the tool script of the same name that
the package carries (``mmrank/.mim/tools/``, or a clone's ``tools/``) as
``python <script>`` would, with the same arguments.
"""
import os.path as osp
import runpy
import sys
from typing import Callable, Dict

from mmrank.utils.package_configs import resources_root

#: Console script name -> tool script, relative to ``tools/``.
SCRIPTS: Dict[str, str] = {
    'mmrank-train': 'train.py',
    'mmrank-test': 'test.py',
    'mmrank-image-demo': 'image_demo.py',
    'mmrank-eval-lrp': 'analysis_tools/eval_lrp.py',
    'mmrank-seed-table': 'analysis_tools/seed_table.py',
    'mmrank-plot-training': 'analysis_tools/plot_training.py',
}


def run_tool(name: str) -> None:
    """Run the tool script of console script ``name`` as ``__main__``.

    ``sys.argv[0]`` becomes the script's path, so that its usage line and
    any child process it starts (``seed_table.py --run`` starts the train
    tool next to it) see the script.

    Args:
        name: A key of :data:`SCRIPTS`.
    """
    script = osp.join(resources_root(), 'tools', SCRIPTS[name])
    sys.argv[0] = script
    runpy.run_path(script, run_name='__main__')


def _entry(name: str) -> Callable[[], None]:
    """The console script function of ``name`` (see :func:`run_tool`)."""

    def main() -> None:
        run_tool(name)

    main.__name__ = name.replace('-', '_')
    main.__doc__ = f'``{name}``: ``tools/{SCRIPTS[name]}``.'
    return main


train = _entry('mmrank-train')
test = _entry('mmrank-test')
image_demo = _entry('mmrank-image-demo')
eval_lrp = _entry('mmrank-eval-lrp')
seed_table = _entry('mmrank-seed-table')
plot_training = _entry('mmrank-plot-training')
