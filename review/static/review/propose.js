/* Emend — proposing from the reading view. Loaded only for members who may propose.

   A selection in the document becomes code-point offsets on the revision's text layer
   (edition/tei/textlayer.py): the script walks the article as the server walks the TEI —
   runs of whitespace are one space, a block drops its leading and trailing space, blocks are
   separated by "\n\n", note markers, page markers and the notes section are not text — and
   counts code points (for…of), so a character outside the BMP counts one, not two UTF-16 units.
   Every block carries data-o, the server's offset of its first character: the walk starts each
   block there, so a difference between page and layer cannot spread past one block. The quote
   and its context go with the offsets, and the server checks them against each other.

   The form itself is server-rendered (htmx): the popover holds review:propose's partial, and
   the page without JavaScript has the same form on its own page. */
(function () {
  "use strict";

  const SKIP = ".fnref, .pb, .footnotes, .layer-skip";
  const CONTEXT = 32; // code points, as review/anchoring.py
  const SPACE = /^[ \t\r\n]$/; // XML whitespace; NBSP and the rest are text
  // The markup toolbar on a selection: the inline elements a markup change may use
  // (edition/tei/markup.py ELEMENTS), the most common first.
  const MARKUP = ["persName", "term", "placeName", "orgName", "date", "gloss", "hi", "ref"];

  // -- the text layer of the page ------------------------------------------------------------

  /* Rebuild the layer from the article; `points` are DOM positions {node, offset} (offset in
     UTF-16 units of a text node, or a child index of an element). Returns the layer's code
     points and each point's code-point offset. */
  function buildLayer(article, points) {
    const chars = [];
    const at = points.map(() => null);
    const reached = new Set();
    let waiting = []; // points reached, waiting to know whether a pending space comes first
    let pendingSpace = false;
    let pendingSeparator = false;
    let blockHasText = false;

    function settle(position) {
      for (const i of waiting) at[i] = position;
      waiting = [];
    }
    function reach(node, offset) {
      points.forEach((p, i) => {
        if (!reached.has(i) && p.node === node && p.offset <= offset) {
          reached.add(i);
          waiting.push(i);
        }
      });
    }
    function boundary() {
      settle(chars.length); // a point before a block's end stays in that block
      pendingSpace = false; // a block's trailing space is dropped
      pendingSeparator = chars.length > 0;
      blockHasText = false;
    }
    function startBlock(offset) {
      boundary();
      if (chars.length > offset) chars.length = offset;
      while (chars.length < offset) chars.push("\n");
      pendingSeparator = false;
    }
    function put(ch) {
      if (SPACE.test(ch)) {
        if (blockHasText && !pendingSpace) {
          settle(chars.length); // a point just before a space stays before it
          pendingSpace = true;
        }
        return;
      }
      if (pendingSeparator) chars.push("\n", "\n");
      if (pendingSpace) chars.push(" ");
      pendingSeparator = pendingSpace = false;
      settle(chars.length);
      chars.push(ch);
      blockHasText = true;
    }
    function walk(node) {
      if (node.nodeType === Node.TEXT_NODE) {
        let unit = 0;
        for (const ch of node.data) {
          reach(node, unit);
          put(ch);
          unit += ch.length;
        }
        reach(node, Infinity);
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      if (node !== article && node.matches(SKIP)) return;
      const o = node === article ? null : node.getAttribute("data-o");
      if (o !== null) startBlock(parseInt(o, 10));
      if (node.tagName === "BR") put(" "); // <lb/> stands for a space
      node.childNodes.forEach((child, index) => {
        reach(node, index);
        walk(child);
      });
      reach(node, Infinity);
      if (o !== null) boundary();
    }
    walk(article);
    boundary();
    settle(chars.length);
    return { chars, at };
  }

  /* A DOM position inside a skipped element (a note marker, a page marker) moves just before
     that element: it has no width in the layer. */
  function normalise(article, node, offset) {
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const skipped = element && element.closest(SKIP);
    if (skipped && skipped !== article && article.contains(skipped)) {
      return { node: skipped.parentNode, offset: Array.prototype.indexOf.call(skipped.parentNode.childNodes, skipped) };
    }
    return { node, offset };
  }

  /* What a selection means: a footnote (marker or note body) or a range of the layer. */
  function describe(article, range) {
    const element = (n) => (n.nodeType === Node.ELEMENT_NODE ? n : n.parentElement);
    const start = element(range.startContainer);
    if (!start || !article.contains(start)) return null;
    const footnote = start.closest(".footnotes li.footnote");
    if (footnote) return { note: footnote.id.replace(/^fn-/, "") };
    const marker = start.closest(".fnref");
    if (marker && marker.querySelector("a[id^='fnref-']")) {
      return { note: marker.querySelector("a[id^='fnref-']").id.replace(/^fnref-/, "") };
    }
    if (!article.contains(range.endContainer)) return null;
    const points = [normalise(article, range.startContainer, range.startOffset),
                    normalise(article, range.endContainer, range.endOffset)];
    const layer = buildLayer(article, points);
    const [s, e] = layer.at[0] <= layer.at[1] ? layer.at : [layer.at[1], layer.at[0]];
    return {
      start: s,
      end: e,
      exact: layer.chars.slice(s, e).join(""),
      prefix: layer.chars.slice(Math.max(s - CONTEXT, 0), s).join(""),
      suffix: layer.chars.slice(e, e + CONTEXT).join(""),
    };
  }

  // -- the popover -------------------------------------------------------------------------

  function setUp() {
    const article = document.querySelector("article.tei-document");
    const root = document.getElementById("propose-root");
    if (!article || !root || !window.htmx) return;
    const trigger = root.querySelector(".propose-trigger");
    const popover = root.querySelector(".propose-popover");
    let current = null;
    let timer = null;
    // A small toolbar beside the trigger: one button per element, opening the form as a
    // markup change of the selected words with that element chosen.
    const toolbar = document.createElement("span");
    toolbar.className = "propose-markup-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Mark up the selected words");
    toolbar.hidden = true;
    for (const name of MARKUP) {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: name });
      button.dataset.element = name;
      toolbar.append(button);
    }
    trigger.after(toolbar);

    function place(el, rect) {
      const width = Math.min(el.offsetWidth || 320, window.innerWidth - 16);
      const left = Math.min(Math.max(rect.left + window.scrollX, 8), window.scrollX + window.innerWidth - width - 8);
      el.style.left = left + "px";
      el.style.top = rect.bottom + window.scrollY + 6 + "px";
    }
    function rectOf(range) {
      const rects = range.getClientRects();
      return rects.length ? rects[rects.length - 1] : range.getBoundingClientRect();
    }
    function hidePopover() {
      popover.hidden = true;
      popover.replaceChildren();
    }

    function onSelection() {
      const selection = window.getSelection();
      if (!selection || !selection.rangeCount) return;
      const range = selection.getRangeAt(0);
      if (root.contains(range.startContainer)) return; // typing in the form
      current = describe(article, range);
      if (!current) {
        trigger.hidden = toolbar.hidden = true;
        return;
      }
      trigger.textContent = current.note ? "Edit or remove this footnote"
        : current.start === current.end ? "Propose here" : "Propose a change";
      trigger.hidden = false;
      place(trigger, rectOf(range));
      toolbar.hidden = Boolean(current.note) || current.start === current.end;
      if (!toolbar.hidden) {
        const rect = rectOf(range);
        toolbar.style.left = trigger.offsetLeft + trigger.offsetWidth + 6 + "px";
        toolbar.style.top = rect.bottom + window.scrollY + 6 + "px";
      }
    }

    function open(info, markup) {
      const anchor = trigger.getBoundingClientRect(); // before hiding it: a hidden box has none
      trigger.hidden = toolbar.hidden = true;
      const form = popover.querySelector("form.propose-form");
      if (!popover.hidden && form) {
        // A form is open (maybe with queued changes and a rationale): place the new selection
        // in it rather than starting over.
        const set = (name, value) => { const f = form.elements.namedItem(name); if (f) f.value = value; };
        for (const name of ["start", "end", "exact", "prefix", "suffix"]) set(name, info.note ? "" : info[name]);
        set("note_id", info.note || "");
        form.querySelectorAll("input[name=kind]").forEach((r) => {
          r.checked = info.note ? r.value === "note-edit" : Boolean(markup) && r.value === "markup";
        });
        if (markup) set("markup_element", markup);
        let reset = form.querySelector("input[name=reset]");
        if (!reset) {
          reset = Object.assign(document.createElement("input"), { type: "hidden", name: "reset" });
          form.append(reset);
        }
        reset.value = "1";
        place(popover, anchor);
        form.querySelector("button[name=action][value=place]:not(.propose-default)").click();
        return;
      }
      const values = { rev: root.dataset.rev };
      if (info.note) Object.assign(values, { kind: "note-edit", note_id: info.note });
      else Object.assign(values, { start: info.start, end: info.end, exact: info.exact, prefix: info.prefix, suffix: info.suffix });
      if (markup) Object.assign(values, { kind: "markup", markup_element: markup });
      htmx.ajax("GET", root.dataset.url, { target: popover, swap: "innerHTML", values }).then(() => {
        popover.hidden = false;
        place(popover, anchor);
        // The first field of the suggested kind (the others are hidden by CSS).
        const field = [...popover.querySelectorAll(".propose-field textarea, .propose-field select")]
          .find((f) => f.offsetParent !== null);
        if (field) field.focus({ preventScroll: true });
      });
    }

    document.addEventListener("selectionchange", () => {
      clearTimeout(timer);
      timer = setTimeout(onSelection, 120);
    });
    trigger.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
    trigger.addEventListener("click", () => { if (current) open(current); });
    toolbar.addEventListener("mousedown", (event) => event.preventDefault());
    toolbar.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-element]");
      if (button && current) open(current, button.dataset.element);
    });
    popover.addEventListener("input", (event) => {
      if (event.target.matches("input[name=attr_corresp]")) pick(event.target);
    });
    popover.addEventListener("click", (event) => {
      if (event.target.closest(".propose-cancel")) {
        event.preventDefault();
        hidePopover();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !popover.hidden) {
        hidePopover();
        const main = document.getElementById("main"); // focusable (tabindex=-1) in base.html
        if (main) main.focus({ preventScroll: true });
      }
    });
  }

  /* The picker: names typed in the "who or what" field are looked up in the volume's persons
     and terms (review:api:register), and a choice fills in the id — nobody types "#p_KN1". */
  let picking = null;
  function pick(input) {
    const query = input.value.trim();
    const list = input.form.querySelector("datalist#propose-registers");
    if (!list || query.length < 2 || query.startsWith("#") || !input.dataset.registers) return;
    clearTimeout(picking);
    picking = setTimeout(async () => {
      const found = [];
      for (const url of input.dataset.registers.split(" ")) {
        const response = await fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" });
        if (response.ok) found.push(...(await response.json()).results);
      }
      list.replaceChildren(...found.map((entry) => Object.assign(document.createElement("option"), {
        value: "#" + entry.id, textContent: entry.name + (entry.description ? " — " + entry.description : ""),
      })));
    }, 200);
  }

  // Form errors (400) and a stale revision (409) come back as the form with a message: show them.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    const ours = target && (target.closest("#propose-popover") || target.matches(".propose-panel"));
    if (ours && [400, 409].includes(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  window.emendPropose = { buildLayer, describe };
  // htmx is a deferred script after this one: wait for it (deferred scripts all run before
  // DOMContentLoaded, while readyState is already "interactive").
  if (document.readyState === "complete") setUp();
  else document.addEventListener("DOMContentLoaded", setUp);
})();
