/* The modeler bundle (built by build.mjs into static/vendor/modeler.bundle.js): bpmn-js Modeler with the properties
   panel, our AuditLoop task properties, bpmnlint with the local `auditloop` rules, and bpmn-js-differ. */
import Modeler from "bpmn-js/lib/Modeler";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import lintModule from "bpmn-js-bpmnlint";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import { diff } from "bpmn-js-differ";
import lintConfig from "./lint";
import AuditLoopPropertiesProvider, { getTaskProperty, TASK_PROPERTIES } from "./properties-provider";
import spiffworkflow from "./spiffworkflow.json";

const auditLoopPropertiesModule = {
  __init__: ["auditLoopPropertiesProvider"],
  auditLoopPropertiesProvider: ["type", AuditLoopPropertiesProvider],
};

export const moddleExtensions = { spiffworkflow: spiffworkflow };

/* A modeler in `container`, its properties panel in `panel`; labels translate the AuditLoop group. */
export function createModeler(container, panel, labels) {
  return new Modeler({
    container: container,
    propertiesPanel: { parent: panel },
    linting: { bpmnlint: lintConfig, active: true },
    auditloop: { labels: labels || {} },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      auditLoopPropertiesModule,
      lintModule,
    ],
    moddleExtensions: moddleExtensions,
  });
}

export function createViewer(container) {
  return new NavigatedViewer({ container: container, moddleExtensions: moddleExtensions });
}

export { diff, getTaskProperty, TASK_PROPERTIES };
