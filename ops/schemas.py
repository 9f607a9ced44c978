"""Write each topic's JSON Schema into docs/schemas/ (made from the code: the parsers'
and encoders' declarations, shared.schemas.topic_schemas).

    python -m ops.schemas                 # writes docs/schemas/<topic>.schema.json
    python -m ops.schemas --into DIR      # elsewhere, named by the TOPIC_* settings' topics

tests/unit/test_topic_schemas.py fails when the committed files are not what this writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.schemas.topic_schemas import Schema, schema_file, topic_schemas

DOCS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def rendered(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.schemas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--into", type=Path, default=DOCS, help=f"the directory to write into (default {DOCS})")
    args = parser.parse_args(argv)
    schemas = topic_schemas()
    if args.into != DOCS:
        from shared.config import settings_or_exit

        schemas = topic_schemas(settings_or_exit().topics)
    args.into.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (args.into / schema_file(name)).write_text(rendered(schema))
    print(f"{len(schemas)} schemas written into {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
