// A search result's link opens the reading view with ?hl=word+word: mark those words in the
// document and scroll to the first one (or to the footnote the link names). The page is the
// same with or without `hl` (the page cache ignores it), so the marking happens here.
(function () {
  "use strict";
  var words = (new URLSearchParams(window.location.search).get("hl") || "")
    .split(/\s+/).filter(function (w) { return w.length > 0; }).slice(0, 10);
  if (!words.length) { return; }
  var escaped = words.map(function (w) { return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
  var pattern = new RegExp("(^|[^\\p{L}\\p{N}])(" + escaped.join("|") + ")(?![\\p{L}\\p{N}])", "giu");

  function mark(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentElement;
        if (!parent || parent.closest("script, style, mark, nav, form, header, footer")) {
          return NodeFilter.FILTER_REJECT;
        }
        return NodeFilter.FILTER_ACCEPT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    var first = null;
    nodes.forEach(function (node) {
      var text = node.nodeValue, last = 0, match, pieces = [];
      pattern.lastIndex = 0;
      while ((match = pattern.exec(text)) !== null) {
        var start = match.index + match[1].length;
        pieces.push(document.createTextNode(text.slice(last, start)));
        var m = document.createElement("mark");
        m.className = "search-mark";
        m.textContent = match[2];
        pieces.push(m);
        first = first || m;
        last = start + match[2].length;
      }
      if (!pieces.length) { return; }
      pieces.push(document.createTextNode(text.slice(last)));
      var parent = node.parentNode;
      pieces.forEach(function (p) { parent.insertBefore(p, node); });
      parent.removeChild(node);
    });
    return first;
  }

  function run() {
    var main = document.getElementById("main");
    if (!main) { return; }
    var first = mark(main);
    var target = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
    if (!target && first) {
      first.scrollIntoView({block: "center"});
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
}());
