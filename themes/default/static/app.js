// Relative times next to absolute ones ("3 min ago"). The pages work without this file.
(function () {
  "use strict";
  function ago(ms) {
    var s = Math.round(ms / 1000), future = s < 0;
    s = Math.abs(s);
    var text = s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" :
      s < 86400 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }
  function update() {
    var now = Date.now();
    document.querySelectorAll("time[data-rel]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) { return; }
      var span = el.nextElementSibling;
      if (!span || !span.classList.contains("rel")) {
        span = document.createElement("span");
        span.className = "rel";
        el.after(span);
      }
      span.textContent = " (" + ago(now - t) + ")";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    update();
    setInterval(update, 15000);
  });
})();
