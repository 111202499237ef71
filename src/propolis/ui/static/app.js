// The pages' behaviour: CSRF for htmx, theme, keyboard shortcuts, lists, confirmations.
// No inline script anywhere (the Content-Security-Policy forbids them): everything that
// needs JavaScript is wired here from data-* attributes.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx write carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // ---------------------------------------------------------------- theme and stream panel
  function toggleTheme() {
    var root = document.documentElement;
    var next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
    root.setAttribute("data-bs-theme", next);
    try { localStorage.setItem("propolis-theme", next); } catch (e) { /* private mode */ }
  }

  function toggleStream() {
    var hidden = document.documentElement.classList.toggle("stream-hidden");
    try { localStorage.setItem("propolis-stream-hidden", hidden ? "1" : "0"); } catch (e) { /* idem */ }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-theme-toggle]")) { toggleTheme(); return; }
    if (target.closest("[data-stream-toggle]")) { toggleStream(); return; }
    // A row opens its object, unless the click was on something interactive in it.
    var row = target.closest("tr[data-href]");
    if (row && !target.closest("a, button, input, select, textarea, label, summary")) {
      if (event.ctrlKey || event.metaKey) window.open(row.dataset.href, "_blank");
      else window.location.assign(row.dataset.href);
    }
  });

  // ---------------------------------------------------------------- live stream panel
  // An entry already on screen is not added twice (a connection htmx opens anew replays
  // from the panel's first read), and the panel keeps the latest entries only: the rest
  // is on the Activity page.
  var STREAM_KEEP = 200;
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var id = event.detail && event.detail.lastEventId;
    if (id && document.getElementById("audit-" + id)) event.preventDefault();
  });
  document.addEventListener("htmx:sseMessage", function (event) {
    var list = event.target;
    if (!(list instanceof Element) || list.id !== "stream-list") return;
    while (list.children.length > STREAM_KEEP) list.removeChild(list.lastElementChild);
  });

  // ---------------------------------------------------------------- forms
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    }
  }, true);

  // Filters apply as soon as they change (the form is a plain GET form without JS).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var form = target.closest("form[data-autosubmit]");
    if (form && !target.matches("[data-no-autosubmit]")) form.requestSubmit();
    // "Select all" checkboxes drive the row checkboxes of their table.
    if (target.matches("[data-select-all]")) {
      var scope = target.closest("form, table") || document;
      scope.querySelectorAll('input[type="checkbox"][name="' + target.dataset.selectAll + '"]')
        .forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches('input[type="checkbox"]')) updateBulkBars();
  });

  function updateBulkBars() {
    document.querySelectorAll("[data-bulk-for]").forEach(function (bar) {
      var name = bar.dataset.bulkFor;
      var count = document.querySelectorAll('input[type="checkbox"][name="' + name + '"]:checked').length;
      bar.classList.toggle("d-none", count === 0);
      var counter = bar.querySelector("[data-bulk-count]");
      if (counter) counter.textContent = String(count);
    });
  }
  document.addEventListener("htmx:afterSettle", updateBulkBars);
  document.addEventListener("DOMContentLoaded", updateBulkBars);

  // Multi-valued settings (admin analyzers): "+ add a value" copies the last row, emptied;
  // "−" removes a row (the last one left is emptied instead, so the field stays).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var add = target.closest("[data-multi-add]");
    var remove = target.closest("[data-multi-remove]");
    if (!add && !remove) return;
    var box = (add || remove).closest("[data-multi]");
    if (!box) return;
    var rows = box.querySelectorAll("[data-multi-row]");
    if (add) {
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; input.removeAttribute("id"); });
      copy.querySelectorAll("select").forEach(function (select) { select.removeAttribute("id"); });
      box.insertBefore(copy, add);
      var first = copy.querySelector("input, textarea, select");
      if (first) first.focus();
    } else if (rows.length > 1) {
      remove.closest("[data-multi-row]").remove();
    } else {
      rows[0].querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
    }
  });

  // ---------------------------------------------------------------- reorderable lists
  // A [data-reorder] list holds [data-reorder-item] children, in the order the form sends
  // them. Drag an item by its [data-reorder-handle] (HTML5 drag and drop), or move it with
  // its [data-move="up"|"down"] buttons (keyboard). [data-reorder-index] shows positions.
  var dragged = null;

  function renumber(list) {
    if (!list) return;
    var items = list.querySelectorAll(":scope > [data-reorder-item]");
    items.forEach(function (item, index) {
      var shown = item.querySelector("[data-reorder-index]");
      if (shown) shown.textContent = String(index + 1);
    });
  }

  function moveItem(item, direction) {
    var sibling = direction === "up" ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling || !sibling.matches("[data-reorder-item]")) return;
    item.parentElement.insertBefore(item, direction === "up" ? sibling : sibling.nextElementSibling);
    renumber(item.parentElement);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("[data-move]");
    var item = button ? button.closest("[data-reorder-item]") : null;
    if (!item) return;
    event.preventDefault();
    moveItem(item, button.dataset.move);
    button.focus();
  });

  document.addEventListener("dragstart", function (event) {
    var target = event.target;
    var handle = target instanceof Element ? target.closest("[data-reorder-handle]") : null;
    if (!handle) return;
    dragged = handle.closest("[data-reorder-item]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.reorderItem || "");
    event.dataTransfer.setDragImage(dragged, 12, 12);
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged || !(event.target instanceof Element)) return;
    var over = event.target.closest("[data-reorder-item]");
    if (!over || over.parentElement !== dragged.parentElement) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (over === dragged) return;
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentElement.insertBefore(dragged, after ? over.nextElementSibling : over);
  });

  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    renumber(dragged.parentElement);
    dragged = null;
  });

  // ---------------------------------------------------------------- keyboard
  var GO = { h: "/", a: "/alerts", c: "/cases", t: "/tasks/mine", w: "/tasks/waiting", s: "/stream", p: "/profile" };
  var pendingG = false;

  function typing(target) {
    return target instanceof Element &&
      (target.closest("input, textarea, select, [contenteditable]") !== null);
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table[data-rows] tbody tr[data-href]"));
  }

  function moveRow(step) {
    var all = rows();
    if (!all.length) return;
    var current = all.findIndex(function (r) { return r.classList.contains("row-selected"); });
    var next = Math.min(all.length - 1, Math.max(0, current + step));
    if (current >= 0) all[current].classList.remove("row-selected");
    all[next].classList.add("row-selected");
    all[next].scrollIntoView({ block: "nearest" });
  }

  function selectedRow() {
    return document.querySelector("table[data-rows] tbody tr.row-selected");
  }

  function showHelp() {
    var modal = document.getElementById("shortcuts");
    if (modal && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(modal).show();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target instanceof Element ? event.target.closest("form") : null;
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (pendingG) {
      pendingG = false;
      if (GO[event.key]) { event.preventDefault(); window.location.assign(GO[event.key]); }
      return;
    }
    switch (event.key) {
      case "g": pendingG = true; window.setTimeout(function () { pendingG = false; }, 1500); break;
      case "/": event.preventDefault(); var box = document.getElementById("quick-search"); if (box) box.focus(); break;
      case "?": event.preventDefault(); showHelp(); break;
      case "t": toggleTheme(); break;
      case "]": toggleStream(); break;
      case "j": moveRow(1); break;
      case "k": moveRow(-1); break;
      case "Enter": var row = selectedRow(); if (row) window.location.assign(row.dataset.href); break;
      case "x":
        var sel = selectedRow();
        var check = sel ? sel.querySelector('input[type="checkbox"]') : null;
        if (check) { check.checked = !check.checked; updateBulkBars(); }
        break;
      default: break;
    }
  });
})();
