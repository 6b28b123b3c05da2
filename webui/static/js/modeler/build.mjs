// Bundles src/ (bpmn-js Modeler, properties panel, bpmnlint, differ) into webui/static/vendor/modeler.bundle.{js,css}.
// Run by `python -m webui.vendor` (make install) after `npm ci`; the output is built, never committed.
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || resolve(here, "../../vendor");

await build({
  entryPoints: { "modeler.bundle": resolve(here, "src/index.js") },
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "AuditLoopModeler",
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "linked",
  outdir: out,
  logLevel: "warning",
});
await build({
  entryPoints: { "modeler.bundle": resolve(here, "src/modeler.css") },
  bundle: true,
  minify: true,
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".svg": "dataurl" },
  legalComments: "linked",
  outdir: out,
  logLevel: "warning",
});
