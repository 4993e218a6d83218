"""``model-index.yml`` and the metafiles it imports (OpenMMLab's format).

Every metafile that ``model-index.yml`` lists must exist; every model it
names must point at an existing config of its own folder, belong to a
collection of that metafile, and build: the config parses, and a model with
measured ``Results`` is built by the registry of the config's
``default_scope`` (random weights, no download); for the paper-scale
configs (not trained here; building them all takes minutes on a CPU) every
``type`` of the model is resolved in that package's registries instead.
"""
import importlib
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from .conftest import repo_path

INDEX = repo_path('model-index.yml')


def metafiles() -> list:
    with open(INDEX) as f:
        index = yaml.safe_load(f)
    assert list(index) == ['Import'], 'model-index.yml holds an Import list'
    return index['Import']


def models() -> list:
    found = []
    for metafile in metafiles():
        with open(repo_path(metafile)) as f:
            meta = yaml.safe_load(f)
        for model in meta['Models']:
            found.append(pytest.param(metafile, model, id=model['Name']))
    return found


def test_index_lists_existing_metafiles():
    listed = metafiles()
    assert listed and len(set(listed)) == len(listed)
    for metafile in listed:
        assert osp.isfile(repo_path(metafile)), metafile
        assert metafile.startswith('configs/') and \
            metafile.endswith('/metafile.yml'), metafile


def test_metafile_structure():
    names = set()
    for metafile in metafiles():
        with open(repo_path(metafile)) as f:
            meta = yaml.safe_load(f)
        assert set(meta) == {'Collections', 'Models'}, metafile
        for collection in meta['Collections']:
            assert {'Name', 'Paper', 'README'} <= set(collection), collection
            assert osp.isfile(repo_path(collection['README']))
            assert collection['Paper']['URL'].startswith('https://')
        for model in meta['Models']:
            assert model['Name'] not in names, f'{model["Name"]} twice'
            names.add(model['Name'])
            assert 'Weights' not in model, 'no weights are hosted'


@pytest.mark.parametrize('metafile, model', models())
def test_model_config_exists_and_builds(metafile, model):
    with open(repo_path(metafile)) as f:
        collections = {c['Name'] for c in yaml.safe_load(f)['Collections']}
    assert model['In Collection'] in collections
    config = model['Config']
    assert config.startswith(osp.dirname(metafile) + '/'), config
    assert osp.isfile(repo_path(config)), config
    assert osp.splitext(osp.basename(config))[0] == model['Name']
    for result in model.get('Results', []):
        assert result['Task'] and result['Dataset']
        assert all(isinstance(v, (int, float))
                   for v in result['Metrics'].values()), result
    cfg = Config.fromfile(repo_path(config))
    scope = cfg.default_scope
    registries = importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        if model.get('Results'):
            built = registries.MODELS.build(cfg.model)
            assert sum(p.numel() for p in built.parameters()) > 0
        else:
            for name in model_types(cfg.model):
                assert any(
                    getattr(registries, r).get(name) is not None
                    for r in ('MODELS', 'TASK_UTILS', 'KEYPOINT_CODECS')
                    if hasattr(registries, r)), f'{config}: unknown {name}'


def model_types(node) -> list:
    """Every registry ``type`` in a model config.

    Left out: weight-init configs, and ``nms`` and ``roi_layer``, whose
    types name mmcv.ops functions and classes rather than registry entries.
    """
    if isinstance(node, dict):
        found = [node['type']] if isinstance(node.get('type'), str) else []
        return found + [t for k, v in node.items()
                        if k not in ('init_cfg', 'nms', 'roi_layer')
                        for t in model_types(v)]
    if isinstance(node, (list, tuple)):
        return [t for v in node for t in model_types(v)]
    return []
