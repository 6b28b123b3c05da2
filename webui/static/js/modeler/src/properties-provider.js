/* The "AuditLoop" group of the properties panel: the task properties the engine reads (engine/bpmn/catalog.py),
   written as <spiffworkflow:properties><spiffworkflow:property name value/></spiffworkflow:properties>. */
import { TextFieldEntry, isTextFieldEntryEdited } from "@bpmn-io/properties-panel";
import { createElement as h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

// (property name, label key, description key): the order of the panel.
export const TASK_PROPERTIES = [
  ["role", "role", "roleHelp"],
  ["form", "form", "formHelp"],
  ["timeLimit", "timeLimit", "timeLimitHelp"],
  ["requiredDocuments", "requiredDocuments", "requiredDocumentsHelp"],
  ["assignee", "assignee", "assigneeHelp"],
  ["status", "status", "statusHelp"],
  ["record", "record", "recordHelp"],
];

function propertiesOf(bo) {
  const ext = bo.get("extensionElements");
  const values = ext ? ext.get("values") : [];
  return values.find(function (v) { return is(v, "spiffworkflow:Properties"); });
}

export function getTaskProperty(element, name) {
  const container = propertiesOf(getBusinessObject(element));
  const found = container && container.get("properties").find(function (p) { return p.name === name; });
  return found ? found.value || "" : "";
}

/* The commands that set (or, for an empty value, remove) one property, run as one undoable step. */
export function setTaskProperty(commandStack, bpmnFactory, element, name, value) {
  const bo = getBusinessObject(element);
  const commands = [];
  const text = (value || "").trim();
  let ext = bo.get("extensionElements");
  let container = propertiesOf(bo);
  const existing = container && container.get("properties").find(function (p) { return p.name === name; });
  if (!text) {
    if (existing) {
      commands.push({
        cmd: "element.updateModdleProperties",
        context: {
          element: element,
          moddleElement: container,
          properties: { properties: container.get("properties").filter(function (p) { return p !== existing; }) },
        },
      });
    }
  } else if (existing) {
    commands.push({
      cmd: "element.updateModdleProperties",
      context: { element: element, moddleElement: existing, properties: { value: text } },
    });
  } else {
    if (!ext) {
      ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      commands.push({
        cmd: "element.updateModdleProperties",
        context: { element: element, moddleElement: bo, properties: { extensionElements: ext } },
      });
    }
    if (!container) {
      container = bpmnFactory.create("spiffworkflow:Properties", { properties: [] });
      container.$parent = ext;
      commands.push({
        cmd: "element.updateModdleProperties",
        context: { element: element, moddleElement: ext, properties: { values: ext.get("values").concat([container]) } },
      });
    }
    const property = bpmnFactory.create("spiffworkflow:Property", { name: name, value: text });
    property.$parent = container;
    commands.push({
      cmd: "element.updateModdleProperties",
      context: {
        element: element,
        moddleElement: container,
        properties: { properties: container.get("properties").concat([property]) },
      },
    });
  }
  if (commands.length) { commandStack.execute("properties-panel.multi-command-executor", commands); }
}

function TaskPropertyEntry(props) {
  const commandStack = useService("commandStack");
  const bpmnFactory = useService("bpmnFactory");
  const debounce = useService("debounceInput");
  return h(TextFieldEntry, {
    id: props.id,
    element: props.element,
    label: props.label,
    description: props.description,
    debounce: debounce,
    getValue: function () { return getTaskProperty(props.element, props.name); },
    setValue: function (value) { setTaskProperty(commandStack, bpmnFactory, props.element, props.name, value); },
  });
}

export default function AuditLoopPropertiesProvider(propertiesPanel, config) {
  const labels = (config && config.labels) || {};
  this.getGroups = function (element) {
    return function (groups) {
      if (!is(element, "bpmn:Task")) { return groups; }
      const entries = TASK_PROPERTIES.map(function (p) {
        return {
          id: "auditloop-" + p[0],
          name: p[0],
          label: labels[p[1]] || p[0],
          description: labels[p[2]] || "",
          component: TaskPropertyEntry,
          isEdited: isTextFieldEntryEdited,
        };
      });
      groups.splice(Math.min(1, groups.length), 0, { id: "auditloop", label: labels.group || "AuditLoop", entries: entries });
      return groups;
    };
  };
  propertiesPanel.registerProvider(500, this);  // after getGroups exists: the panel checks for it
}
AuditLoopPropertiesProvider.$inject = ["propertiesPanel", "config.auditloop"];
