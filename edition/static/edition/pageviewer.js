// Page images (issue 11): zoom and pan on every page figure (edition/_page_figure.html), and
// the reading view's "Page images" panel, which follows the reader's "[Page N]" markers.
//
// Zooming widens the image inside its frame, which scrolls: panning is the frame's own
// scrolling (wheel, touch, scroll bars), plus dragging with the mouse and the arrow keys when
// the frame has focus; + and − zoom (so do the buttons, Ctrl + wheel and two fingers' pinch),
// 0 fits the width again. The outlines on the image are an SVG the size of the image, so they
// follow it at every zoom. Without this script the figure
// is the image and a link to the full size, and the panel a <details> with every page's link.
(function () {
  "use strict";
  var MIN = 1, MAX = 6, STEP = 1.25, PAN = 60;

  function zoomTo(figure, zoom) {
    var frame = figure.querySelector(".page-frame");
    var canvas = figure.querySelector(".page-canvas");
    if (!frame || !canvas) { return; }
    zoom = Math.min(MAX, Math.max(MIN, zoom));
    // Keep the point at the frame's centre where it is.
    var cx = (frame.scrollLeft + frame.clientWidth / 2) / (canvas.offsetWidth || 1);
    var cy = (frame.scrollTop + frame.clientHeight / 2) / (canvas.offsetHeight || 1);
    figure.dataset.zoom = String(zoom);
    canvas.style.width = (zoom * 100) + "%";
    frame.classList.toggle("is-zoomed", zoom > 1);
    frame.scrollLeft = cx * canvas.offsetWidth - frame.clientWidth / 2;
    frame.scrollTop = cy * canvas.offsetHeight - frame.clientHeight / 2;
    var label = figure.querySelector(".page-zoom-level");
    if (label) { label.textContent = Math.round(zoom * 100) + "%"; }
  }

  function zoomOf(figure) { return parseFloat(figure.dataset.zoom || "1"); }

  // Bring the first outlined word (or region) into the frame's view.
  function reveal(figure) {
    var frame = figure.querySelector(".page-frame");
    var box = figure.querySelector(".page-box, .page-region");
    if (!frame || !box) { return; }
    var f = frame.getBoundingClientRect(), b = box.getBoundingClientRect();
    frame.scrollTop += (b.top - f.top) - frame.clientHeight / 3;
    frame.scrollLeft += (b.left - f.left) - frame.clientWidth / 3;
  }

  function enhance(figure) {
    if (figure.dataset.viewer) { return; }
    figure.dataset.viewer = "1";
    var frame = figure.querySelector(".page-frame");
    var caption = figure.querySelector("figcaption");
    if (!frame || !caption) { return; }
    var group = document.createElement("span");
    group.className = "page-zoom";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Zoom");
    [["−", "Zoom out", function () { zoomTo(figure, zoomOf(figure) / STEP); }],
     ["+", "Zoom in", function () { zoomTo(figure, zoomOf(figure) * STEP); }],
     ["Fit", "Fit the width", function () { zoomTo(figure, 1); }]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = spec[0];
      button.setAttribute("aria-label", spec[1]);
      button.addEventListener("click", spec[2]);
      group.appendChild(button);
    });
    var level = document.createElement("span");
    level.className = "page-zoom-level visually-hidden";
    level.setAttribute("aria-live", "polite");
    group.appendChild(level);
    caption.appendChild(group);

    frame.addEventListener("keydown", function (event) {
      if (event.target !== frame || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var key = event.key, done = true;
      if (key === "+" || key === "=") { zoomTo(figure, zoomOf(figure) * STEP); }
      else if (key === "-" || key === "_" || key === "−") { zoomTo(figure, zoomOf(figure) / STEP); }
      else if (key === "0") { zoomTo(figure, 1); }
      else if (key === "ArrowLeft") { frame.scrollLeft -= PAN; }
      else if (key === "ArrowRight") { frame.scrollLeft += PAN; }
      else if (key === "ArrowUp") { frame.scrollTop -= PAN; }
      else if (key === "ArrowDown") { frame.scrollTop += PAN; }
      else { done = false; }
      if (done) { event.preventDefault(); }
    });
    // Ctrl + wheel (and a trackpad's pinch, which browsers send as one) zooms; the wheel alone
    // scrolls the frame as any scrolling box.
    frame.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }
      event.preventDefault();
      zoomTo(figure, zoomOf(figure) * (event.deltaY < 0 ? STEP : 1 / STEP));
    }, { passive: false });
    // Dragging with the mouse pans (touch scrolls the frame natively).
    var drag = null;
    frame.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0 || zoomOf(figure) <= 1) { return; }
      drag = { x: event.clientX, y: event.clientY, left: frame.scrollLeft, top: frame.scrollTop };
      frame.setPointerCapture(event.pointerId);
      frame.classList.add("is-dragging");
      event.preventDefault();
    });
    frame.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      frame.scrollLeft = drag.left - (event.clientX - drag.x);
      frame.scrollTop = drag.top - (event.clientY - drag.y);
    });
    function stop() { drag = null; frame.classList.remove("is-dragging"); }
    frame.addEventListener("pointerup", stop);
    frame.addEventListener("pointercancel", stop);
    // Two fingers pinch-zoom the image (one pans: the frame scrolls; CSS leaves the browser
    // only panning in the frame, so a pinch there is ours, not the page's).
    var touches = {}, pinch = null;
    function spread() {
      var points = Object.keys(touches).map(function (id) { return touches[id]; });
      return Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) || 1;
    }
    frame.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "touch") { return; }
      touches[event.pointerId] = { x: event.clientX, y: event.clientY };
      if (Object.keys(touches).length === 2) { pinch = { distance: spread(), zoom: zoomOf(figure) }; }
    });
    frame.addEventListener("pointermove", function (event) {
      if (event.pointerType !== "touch" || !touches[event.pointerId]) { return; }
      touches[event.pointerId] = { x: event.clientX, y: event.clientY };
      if (pinch && Object.keys(touches).length === 2) { zoomTo(figure, pinch.zoom * spread() / pinch.distance); }
    });
    function lift(event) {
      delete touches[event.pointerId];
      if (Object.keys(touches).length < 2) { pinch = null; }
    }
    frame.addEventListener("pointerup", lift);
    frame.addEventListener("pointercancel", lift);

    var image = figure.querySelector(".page-image");
    if (image && figure.querySelector(".page-box, .page-region")) {
      if (image.complete) { reveal(figure); } else { image.addEventListener("load", function () { reveal(figure); }); }
    }
  }

  // Show another page in a figure (the reading view's panel): its image, label and link.
  function show(figure, page) {
    var image = figure.querySelector(".page-image");
    if (!image || image.getAttribute("src") === page.display) { return; }
    image.src = page.display;
    image.alt = "The printed page " + page.label;
    if (page.width && page.height) {
      image.width = Number(page.width);
      image.height = Number(page.height);
    } else {
      image.removeAttribute("width");
      image.removeAttribute("height");
    }
    var frame = figure.querySelector(".page-frame");
    frame.setAttribute("aria-label", frame.getAttribute("aria-label").replace(/^[^:]*:/, page.label + ":"));
    figure.querySelector(".page-label").textContent = page.label;
    var full = figure.querySelector(".page-full");
    full.href = page.full;
    var hidden = full.querySelector(".visually-hidden");
    if (hidden) { hidden.textContent = " of " + page.label; }
    zoomTo(figure, 1);
  }

  // -- the reading view's panel ------------------------------------------------------------

  var KEY = "emend.pageImages";

  function stored() {
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }
  function store(on) {
    try { window.localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function panel() {
    var layout = document.getElementById("reading-pages-layout");
    var details = document.getElementById("reading-pages");
    var toggle = document.querySelector(".reading-pages-toggle");
    var figure = document.getElementById("reading-pages-figure");
    if (!layout || !details || !toggle || !figure) { return; }
    var items = Array.prototype.slice.call(details.querySelectorAll(".reading-pages-list li"));
    var pages = items.map(function (li) { return li.dataset; });
    // Markers of this unit's pages in the text, in order, with the page each begins.
    var markers = [];
    items.forEach(function (li, index) {
      var marker = li.dataset.anchor && document.getElementById(li.dataset.anchor);
      if (marker) { markers.push({ element: marker, index: index }); }
    });
    var current = -1;

    function select(index) {
      if (index === current || index < 0 || index >= pages.length) { return; }
      current = index;
      items.forEach(function (li, i) { li.classList.toggle("is-current", i === index); });
      show(figure, pages[index]);
    }

    // The page in view: that of the last marker above a line a third down the window (the
    // first page, where the text begins, before any).
    function follow() {
      if (toggle.getAttribute("aria-pressed") !== "true") { return; } // no image loads unseen
      var line = window.innerHeight / 3, found = 0;
      markers.forEach(function (m) {
        if (m.element.getBoundingClientRect().top <= line) { found = m.index; }
      });
      select(found);
    }

    function apply(on) {
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      layout.classList.toggle("is-on", on);
      details.hidden = !on;
      if (on) { details.open = true; follow(); }
    }

    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var on = toggle.getAttribute("aria-pressed") !== "true";
      store(on);
      apply(on);
    });
    apply(stored());
    if ("IntersectionObserver" in window && markers.length) {
      // A marker entering or leaving the top third of the window (crossing the line, or
      // scrolled past its top) may change the page in view.
      var observer = new IntersectionObserver(follow, { rootMargin: "0px 0px -66% 0px" });
      markers.forEach(function (m) { observer.observe(m.element); });
    }
    // A jump (a link to #pg_278, the contents' "where it begins") lands without crossing.
    window.addEventListener("hashchange", follow);
  }

  function enhanceAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".page-figure"), enhance);
  }

  function run() {
    enhanceAll(document);
    panel();
    // Figures swapped in by htmx (the proposing form, placed again for a new selection).
    document.body.addEventListener("htmx:afterSettle", function (event) { enhanceAll(event.target); });
  }
  window.EmendPages = { enhance: enhance, show: show, zoomTo: zoomTo };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
}());
