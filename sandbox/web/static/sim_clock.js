/* The sandbox page's 「时间快进」 card: the corp's simulated time (GET /sandbox/api/clock), kept
 * current, and the button's label following the number of days. The action itself is sent by
 * page.js (advance_time) like every other form. */
(function () {
  "use strict";
  var card = document.getElementById("advance-time");
  if (!card) return;
  var days = card.elements.days;
  var button = card.querySelector("[data-advance-label]");

  function label() {
    var n = parseInt(days.value, 10);
    button.textContent = "时间快进 " + (isNaN(n) ? "N" : n) + " 天";
  }

  function load() {
    return SB.api("clock").then(function (r) {
      if (!r.ok) return;
      card.querySelector("[data-sim-clock]").textContent = r.data.local;
      card.querySelector("[data-sim-offset]").textContent = String(r.data.offset_days);
    });
  }

  days.addEventListener("input", label);
  card.addEventListener("submit", function () { setTimeout(load, 300); });
  setInterval(load, 5000);
  label();
  load();
})();
