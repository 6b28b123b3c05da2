/* The bpmnlint configuration of the editor, packed by hand: a few bpmnlint rules plus the local plugin `auditloop`
   (lint-rules/), which flags in the editor the mistakes the engine refuses at deploy. */
import adminOnly from "./lint-rules/admin-only";
import calledElement from "./lint-rules/called-element";
import executableProcess from "./lint-rules/executable-process";
import timeLimit from "./lint-rules/time-limit";
import timerValue from "./lint-rules/timer-value";
import userTaskRole from "./lint-rules/user-task-role";
import endEventRequired from "bpmnlint/rules/end-event-required";
import fakeJoin from "bpmnlint/rules/fake-join";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import startEventRequired from "bpmnlint/rules/start-event-required";

const RULES = {
  "bpmnlint/start-event-required": [startEventRequired, "error"],
  "bpmnlint/end-event-required": [endEventRequired, "warn"],
  "bpmnlint/no-disconnected": [noDisconnected, "error"],
  "bpmnlint/no-duplicate-sequence-flows": [noDuplicateSequenceFlows, "error"],
  // The engine refuses a task with two outgoing flows: a gateway must split.
  "bpmnlint/no-implicit-split": [noImplicitSplit, "error"],
  "bpmnlint/fake-join": [fakeJoin, "warn"],
  "bpmnlint-plugin-auditloop/user-task-role": [userTaskRole, "error"],
  "bpmnlint-plugin-auditloop/time-limit": [timeLimit, "error"],
  "bpmnlint-plugin-auditloop/executable-process": [executableProcess, "error"],
  "bpmnlint-plugin-auditloop/timer-value": [timerValue, "error"],
  "bpmnlint-plugin-auditloop/called-element": [calledElement, "error"],
  "bpmnlint-plugin-auditloop/admin-only": [adminOnly, "warn"],
};

const rules = {};
Object.keys(RULES).forEach(function (key) {
  rules[key.replace("bpmnlint-plugin-", "").replace(/^bpmnlint\//, "")] = RULES[key][1];
});

const resolver = {
  resolveRule: function (pkg, ruleName) {
    const entry = RULES[pkg + "/" + ruleName];
    if (!entry) { throw new Error("cannot resolve rule <" + pkg + "/" + ruleName + ">"); }
    return entry[0];
  },
  resolveConfig: function (pkg, configName) {
    throw new Error("cannot resolve config <" + configName + "> in <" + pkg + ">");
  },
};

export default { config: { rules: rules }, resolver: resolver };
