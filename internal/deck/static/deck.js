// Deck's live job list: rows, counts and rates follow the cluster over Server-Sent Events
// (/events, for the filter in force). Without JavaScript the page is complete; this only keeps it
// current. No framework, no build step.
(function () {
  "use strict";
  var table = document.getElementById("jobs");
  if (!table || !table.dataset.live || !window.EventSource) {
    return;
  }
  var rows = document.getElementById("rows");
  var size = parseInt(table.dataset.size || "100", 10);
  var live = document.getElementById("live");

  function element(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function setLive(on) {
    live = document.getElementById("live");
    if (live) {
      live.classList.toggle("on", on);
      live.title = on ? "Updates live" : "Reconnecting…";
    }
  }

  // place puts a row where its start time says, newest first; a row older than a full page is
  // not this page's.
  function place(tr) {
    var start = parseInt(tr.dataset.start || "0", 10);
    var kids = rows.children;
    for (var i = 0; i < kids.length; i++) {
      if (parseInt(kids[i].dataset.start || "0", 10) < start) {
        rows.insertBefore(tr, kids[i]);
        trim();
        return;
      }
    }
    if (kids.length < size) {
      rows.appendChild(tr);
    }
  }

  function trim() {
    while (rows.children.length > size) {
      rows.removeChild(rows.lastElementChild);
    }
    var empty = document.getElementById("empty");
    if (empty) {
      empty.hidden = rows.children.length > 0;
    }
  }

  var es = new EventSource(table.dataset.live);
  es.onopen = function () { setLive(true); };
  es.onerror = function () { setLive(false); };
  es.addEventListener("row", function (e) {
    var tr = element(e.data);
    var old = document.getElementById(tr.id);
    if (old) {
      if (old.dataset.state !== tr.dataset.state) {
        tr.classList.add("changed");
      }
      old.replaceWith(tr);
    } else {
      tr.classList.add("changed");
      place(tr);
    }
  });
  es.addEventListener("remove", function (e) {
    var old = document.getElementById(e.data);
    if (old) {
      old.remove();
      trim();
    }
  });
  es.addEventListener("summary", function (e) {
    var old = document.getElementById("summary");
    if (old) {
      old.replaceWith(element(e.data));
      setLive(true);
    }
  });
  es.addEventListener("reload", function () { window.location.reload(); });
})();
