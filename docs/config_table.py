"""Print README's configuration table from the registry (monitor/policy.py, monitor/settings.py).

    python docs/config_table.py > /tmp/table.md   # then paste it under "Configuration" in README.md

tests/test_docs.py fails when a key is missing from README.
"""

from __future__ import annotations

import tomllib

from monitor.settings import PACKAGED_CONFIG, registry


def main() -> None:
    with PACKAGED_CONFIG.open("rb") as fh:
        data = tomllib.load(fh)
    print("| key | default | unit | meaning | SPEC |")
    print("|---|---|---|---|---|")
    for section, key, field in registry():
        value = data[section][key]
        if isinstance(value, str):
            shown = f'"{value}"'
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif isinstance(value, dict):
            shown = "{}"
        else:
            shown = str(value)
        meta = field.metadata
        print(f"| `[{section}] {key}` | `{shown}` | {meta['unit']} | {meta['help']} | {meta['spec']} |")


if __name__ == "__main__":
    main()
