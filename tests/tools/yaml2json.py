"""Prints a YAML file as JSON (ruamel.yaml comes with check-jsonschema), so the Rust tests can
pick scripts out of action.yml and the GitLab template and run them."""

import json
import sys

from ruamel.yaml import YAML

print(json.dumps(YAML(typ="safe").load(open(sys.argv[1], encoding="utf-8"))))
