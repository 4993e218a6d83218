"""Install mmrank. Requirements are read from ``requirements/`` as mmdet does.

As OpenMMLab packages do, the package carries ``configs/``, ``tools/`` and
``model-index.yml`` under ``mmrank/.mim/`` (copied for a wheel or an
install, linked for an editable install), so that ``mmrank::`` config bases,
``mim`` and the ``mmrank-*`` console scripts work without a clone.
"""
import os
import os.path as osp
import re
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
#: What ``mmrank/.mim/`` carries, relative to the repository root.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
#: Console script -> function of :mod:`mmrank.cli`.
CONSOLE_SCRIPTS = ('mmrank-train=mmrank.cli:train',
                   'mmrank-test=mmrank.cli:test',
                   'mmrank-image-demo=mmrank.cli:image_demo',
                   'mmrank-eval-lrp=mmrank.cli:eval_lrp',
                   'mmrank-seed-table=mmrank.cli:seed_table',
                   'mmrank-plot-training=mmrank.cli:plot_training')


def add_mim_extension() -> None:
    """Fill ``mmrank/.mim/`` with the configs, tools and model index.

    An editable install (``pip install -e .``, ``setup.py develop``) gets
    symlinks to the repository's files, so edits show at once; every other
    build gets copies. In an unpacked sdist, which holds ``mmrank/.mim``
    but not the repository's folders, it is left as it is.
    """
    editable = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    mim_dir = osp.join(HERE, 'mmrank', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(HERE, name), osp.join(mim_dir, name)
        if not osp.exists(src):
            continue  # building from an sdist: mmrank/.mim came with it
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    with open(osp.join(HERE, 'mmrank', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Read a requirements file, skipping comments and blank lines."""
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


add_mim_extension()
setup(
    name='mmrank',
    version=get_version(),
    description='Ranking-based and metric-driven losses (aLRP, AP, Anchor, '
    'UniLoss) for OpenMMLab 3.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    package_data={
        'mmrank': [
            '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml', '.mim/configs/**/*.md',
            '.mim/configs/**/*.json',
            '.mim/tools/**/*.py', '.mim/tools/**/*.sh'
        ]
    },
    entry_points={'console_scripts': list(CONSOLE_SCRIPTS)},
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'optional': parse_requirements('optional.txt'),
        'tests': parse_requirements('tests.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False)
