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
     points, each point's code-point offset, and where each code point came from (`origins`:
     {node, unit, length} in a text node, null for a block separator). */
  function buildLayer(article, points) {
    const chars = [];
    const origins = [];
    let here = null; // the text node character being read
    let spaceFrom = null; // where the pending space was read
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
      spaceFrom = null;
      pendingSeparator = chars.length > 0;
      blockHasText = false;
    }
    function startBlock(offset) {
      boundary();
      if (chars.length > offset) chars.length = origins.length = offset;
      while (chars.length < offset) {
        chars.push("\n");
        origins.push(null);
      }
      pendingSeparator = false;
    }
    function put(ch) {
      if (SPACE.test(ch)) {
        if (blockHasText && !pendingSpace) {
          settle(chars.length); // a point just before a space stays before it
          pendingSpace = true;
          spaceFrom = here;
        }
        return;
      }
      if (pendingSeparator) {
        chars.push("\n", "\n");
        origins.push(null, null);
      }
      if (pendingSpace) {
        chars.push(" ");
        origins.push(spaceFrom);
      }
      pendingSeparator = pendingSpace = false;
      settle(chars.length);
      chars.push(ch);
      origins.push(here);
      blockHasText = true;
    }
    function walk(node) {
      if (node.nodeType === Node.TEXT_NODE) {
        let unit = 0;
        for (const ch of node.data) {
          reach(node, unit);
          here = { node, unit, length: ch.length };
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
      if (node.tagName === "BR") { // <lb/> stands for a space
        here = null;
        put(" ");
      }
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
    return { chars, at, origins };
  }

  /* A DOM Range over the layer's code points start…end, or null if none of them is on the page. */
  function rangeOf(layer, start, end) {
    let first = start;
    while (first < end && !layer.origins[first]) first += 1;
    let last = end - 1;
    while (last >= first && !layer.origins[last]) last -= 1;
    if (first > last) return null;
    const from = layer.origins[first];
    const to = layer.origins[last];
    const range = document.createRange();
    range.setStart(from.node, from.unit);
    range.setEnd(to.node, to.unit + to.length);
    return range;
  }

  /* The passages of the open proposals (a JSON list of [start, end, proposal] from the server,
     on the revision shown), highlighted without touching the DOM: the CSS Custom Highlight API
     leaves the text nodes, and so the offsets, as they are. Browsers without it still have the
     list at the top of the page. */
  function markPending(article) {
    const data = document.getElementById("pending-proposals");
    if (!data || !window.CSS || !CSS.highlights || typeof Highlight === "undefined") return 0;
    const layer = buildLayer(article, []);
    const ranges = JSON.parse(data.textContent)
      .map(([start, end]) => rangeOf(layer, start, end)).filter(Boolean);
    CSS.highlights.set("pending-proposal", new Highlight(...ranges));
    const key = document.querySelector(".propose-pending-key");
    if (key && ranges.length) key.hidden = false;
    return ranges.length;
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
      // With the form open (below the first selection), the button for another change goes
      // above this selection, where the popover cannot be.
      const above = !popover.hidden;
      if (above) {
        const top = range.getClientRects()[0] || range.getBoundingClientRect();
        trigger.style.top = Math.max(top.top + window.scrollY - trigger.offsetHeight - 6, 0) + "px";
      }
      toolbar.hidden = Boolean(current.note) || current.start === current.end;
      if (!toolbar.hidden) {
        // Beside the trigger where the window has room (a desktop); else under it, kept
        // inside the window and wrapping (a phone: eight buttons are wider than 390 px).
        const width = document.documentElement.clientWidth;
        const beside = trigger.offsetLeft + trigger.offsetWidth + 6;
        toolbar.style.left = "0px"; // its own width, not squeezed against the window's edge
        const own = toolbar.offsetWidth;
        toolbar.style.left = beside + "px";
        toolbar.style.top = trigger.style.top;
        if (beside + own > width - 8) {
          toolbar.style.left = Math.max(8, Math.min(trigger.offsetLeft, width - own - 8)) + "px";
          toolbar.style.top = trigger.offsetTop + trigger.offsetHeight + 4 + "px";
        }
      }
    }

    function open(info, markup) {
      // Beside the trigger (measured before hiding it: a hidden box has none), or the selection
      // when the keyboard opened the form before the trigger appeared.
      clearTimeout(timer); // the keyboard opens the form before the trigger would show
      const selection = window.getSelection();
      const anchor = !trigger.hidden ? trigger.getBoundingClientRect()
        : selection.rangeCount ? rectOf(selection.getRangeAt(0)) : article.getBoundingClientRect();
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
    markPending(article);
    keyboard(article, (info) => open(info));
  }

  // -- the keyboard: a caret in the text without the browser's caret browsing -----------------

  /* Alt+P (or the bar's button) puts a selection on the first word of the first block in
     view and focuses the document; the arrow keys then move it and Shift+arrows extend it
     (Selection.modify, which works on text that is not editable), and P or Enter opens the form
     for it. Alt+P on a selection made otherwise opens the form at once. */
  const MOVES = {
    ArrowRight: ["forward", "character"], ArrowLeft: ["backward", "character"],
    ArrowDown: ["forward", "line"], ArrowUp: ["backward", "line"],
    End: ["forward", "lineboundary"], Home: ["backward", "lineboundary"],
  };
  function keyboard(article, openFor) {
    const bar = document.getElementById("propose-bar");
    const keys = bar && bar.querySelector(".propose-keys");
    const status = bar && bar.querySelector(".propose-keys-status");
    let selecting = false;
    if (keys) keys.hidden = false;
    const say = (text) => { if (status) status.textContent = text; };
    const selectionInfo = () => {
      const selection = window.getSelection();
      return selection.rangeCount ? describe(article, selection.getRangeAt(0)) : null;
    };
    /* A footnote reached with Tab: its number in the text, or a link in its note below. The
       caret steps over note markers, so this is how the keyboard picks a footnote. */
    const focusedNote = () => {
      const focused = document.activeElement;
      if (!focused || focused === article || !article.contains(focused)) return null;
      const footnote = focused.closest(".footnotes li.footnote");
      if (footnote) return { note: footnote.id.replace(/^fn-/, "") };
      const marker = focused.closest(".fnref");
      const link = marker && marker.querySelector("a[id^='fnref-']");
      return link ? { note: link.id.replace(/^fnref-/, "") } : null;
    };
    const stop = () => {
      selecting = false;
      article.classList.remove("is-selecting");
    };
    function start() {
      const blocks = [...article.querySelectorAll("[data-o]")].filter((b) => !b.closest(SKIP));
      const block = blocks.find((b) => b.getBoundingClientRect().bottom > 0) || blocks[0];
      if (!block) return;
      if (!article.hasAttribute("tabindex")) article.tabIndex = -1;
      article.focus({ preventScroll: true });
      const selection = window.getSelection();
      selection.collapse(block, 0);
      selection.modify("extend", "forward", "word");
      selecting = true;
      article.classList.add("is-selecting");
      say(`Selected: ${selection}. Arrow keys move, Shift with the arrow keys extends, P proposes a change, Escape stops.`);
    }
    /* Selection.modify stops in front of a page or note marker (a link inside the text), or
       goes into it: the caret steps over it to the next text. */
    function stepOver(selection, alter, direction) {
      const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
        acceptNode: (n) => (n.parentElement.closest(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
      });
      walker.currentNode = selection.focusNode;
      const next = direction === "forward" ? walker.nextNode() : walker.previousNode();
      if (!next) return;
      const offset = direction === "forward" ? 0 : next.data.length;
      if (alter === "extend") selection.extend(next, offset);
      else selection.collapse(next, offset);
    }
    if (keys) keys.querySelector(".propose-keys-start").addEventListener("click", start);
    article.addEventListener("focusout", (event) => {
      if (!article.contains(event.relatedTarget)) stop();
    });
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (target.closest && target.closest("input, textarea, select, [contenteditable], .propose-popover")) return;
      if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyP") {
        event.preventDefault();
        const note = focusedNote();
        if (note) {
          stop();
          openFor(note);
          return;
        }
        const info = selectionInfo();
        if (info && !selecting && (info.note || info.start !== info.end)) openFor(info);
        else if (selecting && info) openFor(info);
        else start();
        return;
      }
      if (!selecting || !article.contains(document.activeElement)) return;
      if (event.key === "Escape") {
        stop();
        say("Stopped selecting.");
        return;
      }
      if ((event.key === "p" || event.key === "P" || event.key === "Enter") && !event.ctrlKey && !event.metaKey && !event.altKey) {
        const info = selectionInfo();
        if (info) {
          event.preventDefault();
          stop();
          openFor(info);
        }
        return;
      }
      const move = MOVES[event.key];
      if (!move || event.metaKey) return;
      event.preventDefault();
      const granularity = (event.ctrlKey || event.altKey) && move[1] === "character" ? "word" : move[1];
      const selection = window.getSelection();
      const alter = event.shiftKey ? "extend" : "move";
      const [node, offset] = [selection.focusNode, selection.focusOffset];
      selection.modify(alter, move[0], granularity);
      const focus = selection.focusNode;
      const inMarker = (focus.nodeType === Node.ELEMENT_NODE ? focus : focus.parentElement).closest(SKIP);
      if (inMarker || (focus === node && selection.focusOffset === offset)) {
        stepOver(selection, alter, move[0]);
      }
      say(selection.isCollapsed ? "Caret placed." : `Selected: ${selection}`);
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

  // ... and bring the message into view: the form is taller than the popover, and the person
  // pressed Submit at its bottom, so an error at its top would otherwise go unseen.
  document.addEventListener("htmx:afterSettle", () => {
    const popover = document.getElementById("propose-popover");
    const error = popover && popover.querySelector(".propose-error");
    if (!error || error.dataset.shown) return;  // each swap brings a new one: shown once
    error.dataset.shown = "1";
    error.setAttribute("tabindex", "-1");
    error.scrollIntoView({ block: "nearest" });
    error.focus({ preventScroll: true });
  });

  window.emendPropose = { buildLayer, describe, rangeOf };
  // htmx is a deferred script after this one: wait for it (deferred scripts all run before
  // DOMContentLoaded, while readyState is already "interactive").
  if (document.readyState === "complete") setUp();
  else document.addEventListener("DOMContentLoaded", setUp);
})();
