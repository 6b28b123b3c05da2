// Node side of tests/unit/test_modeler_bundle.py: runs the modeler's own source (webui/static/js/modeler/src)
// outside the browser. `lint FILE...` prints the bpmnlint issues per file; `write FILE TASK JSON` sets the task's
// AuditLoop properties with the properties panel's setTaskProperty and prints the XML the modeler would save.
import { build } from "esbuild";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(here, "../../../webui/static/js/modeler/src");
const entry = `
  export { default as lintConfig } from ${JSON.stringify(join(src, "lint.js"))};
  export { setTaskProperty } from ${JSON.stringify(join(src, "properties-provider.js"))};
  export { default as spiffworkflow } from ${JSON.stringify(join(src, "spiffworkflow.json"))};
  export { BpmnModdle } from "bpmn-moddle";
  export { Linter } from "bpmnlint";
`;
const out = join(mkdtempSync(join(tmpdir(), "modeler-check-")), "check.mjs");
await build({
  stdin: { contents: entry, resolveDir: here, loader: "js" },
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: out,
  logLevel: "error",
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
});
const lib = await import(pathToFileURL(out).href);
const moddle = new lib.BpmnModdle({ spiffworkflow: lib.spiffworkflow });

const [command, ...args] = process.argv.slice(2);
if (command === "lint") {
  const report = {};
  for (const file of args) {
    const linter = new lib.Linter(lib.lintConfig);  // as the editor does on every change: rules keep state
    const { rootElement } = await moddle.fromXML(readFileSync(file, "utf8"));
    const results = await linter.lint(rootElement);
    report[file] = Object.entries(results).flatMap(([rule, issues]) =>
      issues.map((i) => ({ rule, id: i.id, message: i.message, category: i.category })));
  }
  process.stdout.write(JSON.stringify(report));
} else if (command === "write") {
  const [file, taskId, json] = args;
  const { rootElement, elementsById } = await moddle.fromXML(readFileSync(file, "utf8"));
  const element = { businessObject: elementsById[taskId] };
  // The panel runs its changes as commands; here each update is applied directly to the moddle elements.
  const commandStack = {
    execute(name, commands) {
      for (const { context } of commands) {
        for (const [key, value] of Object.entries(context.properties)) { context.moddleElement.set(key, value); }
      }
    },
  };
  const bpmnFactory = { create: (type, attrs) => moddle.create(type, attrs) };
  for (const [name, value] of Object.entries(JSON.parse(json))) {
    lib.setTaskProperty(commandStack, bpmnFactory, element, name, value);
  }
  const { xml } = await moddle.toXML(rootElement, { format: true });
  process.stdout.write(xml);
} else {
  process.stderr.write("usage: modeler_check.mjs lint FILE... | write FILE TASK JSON\n");
  process.exit(2);
}
