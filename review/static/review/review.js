// Emend review pages: keyboard shortcuts for the queue, and showing refusals htmx would drop.
// No framework; every action here is also a plain link or form that works without JavaScript.
(function () {
  "use strict";

  // A refused decision (400: a reason is missing; 409: the proposal changed meanwhile) comes
  // back as the panel or row with the message in it: show it instead of ignoring the response.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Review pages are sent with Cache-Control: no-store; should a browser still restore one from
  // its back/forward cache, fetch it again so a decided proposal never shows as open.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  var current = null; // the id of the focused row survives the row being swapped

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table tr[data-proposal]"));
  }

  function currentRow() {
    return current && document.querySelector('#queue-table tr[data-proposal="' + current + '"]');
  }

  function select(row) {
    var old = currentRow();
    if (old) old.classList.remove("is-current");
    if (!row) return;
    current = row.dataset.proposal;
    row.classList.add("is-current");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : index + step;
    select(all[Math.max(0, Math.min(all.length - 1, next))]);
  }

  function typing(target) {
    if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName)) return true;
    return target.tagName === "INPUT" && !/^(checkbox|radio|button|submit)$/.test(target.type);
  }

  function submit(button) {
    // A click, as a person would: htmx (or, without it, the form) posts to the button's action.
    if (button) button.click();
  }

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("queue-table")) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      var row = currentRow();
      if (row) row.focus({ preventScroll: true });
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var row = currentRow();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
      case "o":
        if (!row || event.target !== row && event.target !== document.body) return;
        var link = row.querySelector("a.open");
        if (link) window.location.href = link.href;
        break;
      case "a":
        if (row) submit(row.querySelector("button.approve"));
        break;
      case "r":
        if (!row) return;
        var details = row.querySelector("details.row-reject");
        if (!details) return;
        details.open = true;
        details.querySelector("textarea").focus();
        break;
      case "x":
        var box = row && row.querySelector('input[type="checkbox"]');
        if (box) box.checked = !box.checked;
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Clicking in a row makes it the current one, so the keys act where the reader looks.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#queue-table tr[data-proposal]");
    if (row && row.dataset.proposal !== current) {
      var old = currentRow();
      if (old) old.classList.remove("is-current");
      current = row.dataset.proposal;
      row.classList.add("is-current");
    }
  });

  // After a row is swapped (approved, rejected), keep it current and keep the focus in the table.
  document.addEventListener("htmx:afterSettle", function () {
    var row = currentRow();
    if (row && !row.classList.contains("is-current")) {
      row.classList.add("is-current");
      if (document.activeElement === document.body) row.focus({ preventScroll: true });
    }
  });
})();
