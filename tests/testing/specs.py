"""Job spec helpers: temp copies of example specs with paths and settings replaced.

The specs are plain YAML written by us; rather than parse YAML (no PyYAML in the standard
library) the rewrite replaces the `path:` line inside the top-level `source:` / `sink:` sections
and top-level scalar keys, and checks that each replacement happened exactly once.
"""

import json
import os
import re

_TOP_KEY = re.compile(r"^([A-Za-z][\w-]*):")


def rewrite_spec(text, source_path=None, sink_path=None, top_level=None):
    """Returns `text` with source.path / sink.path replaced and top-level keys set.

    source_path may be a list of paths (written as a YAML flow sequence).

    top_level: {"parallelism": 4, "name": "x"}; each key must already exist at top level.
    Values are written as JSON scalars (valid YAML), so paths with any characters are fine.
    """
    top_level = dict(top_level or {})
    done = {}
    out = []
    section = None
    for line in text.splitlines(keepends=True):
        m = _TOP_KEY.match(line)
        if m:
            section = m.group(1)
            if section in top_level:
                out.append(f"{section}: {json.dumps(top_level[section])}\n")
                done[section] = done.get(section, 0) + 1
                continue
        if line.startswith("  path:"):
            if section == "source" and source_path is not None:
                if isinstance(source_path, (list, tuple)):
                    value = [os.path.abspath(p) for p in source_path]
                else:
                    value = os.path.abspath(source_path)
                out.append(f"  path: {json.dumps(value)}\n")
                done["source.path"] = done.get("source.path", 0) + 1
                continue
            if section == "sink" and sink_path is not None:
                out.append(f"  path: {json.dumps(os.path.abspath(sink_path))}\n")
                done["sink.path"] = done.get("sink.path", 0) + 1
                continue
        out.append(line)
    wanted = list(top_level)
    if source_path is not None:
        wanted.append("source.path")
    if sink_path is not None:
        wanted.append("sink.path")
    for key in wanted:
        if done.get(key) != 1:
            raise AssertionError(f"spec rewrite: expected exactly one '{key}' to replace, found "
                                 f"{done.get(key, 0)}")
    return "".join(out)


def write_example_copy(repo, dest_dir, source_path=None, sink_path=None, top_level=None,
                       example="flight-delays.yaml"):
    """Writes a rewritten copy of examples/<example> into dest_dir; returns its path.

    The source path defaults to the example's own sample, made absolute.
    """
    src = os.path.join(repo, "examples", example)
    with open(src) as f:
        text = f.read()
    if source_path is None:
        source_path = os.path.join(repo, "examples", "data", "flights-2001-01.csv.gz")
    text = rewrite_spec(text, source_path, sink_path, top_level)
    path = os.path.join(dest_dir, example)
    with open(path, "w") as f:
        f.write(text)
    return path
