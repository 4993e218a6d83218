"""``model-index.yml`` and the metafiles it imports (OpenMMLab's format).

Every metafile that ``model-index.yml`` lists must exist; every model it
names must point at an existing config of its own folder, belong to a
collection of that metafile, and build: the config parses and its model is
built by the registry of the config's ``default_scope`` (random weights, no
download). Metrics, when given, are numbers.
"""
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
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        detector = registry.build(cfg.model)
    assert sum(p.numel() for p in detector.parameters()) > 0
