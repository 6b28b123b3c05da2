/* A user or manual task needs a role: a lane named after the role, or the task's `role` property. */
"use strict";

const { is } = require("bpmnlint-utils");
const { taskProperties } = require("./properties");

function lanedIds(laneSets, into) {
  (laneSets || []).forEach(function (set) {
    (set.lanes || []).forEach(function (lane) {
      if ((lane.name || "").trim()) {
        (lane.flowNodeRef || []).forEach(function (ref) { into.add(ref.id); });
      }
      if (lane.childLaneSet) { lanedIds([lane.childLaneSet], into); }
    });
  });
  return into;
}

module.exports = function () {
  function walk(elements, laned, inherited, reporter) {
    (elements || []).forEach(function (element) {
      const inLane = inherited || laned.has(element.id);
      if (is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask")) {
        if (!inLane && !(taskProperties(element).role || "").trim()) {
          reporter.report(element.id, "No role: put the task in a lane named after a role, or set its Role");
        }
      }
      if (is(element, "bpmn:SubProcess")) { walk(element.flowElements, laned, inLane, reporter); }
    });
  }

  function check(node, reporter) {
    if (!is(node, "bpmn:Process")) { return; }
    walk(node.flowElements, lanedIds(node.laneSets, new Set()), false, reporter);
  }

  return { check: check };
};
