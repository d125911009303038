// Spyglass: folds that open in steps, line links into folds, and the live build log.
"use strict";
(function () {
  function openFold(fold, take) {
    var q = new URLSearchParams({ file: fold.dataset.file, offset: fold.dataset.offset, length: fold.dataset.length, start: fold.dataset.start, take: take });
    if (fold.dataset.bytes) q.set("bytes", "1");
    return fetch("/spyglass/fold/" + fold.dataset.src + "?" + q.toString()).then(function (r) {
      if (!r.ok) throw new Error("fold: " + r.status);
      return r.text();
    }).then(function (html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      fold.replaceWith(tpl.content);
    });
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest(".fold button");
    if (!b) return;
    b.disabled = true;
    openFold(b.closest(".fold"), b.dataset.take).catch(function (err) { b.disabled = false; b.textContent = String(err); });
  });
  // A link to a folded line (#L123) opens the fold that holds it.
  function showHash() {
    var m = /^#L(\d+)$/.exec(location.hash);
    if (!m || document.getElementById(location.hash.slice(1))) return;
    var n = +m[1];
    document.querySelectorAll(".fold").forEach(function (f) {
      var s = +f.dataset.start, c = +f.dataset.count;
      if (!f.dataset.bytes && n >= s && n < s + c) {
        openFold(f, "all").then(function () {
          var el = document.getElementById("L" + n);
          if (el) { el.scrollIntoView({ block: "center" }); location.hash = "#L" + n; }
        });
      }
    });
  }
  window.addEventListener("hashchange", showHash);
  // The live log: lines arrive as Server-Sent Events; at "end", the bucket's log replaces it.
  function follow(log) {
    var lines = log.querySelector(".sg-lines");
    var es = new EventSource(log.dataset.live);
    es.addEventListener("line", function (e) {
      var stick = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 4;
      lines.insertAdjacentHTML("beforeend", e.data);
      if (stick) lines.scrollTop = lines.scrollHeight;
    });
    es.addEventListener("end", function (e) {
      es.close();
      var status = log.querySelector(".sg-live-status");
      if (status) status.textContent = "Log stream ended (" + e.data + "); loading the bucket's build-log.txt…";
      swap(log, 0, /not available|no running Pod/.test(e.data));
    });
  }
  function swap(log, tries, force) {
    fetch(log.dataset.fragment + (force ? "?force=1" : "")).then(function (r) {
      if (r.status === 202 && tries < 600) { setTimeout(function () { swap(log, tries + 1, force || tries > 30); }, 1000); return; }
      return r.text().then(function (html) {
        var body = log.closest(".sg-lens-body");
        body.innerHTML = html;
        body.closest(".sg-lens").dataset.switched = "bucket";
      });
    });
  }
  function start() {
    document.querySelectorAll(".sg-live[data-live]").forEach(follow);
    showHash();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
