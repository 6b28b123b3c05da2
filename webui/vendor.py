"""`python -m webui.vendor`: copy the front-end libraries the pages use from node_modules into webui/static/vendor.

Pages load htmx, bpmn-js and Chart.js from this server only (utility intranets have no internet). `npm ci` installs
the versions pinned in package-lock.json; this copies just the files the pages need, with their licences, then
bundles the modeler (bpmn-js Modeler, properties panel, bpmnlint, differ and our src/) with esbuild into
modeler.bundle.*.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
MODELER_BUILD = Path(__file__).resolve().parent / "static" / "js" / "modeler" / "build.mjs"
MODELER_PACKAGES = (
    "bpmn-js-properties-panel",
    "@bpmn-io/properties-panel",
    "bpmn-js-bpmnlint",
    "bpmnlint",
    "bpmn-js-differ",
)

# (package, file inside the package, where it goes under static/vendor)
FILES = [
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("htmx.org", "LICENSE", "htmx.LICENSE.txt"),
    ("bpmn-js", "dist/bpmn-viewer.production.min.js", "bpmn-js/bpmn-viewer.production.min.js"),
    ("bpmn-js", "dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    ("bpmn-js", "dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    ("bpmn-js", "LICENSE", "bpmn-js/LICENSE.txt"),
    ("chart.js", "dist/chart.umd.min.js", "chart.js/chart.umd.min.js"),
    ("chart.js", "LICENSE.md", "chart.js/LICENSE.md"),
]


def copy_vendor_files(node_modules: Path = NODE_MODULES, vendor: Path = VENDOR) -> dict[str, str]:
    """Copy FILES; returns the version of each package copied. FileNotFoundError names what is missing."""
    missing = [f"{package}/{source}" for package, source, _ in FILES if not (node_modules / package / source).is_file()]
    if missing:
        raise FileNotFoundError(f"not in {node_modules}: {', '.join(missing)} (run `npm ci` first)")
    if vendor.exists():
        shutil.rmtree(vendor)
    versions: dict[str, str] = {}
    for package, source, target in FILES:
        destination = vendor / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / package / source, destination)
        manifest = json.loads((node_modules / package / "package.json").read_text(encoding="utf-8"))
        versions[package] = str(manifest.get("version", "?"))
    (vendor / "VERSIONS.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return versions


def build_modeler_bundle(node_modules: Path = NODE_MODULES, vendor: Path = VENDOR) -> dict[str, str]:
    """Run the esbuild bundle of the modeler with node; returns the versions of the packages bundled."""
    missing = [p for p in (*MODELER_PACKAGES, "esbuild") if not (node_modules / p / "package.json").is_file()]
    if missing:
        raise FileNotFoundError(f"not in {node_modules}: {', '.join(missing)} (run `npm ci` first)")
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node is not on PATH: the modeler bundle is built with Node.js")
    subprocess.run([node, str(MODELER_BUILD), str(vendor)], check=True, cwd=node_modules.parent)  # noqa: S603  - our own build script
    versions = {}
    for package in MODELER_PACKAGES:
        manifest = json.loads((node_modules / package / "package.json").read_text(encoding="utf-8"))
        versions[package] = str(manifest.get("version", "?"))
    listed = (
        json.loads((vendor / "VERSIONS.json").read_text(encoding="utf-8"))
        if (vendor / "VERSIONS.json").is_file()
        else {}
    )
    (vendor / "VERSIONS.json").write_text(
        json.dumps({**listed, **versions}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return versions


def main() -> int:
    try:
        versions = copy_vendor_files()
        versions |= build_modeler_bundle()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"webui.vendor: {exc}", file=sys.stderr)
        return 1
    listed = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    print(f"webui.vendor: copied {listed} into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
