// MathJax 2 for the course website, read before MathJax.js. Fonts and extensions come from _static/mathjax
// (the jupyter-server-mathjax package's copy, which ships the STIX-Web fonts only): nothing from a CDN.
// The package ships the combined config TeX-AMS-MML_HTMLorMML-full only (no separate HTML-CSS files). Its hidden
// assistive MathML copy uses the NativeMML styles, whose TeX fonts the package does not ship (404s): it is off.
window.MathJax = {
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  TeX: { equationNumbers: { autoNumber: "AMS", useLabelIds: true } },
  "HTML-CSS": { availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
                linebreaks: { automatic: true },
                // MathJax's blank fallback font is url('about:blank'), which Chromium now reports as a console
                // error; a local() name that does not exist falls back the same way, silently.
                styles: { "@font-face": { "font-family": "MathJax_Blank", src: "local('MathJax_Blank')" } } },
  "fast-preview": { disabled: true },
  messageStyle: "none",
  showMathMenu: false,
  menuSettings: { assistiveMML: false },
  AuthorInit: function () {
    // body[data-math="done"] once the first typesetting pass is over (the browser test waits for it).
    MathJax.Hub.Register.StartupHook("End", function () {
      document.body.setAttribute("data-math", "done");
    });
  }
};
