/* Compare two versions of a definition: both drawn side by side, bpmn-js-differ's added / removed / changed /
   moved elements marked on them and listed. */
(function () {
  "use strict";

  function start() {
    var box = document.getElementById("compare");
    if (!box) { return; }
    var messages = JSON.parse(box.dataset.messages || "{}");
    var status = document.getElementById("compare-status");
    if (!window.AuditLoopModeler) { status.textContent = messages.missing; return; }
    var lib = window.AuditLoopModeler;
    var older = lib.createViewer(document.getElementById("compare-older"));
    var newer = lib.createViewer(document.getElementById("compare-newer"));

    function load(viewer, url) {
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/xml" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (xml) { return viewer.importXML(xml); })
        .then(function () { viewer.get("canvas").zoom("fit-viewport", "auto"); });
    }

    function mark(viewer, id, marker) {
      if (viewer.get("elementRegistry").get(id)) { viewer.get("canvas").addMarker(id, marker); }
    }

    Promise.all([load(older, box.dataset.olderUrl), load(newer, box.dataset.newerUrl)])
      .then(function () {
        var changes = lib.diff(older.getDefinitions(), newer.getDefinitions());
        var list = document.getElementById("compare-changes");
        var rows = [];
        Object.keys(changes._added).forEach(function (id) {
          mark(newer, id, "al-added");
          rows.push(["added", id, changes._added[id].$type]);
        });
        Object.keys(changes._removed).forEach(function (id) {
          mark(older, id, "al-removed");
          rows.push(["removed", id, changes._removed[id].$type]);
        });
        Object.keys(changes._changed).forEach(function (id) {
          mark(older, id, "al-changed");
          mark(newer, id, "al-changed");
          var attrs = Object.keys(changes._changed[id].attrs || {}).join(", ");
          rows.push(["changed", id, changes._changed[id].model.$type + (attrs ? ": " + attrs : "")]);
        });
        Object.keys(changes._layoutChanged).forEach(function (id) {
          if (changes._changed[id]) { return; }
          mark(newer, id, "al-moved");
          rows.push(["moved", id, changes._layoutChanged[id].$type]);
        });
        rows.forEach(function (row) {
          var li = document.createElement("li");
          li.className = "change is-" + row[0];
          li.dataset.elementId = row[1];
          li.dataset.change = row[0];
          li.textContent = messages[row[0]] + ": " + row[1] + " (" + row[2].replace("bpmn:", "") + ")";
          list.appendChild(li);
        });
        status.textContent = rows.length ? "" : messages.same;
        box.dataset.ready = "true";
      })
      .catch(function (error) { status.textContent = messages.failed + " " + error.message; });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
