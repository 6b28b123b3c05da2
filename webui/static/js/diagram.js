/* The diagrams of the task and instance pages: the instance's pinned BPMN version drawn by the bpmn-js viewer,
   then marked by the page's kind (data-kind="task": steps done and open; "instance": every element's state). */
(function () {
  "use strict";

  // The task page: completed steps, and each open step in its worst time state.
  function markSteps(viewer, markers) {
    var canvas = viewer.get("canvas");
    var elements = viewer.get("elementRegistry");
    (markers.done || []).forEach(function (id) {
      if (elements.get(id)) { canvas.addMarker(id, "al-done"); }
    });
    // A step of a called process is not in this diagram: when there is exactly one call activity, it is there.
    var calls = elements.filter(function (e) { return e.type === "bpmn:CallActivity"; });
    var rank = { green: 0, yellow: 1, red: 2 };
    var worst = {};
    (markers.current || []).forEach(function (step) {
      var id = elements.get(step.id) ? step.id : (calls.length === 1 ? calls[0].id : null);
      if (id && (!(id in worst) || rank[step.state] > rank[worst[id]])) { worst[id] = step.state; }
    });
    Object.keys(worst).forEach(function (id) {
      canvas.addMarker(id, "al-current");
      canvas.addMarker(id, "al-" + worst[id]);
    });
  }

  // The instance page: every element's state, and a token on each element that holds one.
  function markElements(viewer, markers) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var token = function (id, kind) {
      var dot = document.createElement("span");
      dot.className = "al-token" + (kind ? " al-token-" + kind : "");
      dot.setAttribute("data-token", id);
      overlays.add(id, "al-token", { position: { top: -8, right: 8 }, html: dot });
    };
    (markers.elements || []).forEach(function (e) {
      if (!registry.get(e.id)) { return; }
      if (e.state === "completed") {
        canvas.addMarker(e.id, "al-done");
      } else if (e.state === "active" && e.time_state) {
        canvas.addMarker(e.id, "al-current");
        canvas.addMarker(e.id, "al-" + e.time_state);
        token(e.id);
      } else if (e.state === "active") {
        canvas.addMarker(e.id, "al-active");
        token(e.id);
      } else if (e.state === "waiting") {
        canvas.addMarker(e.id, "al-waiting");
        token(e.id, "waiting");
      } else if (e.state === "error") {
        canvas.addMarker(e.id, "al-error");
        token(e.id, "error");
      }
    });
    // A called process runs inside its call activity: mark the activity while it runs.
    (markers.calls || []).forEach(function (id) {
      if (registry.get(id) && !canvas.hasMarker(id, "al-current")) {
        canvas.removeMarker(id, "al-done");
        canvas.addMarker(id, "al-active");
      }
    });
  }

  function draw() {
    var box = document.getElementById("diagram");
    if (!box) { return; }
    var status = box.querySelector(".diagram-status");
    var say = function (text) { if (status) { status.textContent = text || ""; } };
    if (typeof window.BpmnJS !== "function") {
      say(box.dataset.msgMissing);
      return;
    }
    var markers = JSON.parse(box.dataset.markers || "{}");
    var mark = box.dataset.kind === "instance" ? markElements : markSteps;
    var viewer = new window.BpmnJS({ container: box.querySelector(".diagram-canvas") });
    fetch(box.dataset.xmlUrl, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        mark(viewer, markers);
        var canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport", "auto");
        var size = document.getElementById("diagram-size");
        if (size) {
          size.hidden = false;
          size.addEventListener("click", function () {
            var large = box.classList.toggle("is-large");
            size.setAttribute("aria-pressed", large ? "true" : "false");
            canvas.resized();
            canvas.zoom(large ? 1 : "fit-viewport", "auto");
          });
        }
        box.dataset.ready = "true";
        say("");
      })
      .catch(function () { say(box.dataset.msgFailed); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
