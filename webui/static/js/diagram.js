/* The task page's diagram: the instance's pinned BPMN version drawn by the bpmn-js viewer, steps marked. */
(function () {
  "use strict";

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
    var viewer = new window.BpmnJS({ container: box.querySelector(".diagram-canvas") });
    fetch(box.dataset.xmlUrl, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
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
