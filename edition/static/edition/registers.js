// Popups for names and terms in the reading view, as history.state.gov shows them: hovering or
// focusing a link to the List of Persons or of Abbreviations (a[data-entry], written by
// edition/tei/render.py) shows the entry's name and description, read from the JSON that
// {% register_entries %} puts in the page. Without this script the link goes to the entry.
(function () {
  "use strict";

  const HIDE_DELAY = 200; // ms: time to move the pointer onto the popup (WCAG 1.4.13)
  const MARGIN = 8; // px between the popup and the edges of the screen

  function start() {
    const source = document.getElementById("register-entries");
    if (!source) return;
    let entries;
    try {
      entries = JSON.parse(source.textContent);
    } catch (error) {
      return;
    }
    const links = [...document.querySelectorAll("article.tei-document a[data-entry]")]
      .filter((link) => Object.prototype.hasOwnProperty.call(entries, link.dataset.entry));
    if (!links.length) return;

    const popup = document.createElement("div");
    popup.id = "register-popup";
    popup.className = "register-popup";
    popup.setAttribute("role", "tooltip");
    popup.hidden = true;
    document.body.appendChild(popup);

    let current = null;
    let timer = null;

    function show(link) {
      clearTimeout(timer);
      if (current && current !== link) current.removeAttribute("aria-describedby");
      const entry = entries[link.dataset.entry];
      const name = document.createElement("strong");
      name.textContent = entry.name;
      popup.replaceChildren(name);
      if (entry.description) popup.append(entry.description);
      popup.hidden = false;
      link.setAttribute("aria-describedby", popup.id);
      current = link;
      place(link);
    }

    function hide() {
      clearTimeout(timer);
      popup.hidden = true;
      if (current) current.removeAttribute("aria-describedby");
      current = null;
    }

    function hideSoon() {
      clearTimeout(timer);
      timer = setTimeout(hide, HIDE_DELAY);
    }

    function place(link) {
      // The line of the link under the pointer or caret: a name broken across lines has
      // several boxes; the first will do.
      const box = link.getClientRects()[0] || link.getBoundingClientRect();
      const width = document.documentElement.clientWidth;
      popup.style.left = "0px";
      popup.style.top = "0px";
      const size = popup.getBoundingClientRect();
      const left = Math.max(MARGIN, Math.min(box.left, width - size.width - MARGIN));
      const below = box.bottom + 4;
      const fits = below + size.height + MARGIN <= window.innerHeight
        || box.top - size.height - 4 < MARGIN;
      const top = fits ? below : box.top - size.height - 4;
      popup.style.left = `${left + window.scrollX}px`;
      popup.style.top = `${top + window.scrollY}px`;
    }

    for (const link of links) {
      link.addEventListener("mouseenter", () => show(link));
      link.addEventListener("mouseleave", hideSoon);
      link.addEventListener("focus", () => show(link));
      link.addEventListener("blur", hide);
    }
    popup.addEventListener("mouseenter", () => clearTimeout(timer));
    popup.addEventListener("mouseleave", hideSoon);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !popup.hidden) hide();
    });
    window.addEventListener("resize", () => { if (current) place(current); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
