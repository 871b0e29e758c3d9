"""The reference printer: PyYAML's own SafeRepresenter on the same (libyaml) emitter, with
`yaml_io`'s string presenter. It is what `yaml_io.dump` printed before that had a
representer of its own; the tests and the render bench hold rendered output to it byte for
byte."""

from __future__ import annotations

from typing import Any

import yaml

from functions.render import yaml_io

_StockBase: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Stock(_StockBase):  # type: ignore[valid-type,misc]
    """PyYAML's own representers."""


_Stock.add_representer(str, yaml_io._str_presenter)


def stock_dump(document: Any, *, sort_keys: bool) -> str:
    """One document as the reference printer writes it (the options of `yaml_io.dump`)."""
    return yaml.dump(
        document, Dumper=_Stock, sort_keys=sort_keys, default_flow_style=False, width=100
    )
