#!/usr/bin/python3
"""Validates every line of an EVE JSON file against Suricata's EVE schema.

Eastwatch's own top-level objects (`vm`, `mirror`, `pcap_log`) are removed first, as the README promises:
everything else must be exactly Suricata's layout (the schema forbids unknown keys).

usage: validate_eve.py SCHEMA EVE_FILE    exit 0 when every record is valid, 1 otherwise
"""
import json
import sys

import jsonschema

EASTWATCH_OBJECTS = ("vm", "mirror", "pcap_log")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    failures = 0
    records = 0
    with open(sys.argv[2], encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            records += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                print(f"{sys.argv[2]}:{number}: not JSON: {error}")
                failures += 1
                continue
            for key in EASTWATCH_OBJECTS:
                record.pop(key, None)
            for error in validator.iter_errors(record):
                path = ".".join(str(p) for p in error.absolute_path) or "(record)"
                print(f"{sys.argv[2]}:{number}: {path}: {error.message}")
                failures += 1
    print(f"{records} records, {failures} schema violations")
    return 0 if failures == 0 and records > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
