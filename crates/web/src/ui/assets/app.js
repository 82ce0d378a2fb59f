// Switchboard UI: progressive enhancement only; every page works without it.
"use strict";

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

// Issue 16: relationship pickers. Each .picker holds the plain id input the
// form posts (a text box without script) and a hidden WAI-ARIA 1.2 combobox
// with a listbox popup; this turns the combobox on, searches
// {base}/pick/{kinds} as the user types (debounced), and keeps the id input
// in step. To-many pickers show ordered chips with up/down/remove.
(function () {
  var seq = 0;
  function init(root) {
    var value = root.querySelector(".picker-value");
    var combo = root.querySelector(".picker-input");
    var list = root.querySelector(".picker-list");
    var status = root.querySelector(".picker-status");
    if (!value || !combo || !list) return;
    var url = root.getAttribute("data-picker");
    var many = root.hasAttribute("data-picker-many");
    var typed = root.hasAttribute("data-picker-typed");
    var texts = {};
    var entries = [];
    try { texts = JSON.parse(root.getAttribute("data-picker-texts") || "{}"); } catch (e) { texts = {}; }
    try { entries = JSON.parse(root.getAttribute("data-picker-labels") || "[]"); } catch (e) { entries = []; }
    var hits = [];
    var active = -1;
    var timer = null;
    var chips = null;

    var label = document.querySelector("label[for='" + value.id + "']");
    if (label) label.htmlFor = combo.id;
    ["aria-invalid", "aria-describedby"].forEach(function (a) {
      if (value.hasAttribute(a)) combo.setAttribute(a, value.getAttribute(a));
    });
    if (value.required) combo.setAttribute("aria-required", "true");
    value.type = "hidden";
    value.removeAttribute("required");
    combo.hidden = false;
    if (many) {
      chips = document.createElement("ul");
      chips.className = "picker-chips";
      if (label) chips.setAttribute("aria-label", label.textContent.replace(/\*/g, "").trim());
      root.insertBefore(chips, combo);
    }

    function valueOf(h) { return typed ? h.type + ":" + h.id : String(h.id); }
    function sync() {
      value.value = entries.map(function (e) { return e.value; }).join(", ");
      if (many) drawChips(); else combo.value = entries.length ? entries[0].label : "";
    }
    function button(text, aria, fn) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = text;
      b.setAttribute("aria-label", aria);
      b.addEventListener("click", fn);
      return b;
    }
    function move(i, d) {
      var j = i + d;
      if (j < 0 || j >= entries.length) return;
      var t = entries[i]; entries[i] = entries[j]; entries[j] = t;
      sync();
      var again = chips.children[j] && chips.children[j].querySelector(d < 0 ? ".up" : ".down");
      if (again && !again.disabled) again.focus(); else combo.focus();
    }
    function drawChips() {
      chips.textContent = "";
      entries.forEach(function (e, i) {
        var li = document.createElement("li");
        var s = document.createElement("span");
        s.textContent = e.label;
        li.appendChild(s);
        var up = button("↑", (texts.up || "Move up") + ": " + e.label, function () { move(i, -1); });
        up.classList.add("up");
        up.disabled = i === 0;
        var down = button("↓", (texts.down || "Move down") + ": " + e.label, function () { move(i, 1); });
        down.classList.add("down");
        down.disabled = i === entries.length - 1;
        var rm = button("×", (texts.remove || "Remove") + ": " + e.label, function () {
          entries.splice(i, 1);
          sync();
          combo.focus();
        });
        rm.classList.add("remove");
        li.appendChild(up);
        li.appendChild(down);
        li.appendChild(rm);
        chips.appendChild(li);
      });
    }
    function close() {
      list.hidden = true;
      list.textContent = "";
      combo.setAttribute("aria-expanded", "false");
      combo.removeAttribute("aria-activedescendant");
      hits = [];
      active = -1;
    }
    function highlight(i) {
      var opts = list.querySelectorAll("[role='option']");
      if (!opts.length) return;
      active = (i + opts.length) % opts.length;
      for (var k = 0; k < opts.length; k++) opts[k].setAttribute("aria-selected", k === active ? "true" : "false");
      combo.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    }
    function choose(i) {
      var h = hits[i];
      if (!h) return;
      var e = { value: valueOf(h), label: h.label };
      if (many) {
        if (!entries.some(function (x) { return x.value === e.value; })) entries.push(e);
        combo.value = "";
      } else {
        entries = [e];
      }
      close();
      sync();
      value.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function show(found) {
      hits = found;
      active = -1;
      list.textContent = "";
      combo.removeAttribute("aria-activedescendant");
      found.forEach(function (h, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.textContent = h.label || "#" + h.id;
        var detail = document.createElement("span");
        detail.className = "muted";
        detail.textContent = h.detail;
        li.appendChild(name);
        li.appendChild(detail);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
      });
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "picker-empty";
        none.setAttribute("role", "presentation");
        none.textContent = texts.none || "No results";
        list.appendChild(none);
      }
      list.hidden = false;
      combo.setAttribute("aria-expanded", "true");
      if (status) status.textContent = found.length ? (texts.results || "Results:") + " " + found.length : (texts.none || "No results");
    }
    function query(extra) {
      var q = url + "?" + extra;
      var form = root.closest("form");
      var owner = form && form.querySelector("input[name='rel:customer']");
      if (owner && owner !== value && /^\d+$/.test(owner.value.trim())) q += "&customer=" + owner.value.trim();
      return fetch(q, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      });
    }
    function search() {
      var mine = ++seq;
      query("q=" + encodeURIComponent(combo.value.trim())).then(function (found) {
        // Only the newest answer counts; and none once focus has left.
        if (mine === seq && document.activeElement === combo) show(found);
      }).catch(function () { close(); });
    }
    combo.addEventListener("input", function () {
      clearTimeout(timer);
      if (!many && combo.value.trim() === "") { entries = []; value.value = ""; }
      timer = setTimeout(search, 150);
    });
    combo.addEventListener("keydown", function (ev) {
      var open = !list.hidden && hits.length > 0;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (!open) { clearTimeout(timer); search(); return; }
        highlight(ev.key === "ArrowDown" ? active + 1 : active < 0 ? hits.length - 1 : active - 1);
      } else if (ev.key === "Enter") {
        if (open && active >= 0) { ev.preventDefault(); choose(active); }
      } else if (ev.key === "Escape") {
        if (!list.hidden) { ev.preventDefault(); close(); } else if (combo.value) { ev.preventDefault(); combo.value = ""; if (!many) { entries = []; value.value = ""; } }
      } else if (ev.key === "Tab") {
        if (open && active >= 0) choose(active); else close();
      }
    });
    combo.addEventListener("blur", function () {
      clearTimeout(timer);
      close();
      // Text typed but not picked: show the chosen record again.
      if (!many) combo.value = entries.length ? entries[0].label : "";
    });
    sync();
    // Values without a server-side label (list filters): ask for them.
    var unknown = entries.filter(function (e) { return e.label === "#" + e.value.split(":").pop(); });
    if (unknown.length) {
      query("values=" + encodeURIComponent(entries.map(function (e) { return e.value; }).join(","))).then(function (found) {
        found.forEach(function (h) {
          entries.forEach(function (e) { if (e.value === valueOf(h)) e.label = h.label; });
        });
        if (document.activeElement !== combo) sync();
      }).catch(function () {});
    }
  }
  var all = document.querySelectorAll(".picker[data-picker]");
  for (var i = 0; i < all.length; i++) init(all[i]);
})();

// Issue 16: bulk actions. The header checkbox ticks or clears every row
// checkbox of the page (they submit with the bulk form through their
// `form` attribute, so the form works without this script too).
(function () {
  // The field and value of an edit show only while Edit is the action.
  var action = document.getElementById("bulk-action");
  function edits() {
    document.querySelectorAll("[data-bulk-edit]").forEach(function (el) { el.hidden = action.value !== "edit"; });
  }
  if (action) { action.addEventListener("change", edits); edits(); }
  var page = document.querySelector("input[data-bulk-page]");
  if (!page) return;
  function rows() { return document.querySelectorAll("input[type='checkbox'][form='bulk'][name='id']"); }
  page.addEventListener("change", function () {
    rows().forEach(function (c) { c.checked = page.checked; });
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.matches || !t.matches("input[form='bulk'][name='id']")) return;
    var all = rows(), n = 0;
    all.forEach(function (c) { if (c.checked) n++; });
    page.checked = n === all.length;
    page.indeterminate = n > 0 && n < all.length;
  });
})();

// Issue 16, forms: the first bad field takes the focus, the error
// summary's links focus their field, password inputs get a working Show
// button, and an enum select's help follows the chosen value.
(function () {
  function focusable(el) {
    if (!el) return null;
    // A picker hides its id input once its combobox is on: focus the combobox.
    if (el.type === "hidden") el = document.getElementById(el.id + "-picker");
    if (!el) return null;
    if (el.matches("input, select, textarea, button")) return el;
    return el.querySelector("input, select, textarea");
  }
  var first = focusable(document.querySelector('[aria-invalid="true"]:not([type="hidden"])'));
  if (first) first.focus();
  document.querySelectorAll("button.reveal[hidden]").forEach(function (b) { b.hidden = false; });
  document.addEventListener("click", function (e) {
    if (!e.target.closest) return;
    var a = e.target.closest(".error-summary a[href^='#']");
    if (a) {
      var el = focusable(document.getElementById(a.getAttribute("href").slice(1)));
      if (el) { e.preventDefault(); el.focus(); el.scrollIntoView({ block: "center" }); }
      return;
    }
    var btn = e.target.closest("button.reveal");
    if (!btn) return;
    var input = document.getElementById(btn.getAttribute("aria-controls"));
    if (!input) return;
    var show = input.type === "password";
    input.type = show ? "text" : "password";
    btn.setAttribute("aria-pressed", show ? "true" : "false");
    btn.textContent = btn.getAttribute(show ? "data-hide" : "data-show");
  });
  document.addEventListener("change", function (e) {
    var s = e.target;
    if (!s.matches || !s.matches("select[data-help-for]")) return;
    var p = document.getElementById(s.getAttribute("data-help-for"));
    var o = s.options[s.selectedIndex];
    if (p) p.textContent = (o && o.getAttribute("data-help")) || "";
  });
})();

/* Paging bar (issue 16, point 6): a new page size applies at once; the
   form's button stays for browsers without this script. */
(function () {
  document.querySelectorAll("form.page-size select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
})();
