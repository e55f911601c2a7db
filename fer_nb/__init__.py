__version__ = "0.1.0"

# The front door (written by hand: no notebook exports this file). `from fer_nb import train` imports only the module
# that a name lives in, when the name is first used, so `import fer_nb` stays cheap (no torch).
import importlib

_FRONT = dict(load_fer='data', TrainConfig='config', fer_learner='learner', train='learner', load_model='inference',
              evaluate_source='inference', predict_images='predict')
__all__ = list(_FRONT)

def __getattr__(name):
    if name in _FRONT: return getattr(importlib.import_module(f'fer_nb.{_FRONT[name]}'), name)
    raise AttributeError(f"module 'fer_nb' has no attribute {name!r}")
