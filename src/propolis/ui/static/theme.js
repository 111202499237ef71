// Runs before the page paints, so a dark-theme analyst never sees a white flash.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("propolis-theme"); } catch (e) { /* private mode */ }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-bs-theme", saved || (dark ? "dark" : "light"));
  var hidden = null;
  try { hidden = localStorage.getItem("propolis-stream-hidden"); } catch (e) { /* idem */ }
  if (hidden === "1") document.documentElement.classList.add("stream-hidden");
})();
