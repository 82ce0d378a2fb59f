// Switchboard UI: progressive enhancement only; every page works without it.
"use strict";

// Forms that change or delete data ask first (data-confirm holds the question).
document.addEventListener("submit", function (e) {
  var q = e.target.getAttribute && e.target.getAttribute("data-confirm");
  if (q && !window.confirm(q)) e.preventDefault();
});

// SIP accounts: Is Online and User Agent follow the registrar without a
// page reload. The table names its endpoint; cells carry the account id.
(function () {
  var table = document.querySelector("table[data-live-src]");
  if (!table) return;
  var src = table.getAttribute("data-live-src");
  var yes = table.getAttribute("data-online"), no = table.getAttribute("data-offline");
  function cells(kind) { return table.querySelectorAll("td[data-live='" + kind + "']"); }
  var ids = Array.prototype.map.call(cells("online"), function (td) { return td.getAttribute("data-id"); });
  if (!ids.length) return;
  function refresh() {
    if (document.hidden) return;
    fetch(src + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (rows) {
        if (!rows) return;
        var by = {};
        rows.forEach(function (r) { by[String(r.id)] = r; });
        cells("online").forEach(function (td) {
          var r = by[td.getAttribute("data-id")]; if (!r) return;
          var span = document.createElement("span");
          span.className = r.is_online ? "badge ok" : "badge";
          span.textContent = r.is_online ? yes : no;
          td.replaceChildren(span);
        });
        cells("user_agent").forEach(function (td) {
          var r = by[td.getAttribute("data-id")]; if (!r) return;
          td.textContent = r.user_agent || "";
        });
        table.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next tick tries again */ });
  }
  setInterval(refresh, 5000);
  document.addEventListener("visibilitychange", refresh);
})();

// Issue 16: layout — the tab menu is open on a wide screen (its summary is
// hidden there) and starts closed on a phone; without this script it is open.
(function () {
  var menu = document.querySelector("details.tabs-menu");
  if (!menu || !window.matchMedia) return;
  var phone = window.matchMedia("(max-width: 700px)");
  function fit() { menu.open = !phone.matches; }
  fit();
  phone.addEventListener("change", fit);
})();

// Issue 16: columns and time zones.
// Until the user chooses a time zone, the server shows times in the
// browser's zone, which it learns from this cookie; a page rendered
// before the cookie existed (or with another zone) is reloaded once.
(function () {
  var top = document.querySelector("header.top[data-tz]");
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var had = /(?:^|;\s*)sb_tz=([^;]*)/.exec(document.cookie);
  if (!had || decodeURIComponent(had[1]) !== zone) {
    // IANA names (letters, digits, / _ + -) are cookie-safe as they are.
    document.cookie = "sb_tz=" + zone + "; Path=/; Max-Age=31536000; SameSite=Lax";
  }
  if (!top || !top.hasAttribute("data-tz-auto") || top.getAttribute("data-tz") === zone) return;
  // Only once per zone and tab: a zone the server does not know stays UTC.
  try {
    if (sessionStorage.getItem("sb_tz_reloaded") === zone) return;
    sessionStorage.setItem("sb_tz_reloaded", zone);
  } catch (e) { return; }
  if (document.querySelector("time, input[type='datetime-local']")) location.reload();
})();

/* Paging bar (issue 16, point 6): a new page size applies at once; the
   form's button stays for browsers without this script. */
(function () {
  document.querySelectorAll("form.page-size select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
})();
