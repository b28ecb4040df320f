"""Stand-in for ``myst_nb.glue`` when a chapter runs as a plain script: records glued values
(to the JSON file ``$GLUE_OUT`` when set)."""

import json
import os

GLUED = {}


def glue(name, value, display=True):
    plain = isinstance(value, (int, float, str))
    GLUED[name] = value if plain else getattr(value, "data", value)
    path = os.environ.get("GLUE_OUT")
    if path:
        with open(path, "w") as f:
            json.dump({k: str(v) for k, v in GLUED.items()}, f, indent=1)
